//! Shared helpers for the reference server's router tests: the real router over an in-memory
//! SQLite store, driven through tower's `oneshot` (no socket).

#![allow(dead_code, unreachable_pub)]

pub mod process;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use uma_reference_server::{Config, Quirk, SharedCtx, Variant};

/// The issuer used by router tests.
pub const ISSUER: &str = "https://as.test";
/// The demo resource server client.
pub const RS: (&str, &str) = ("demo-rs", "demo-rs-secret");
/// The demo UMA client (registered scopes: view download).
pub const CLIENT: (&str, &str) = ("demo-client", "demo-client-secret");
/// The demo client's claims redirection URI.
pub const CLAIMS_REDIRECT: &str = "http://127.0.0.1:9/client/claims";
/// The UMA grant type.
pub const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
/// The ID token claim-token format.
pub const ID_TOKEN: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (panics with the body text if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header value as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// The `error` member.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    /// A string member of the JSON body.
    pub fn str(&self, key: &str) -> String {
        self.json()[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{key}` in {}", self.text()))
            .to_owned()
    }
}

/// The reference AS under test.
pub struct TestAs {
    pub router: Router,
    pub ctx: SharedCtx,
}

/// `Basic` credentials.
pub fn basic((id, secret): (&str, &str)) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// Form-encodes pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl TestAs {
    /// The demo configuration.
    pub async fn new() -> Self {
        Self::with(Config::demo()).await
    }

    /// The demo configuration with quirks on.
    pub async fn with_quirks(quirks: &[Quirk]) -> Self {
        let mut c = Config::demo();
        for q in quirks {
            c.quirks.insert(*q);
        }
        Self::with(c).await
    }

    /// The demo configuration committing `quirk`, and a conformant one: `[quirky, good]`.
    pub async fn with_and_without(quirk: Quirk) -> [Self; 2] {
        [Self::with_quirks(&[quirk]).await, Self::new().await]
    }

    /// The demo configuration taking `variants`.
    pub async fn with_variants(variants: &[Variant]) -> Self {
        let mut c = Config::demo();
        for v in variants {
            c.variants.insert(*v);
        }
        Self::with(c).await
    }

    /// The demo configuration taking `variant`, and the plain reference: `[variant, plain]`.
    pub async fn with_and_without_variant(variant: Variant) -> [Self; 2] {
        [Self::with_variants(&[variant]).await, Self::new().await]
    }

    /// Any configuration.
    pub async fn with(config: Config) -> Self {
        let (router, ctx) = match test_database_url().await {
            Some(url) => uma_reference_server::test_app_at(config, ISSUER, &url).await,
            None => uma_reference_server::test_app(config, ISSUER).await,
        }
        .expect("test AS starts");
        Self { router, ctx }
    }

    /// Sends a request.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.expect("router answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("body").to_bytes().to_vec();
        Resp { status, headers, body }
    }

    /// GET with an optional `Authorization` header.
    pub async fn get(&self, path: &str, auth: Option<&str>) -> Resp {
        let mut b = Request::get(path);
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    /// Any method with a JSON body and an optional `Authorization` header.
    pub async fn json(&self, method: &str, path: &str, auth: Option<&str>, body: &Value) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        self.send(b.body(Body::from(body.to_string())).unwrap()).await
    }

    /// POST a form with an optional `Authorization` header.
    pub async fn form(&self, path: &str, auth: Option<&str>, pairs: &[(&str, &str)]) -> Resp {
        let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        self.send(b.body(Body::from(form(pairs))).unwrap()).await
    }

    /// A PAT for the demo RS (owner `photoz-inc`).
    pub async fn pat(&self) -> String {
        let r = self
            .form(
                "/token",
                Some(&basic(RS)),
                &[("grant_type", "client_credentials"), ("scope", "uma_protection")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.str("access_token")
    }

    /// Registers a resource with `scopes` and returns its `_id`.
    pub async fn resource(&self, pat: &str, scopes: &[&str]) -> String {
        let r = self
            .json(
                "POST",
                "/resource_set",
                Some(&format!("Bearer {pat}")),
                &json!({"resource_scopes": scopes, "name": "photo"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.str("_id")
    }

    /// Sets a resource's policy.
    pub async fn policy(&self, pat: &str, rid: &str, policy: Value) {
        let r = self
            .json(
                "PUT",
                &format!("/policy/{rid}"),
                Some(&format!("Bearer {pat}")),
                &policy,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }

    /// Requests permissions (object or array body) and returns the ticket.
    pub async fn ticket(&self, pat: &str, body: Value) -> String {
        let r = self
            .json("POST", "/permission", Some(&format!("Bearer {pat}")), &body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.str("ticket")
    }

    /// A ticket for one resource and scopes.
    pub async fn ticket_for(&self, pat: &str, rid: &str, scopes: &[&str]) -> String {
        self.ticket(pat, json!({"resource_id": rid, "resource_scopes": scopes}))
            .await
    }

    /// An `uma-ticket` token request by the demo client.
    pub async fn uma_token(&self, ticket: &str, extra: &[(&str, &str)]) -> Resp {
        let mut pairs = vec![("grant_type", UMA_GRANT), ("ticket", ticket)];
        pairs.extend_from_slice(extra);
        self.form("/token", Some(&basic(CLIENT)), &pairs).await
    }

    /// An `uma-ticket` token request pushing `id_token` as an OIDC ID-token claim token.
    pub async fn push_id_token(&self, ticket: &str, id_token: &str) -> Resp {
        self.uma_token(ticket, &[("claim_token", id_token), ("claim_token_format", ID_TOKEN)])
            .await
    }

    /// Introspects `token` with `pat`.
    pub async fn introspect(&self, pat: &str, token: &str) -> Value {
        let r = self
            .form("/introspect", Some(&format!("Bearer {pat}")), &[("token", token)])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// An ID token from the built-in demo IdP (trusted by the demo configuration).
    pub async fn id_token(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![("sub", "bob")];
        pairs.extend_from_slice(extra);
        let r = self.form("/demo-idp/id_token", None, &pairs).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.str("id_token")
    }

    /// A resource with `scopes` whose every scope is open, plus a ticket for `ticket_scopes`.
    pub async fn open_resource_ticket(&self, pat: &str, scopes: &[&str], ticket_scopes: &[&str]) -> (String, String) {
        let rid = self.resource(pat, scopes).await;
        self.policy(pat, &rid, json!({"default": {"type": "open"}})).await;
        let t = self.ticket_for(pat, &rid, ticket_scopes).await;
        (rid, t)
    }
}

/// The database router tests run against: `None` (an in-memory SQLite store per test AS) unless
/// `UMA_TEST_DATABASE_URL` is set. A `postgres://` URL gets a fresh schema per test AS, so tests
/// stay as isolated as with SQLite; any other URL is used as it is, shared by all tests.
pub async fn test_database_url() -> Option<String> {
    let url = std::env::var("UMA_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())?;
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Some(fresh_postgres_schema(&url).await)
    } else {
        Some(url)
    }
}

/// Creates an empty schema in the PostgreSQL database at `url` and returns a URL whose
/// connections use it (`search_path`).
pub async fn fresh_postgres_schema(url: &str) -> String {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let schema: String = format!("t_{}", uma_reference_server::crypto::random_id())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .expect("connect to the test database");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .expect("create a test schema");
    let _ = conn.close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options[search_path]={schema}")
}
