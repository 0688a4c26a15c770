//! The reference UMA client end to end: the reference AS (recorded), a small resource server
//! written here, the client, and a reqwest "browser" with a cookie jar that follows no redirects.
//! First the conformant flow, then one with/without comparison per client quirk.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uma_reference_server::client::{ClientConfig, ReferenceClient};
use uma_reference_server::config::StaticClient;
use uma_reference_server::crypto::pkce_s256;
use uma_reference_server::types::ClientSecret;
use uma_reference_server::{Config, Quirk};
use url::Url;

const CLIENT_ID: &str = "uma-client";
const CLIENT_SECRET: &str = "uma-client-secret";
const EMAIL: &str = "bob@example.com";

/// One request as a server saw it.
#[derive(Clone, Debug)]
struct Hit {
    path: String,
    query: String,
    body: String,
    auth: Option<String>,
    pct: Option<String>,
    content_type: Option<String>,
    at: Instant,
}

impl Hit {
    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes()).into_owned().collect()
    }
}

type Log = Arc<Mutex<Vec<Hit>>>;

/// Serves `router` on a free loopback port, recording every request; returns the base URL.
async fn serve(router: Router, log: Log) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, recorded(router, log)).await.unwrap() });
    base
}

fn recorded(router: Router, log: Log) -> Router {
    router.layer(axum::middleware::from_fn(move |req: Request, next: Next| {
        let log = log.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            let h = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
            log.lock().unwrap().push(Hit {
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
                auth: h("authorization"),
                pct: h("x-uma-pct"),
                content_type: h("content-type"),
                at: Instant::now(),
            });
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
    }))
}

// ---- the test resource server ----

#[derive(Clone)]
struct Rs {
    issuer: String,
    pat: String,
    http: reqwest::Client,
    resources: Arc<Mutex<HashMap<String, String>>>,
}

async fn rs_get(State(rs): State<Rs>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    if name == "down" {
        let warning = [("warning", "199 - \"UMA Authorization Server Unreachable\"")];
        return (StatusCode::FORBIDDEN, warning).into_response();
    }
    let Some(rid) = rs.resources.lock().unwrap().get(&name).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        let intro: Value = rs
            .http
            .post(format!("{}/introspect", rs.issuer))
            .bearer_auth(&rs.pat)
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ok = intro["permissions"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["resource_id"] == json!(rid)));
        if intro["active"] == json!(true) && ok {
            return axum::Json(json!({"name": name})).into_response();
        }
    }
    let t: Value = rs
        .http
        .post(format!("{}/permission", rs.issuer))
        .bearer_auth(&rs.pat)
        .json(&json!({"resource_id": rid, "resource_scopes": ["view"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let challenge = format!(
        "UMA realm=\"t\", as_uri=\"{}\", ticket=\"{}\"",
        rs.issuer,
        t["ticket"].as_str().unwrap()
    );
    (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response()
}

// ---- the world ----

struct World {
    issuer: String,
    rs_base: String,
    as_log: Log,
    rs_log: Log,
    rs: Rs,
    client: ReferenceClient,
    browser: reqwest::Client,
}

/// What a browser got from the client.
struct Answer {
    status: StatusCode,
    json: Value,
    location: Option<Url>,
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| Url::parse(l.to_str().unwrap()).unwrap());
    let json = r.json().await.unwrap_or(Value::Null);
    Answer { status, json, location }
}

impl Answer {
    fn outcome(&self) -> &str {
        self.json["outcome"].as_str().unwrap_or_default()
    }
    fn param(&self, name: &str) -> Option<String> {
        param(self.location.as_ref().expect("a redirect"), name)
    }
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `url` with `name` set to `value` (or removed).
fn with_param(url: &Url, name: &str, value: Option<&str>) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .chain(value.map(|v| (name.to_owned(), v.to_owned())))
        .collect();
    let mut u = url.clone();
    u.query_pairs_mut().clear().extend_pairs(&pairs);
    u
}

impl World {
    async fn new(quirks: &[Quirk]) -> Self {
        Self::with(quirks, |_| {}, |_| {}).await
    }

    async fn with(quirks: &[Quirk], client: impl FnOnce(&mut ClientConfig), as_: impl FnOnce(&mut Config)) -> Self {
        let mut cc = ClientConfig::new(CLIENT_ID, ClientSecret::new(CLIENT_SECRET));
        cc.quirks = quirks.iter().copied().collect();
        client(&mut cc);
        let client = ReferenceClient::start(cc, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();

        let mut config = Config::demo();
        config.poll_interval = 1;
        config.clients.push(StaticClient {
            client_id: CLIENT_ID.into(),
            client_secret: Some(ClientSecret::new(CLIENT_SECRET)),
            redirect_uris: Vec::new(),
            claims_redirect_uris: vec![client.claims_redirect_uri()],
            scope: "view download".into(),
            owner: None,
            client_name: Some("Reference client".into()),
        });
        as_(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let (router, _ctx) = uma_reference_server::test_app(config, &issuer).await.unwrap();
        let as_log = Log::default();
        let app = recorded(router, as_log.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let pat: Value = http
            .post(format!("{issuer}/token"))
            .basic_auth("demo-rs", Some("demo-rs-secret"))
            .form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rs = Rs {
            issuer: issuer.clone(),
            pat: pat["access_token"].as_str().unwrap().to_owned(),
            http,
            resources: Default::default(),
        };
        let rs_log = Log::default();
        let rs_router = Router::new()
            .route("/r/{name}", axum::routing::get(rs_get))
            .with_state(rs.clone());
        let rs_base = serve(rs_router, rs_log.clone()).await;
        Self {
            issuer,
            rs_base,
            as_log,
            rs_log,
            rs,
            client,
            browser: browser(),
        }
    }

    /// Registers resource `name` (scope `view`) with `policy`; returns its URL at the RS.
    async fn resource(&self, name: &str, policy: Value) -> String {
        let pat = &self.rs.pat;
        let r: Value = self
            .rs
            .http
            .post(format!("{}/resource_set", self.issuer))
            .bearer_auth(pat)
            .json(&json!({"resource_scopes": ["view"], "name": name}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rid = r["_id"].as_str().unwrap().to_owned();
        let put = self
            .rs
            .http
            .put(format!("{}/policy/{rid}", self.issuer))
            .bearer_auth(pat)
            .json(&policy)
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "{}", put.text().await.unwrap());
        self.rs.resources.lock().unwrap().insert(name.to_owned(), rid);
        format!("{}/r/{name}", self.rs_base)
    }

    async fn open(&self, name: &str) -> String {
        self.resource(name, json!({"default": {"type": "open"}})).await
    }

    async fn email(&self, name: &str) -> String {
        self.resource(
            name,
            json!({"scopes": {"view": {"type": "claims", "claims": {"email": EMAIL}}}}),
        )
        .await
    }

    /// `/start` from `browser` (the world's own when `None`).
    async fn start_as(&self, browser: &reqwest::Client, resource: &str, user: &str, id_token: Option<&str>) -> Answer {
        let mut q = vec![("resource", resource), ("user", user)];
        q.extend(id_token.map(|t| ("id_token", t)));
        answer(
            browser
                .get(format!("{}/start", self.client.base_url()))
                .query(&q)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn start(&self, resource: &str, user: &str, id_token: Option<&str>) -> Answer {
        self.start_as(&self.browser, resource, user, id_token).await
    }

    async fn get(&self, browser: &reqwest::Client, url: &Url) -> Answer {
        answer(browser.get(url.as_str()).send().await.unwrap()).await
    }

    /// An ID token for bob with his email, from the AS's demo IdP.
    async fn id_token(&self) -> String {
        let v: Value = self
            .rs
            .http
            .post(format!("{}/demo-idp/id_token", self.issuer))
            .form(&[("sub", "bob"), ("email", EMAIL)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["id_token"].as_str().unwrap().to_owned()
    }

    /// The browser at the AS's claims form: opens `to`, submits the email, and returns where the
    /// AS sends it back (not followed).
    async fn gather(&self, to: &Url) -> Url {
        let page = self.browser.get(to.as_str()).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "claims form for {to}");
        let html = page.text().await.unwrap();
        let hidden = |name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = html.find(&marker).unwrap() + marker.len();
            html[start..start + html[start..].find('"').unwrap()].to_owned()
        };
        let r = self
            .browser
            .post(format!("{}/claims", self.issuer))
            .form(&[
                ("interaction", hidden("interaction").as_str()),
                ("csrf_token", hidden("csrf_token").as_str()),
                ("email", EMAIL),
                ("action", "submit"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
    }

    /// `/start` for an email resource without an ID token, up to the redirect back.
    async fn to_callback(&self) -> (Answer, Url) {
        let res = self.email("photo").await;
        let a = self.start(&res, "bob", None).await;
        assert_eq!(a.status, StatusCode::FOUND, "{}", a.json);
        let back = self.gather(a.location.as_ref().unwrap()).await;
        (a, back)
    }

    fn hits(log: &Log, path: &str) -> Vec<Hit> {
        log.lock().unwrap().iter().filter(|h| h.path == path).cloned().collect()
    }

    fn tokens(&self) -> Vec<HashMap<String, String>> {
        Self::hits(&self.as_log, "/token")
            .iter()
            .map(Hit::form)
            .filter(|f| f.get("grant_type").map(String::as_str) != Some("client_credentials"))
            .collect()
    }

    fn rs_hits(&self) -> Vec<Hit> {
        self.rs_log.lock().unwrap().clone()
    }
}

fn assert_granted(a: &Answer) {
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(a.outcome(), "granted", "{}", a.json);
}

fn assert_error(a: &Answer, status: StatusCode) {
    assert_eq!(a.status, status, "{}", a.json);
    assert_eq!(a.outcome(), "error", "{}", a.json);
}

// ---- the conformant client ----

#[tokio::test]
async fn an_open_resource_is_fetched_first_without_a_token_then_with_the_rpt_once_held() {
    // Arrange
    let w = World::new(&[]).await;
    let res = w.open("open").await;

    // Act
    let first = w.start(&res, "bob", None).await;
    let second = w.start(&res, "bob", None).await;

    // Assert
    assert_granted(&first);
    assert_eq!(first.json["body"], json!({"name": "open"}));
    assert_eq!(first.json["status"], json!(200));
    let rs = w.rs_hits();
    assert_eq!(rs.len(), 3);
    assert_eq!(rs[0].auth, None, "G-C-01: the first request carries no token");
    let bearer = rs[1].auth.clone().expect("the RPT is presented");
    assert!(bearer.starts_with("Bearer "));
    assert_eq!(rs[1].query, "", "G-C-42: one method only");
    assert_granted(&second);
    assert_eq!(rs[2].auth.as_ref(), Some(&bearer), "the held RPT is presented at once");
    let tokens = w.tokens();
    assert_eq!(tokens.len(), 1);
    let t = &tokens[0];
    assert_eq!(t["grant_type"], "urn:ietf:params:oauth:grant-type:uma-ticket");
    for absent in [
        "scope",
        "claim_token",
        "claim_token_format",
        "pct",
        "rpt",
        "code_verifier",
    ] {
        assert!(!t.contains_key(absent), "{absent} in {t:?}");
    }
    let discovery = World::hits(&w.as_log, "/.well-known/uma2-configuration");
    assert!(!discovery.is_empty(), "G-C-04");
    assert!(!first.json.to_string().contains(&bearer[7..]), "G-C-40");
}

#[tokio::test]
async fn a_pushed_id_token_satisfies_a_claims_policy_and_a_pct_comes_back() {
    // Arrange
    let w = World::new(&[]).await;
    let res = w.email("photo").await;
    let id_token = w.id_token().await;

    // Act
    let a = w.start(&res, "bob", Some(&id_token)).await;

    // Assert
    assert_granted(&a);
    let tokens = w.tokens();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert!(!tokens[0].contains_key("claim_token"));
    assert_eq!(tokens[1]["claim_token"], id_token);
    assert_eq!(
        tokens[1]["claim_token_format"],
        "http://openid.net/specs/openid-connect-core-1_0.html#IDToken"
    );
    assert_ne!(tokens[1]["ticket"], tokens[0]["ticket"], "G-C-11: the newest ticket");
}

#[tokio::test]
async fn interactive_claims_gathering_redirects_with_every_parameter_and_completes_on_the_callback() {
    // Arrange
    let w = World::new(&[]).await;

    // Act
    let (a, back) = w.to_callback().await;
    let done = w.get(&w.browser, &back).await;

    // Assert
    let to = a.location.as_ref().unwrap();
    assert_eq!(to.path(), "/claims");
    let names: Vec<String> = to.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(
        names,
        [
            "client_id",
            "ticket",
            "claims_redirect_uri",
            "state",
            "code_challenge",
            "code_challenge_method"
        ]
    );
    assert_eq!(a.param("client_id").unwrap(), CLIENT_ID);
    assert_eq!(a.param("claims_redirect_uri").unwrap(), w.client.claims_redirect_uri());
    assert!(a.param("state").unwrap().len() >= 22, "128 bits or more");
    assert_eq!(a.param("code_challenge_method").unwrap(), "S256");
    let tokens = w.tokens();
    assert_eq!(tokens.len(), 2, "need_info, then the ticket of the redirect back");
    assert_ne!(
        a.param("ticket").unwrap(),
        tokens[0]["ticket"],
        "the ticket of need_info, not the RS's"
    );
    assert_granted(&done);
    let last = &tokens[1];
    assert_eq!(last["ticket"], param(&back, "ticket").unwrap());
    assert_eq!(pkce_s256(&last["code_verifier"]), a.param("code_challenge").unwrap());
    assert_eq!(last["code_verifier"].len(), 43);
}

#[tokio::test]
async fn bad_callbacks_are_errors_that_make_no_token_request() {
    // Arrange
    let w = World::new(&[]).await;
    let (_, back) = w.to_callback().await;
    let before = w.tokens().len();
    let stranger = browser();
    let bad = [
        with_param(&back, "state", Some("not-the-state")),
        with_param(&back, "state", None),
    ];

    // Act
    let mut answers = Vec::new();
    for u in &bad {
        answers.push(w.get(&w.browser, u).await);
    }
    let foreign = w.get(&stranger, &back).await;
    let good = w.get(&w.browser, &back).await;
    let after_good = w.tokens().len();
    let replay = w.get(&w.browser, &back).await;

    // Assert
    for a in answers.iter().chain([&foreign]) {
        assert_error(a, StatusCode::BAD_REQUEST);
    }
    assert_granted(&good);
    assert_eq!(after_good, before + 1, "only the good callback made a token request");
    assert_error(&replay, StatusCode::BAD_REQUEST);
    assert_eq!(
        w.tokens().len(),
        after_good,
        "R9700-03: a replay makes no token request"
    );
}

#[tokio::test]
async fn a_wrong_or_missing_iss_aborts_the_flow_without_a_token_request() {
    for iss in [Some("http://127.0.0.1:1"), None] {
        // Arrange
        let w = World::new(&[]).await;
        let (_, back) = w.to_callback().await;
        let before = w.tokens().len();

        // Act
        let bad = w.get(&w.browser, &with_param(&back, "iss", iss)).await;
        let then_good = w.get(&w.browser, &back).await;

        // Assert
        assert_error(&bad, StatusCode::BAD_REQUEST);
        assert_error(&then_good, StatusCode::BAD_REQUEST);
        assert_eq!(w.tokens().len(), before, "{iss:?}");
    }
}

#[tokio::test]
async fn an_unknown_callback_parameter_is_ignored() {
    // Arrange
    let w = World::new(&[]).await;
    let (_, back) = w.to_callback().await;

    // Act
    let a = w
        .get(
            &w.browser,
            &with_param(&back, "authorization_state", Some("claims_submitted")),
        )
        .await;

    // Assert
    assert_granted(&a);
}

#[tokio::test]
async fn an_error_redirect_ends_the_flow_as_denied() {
    // Arrange
    let w = World::new(&[]).await;
    let (_, back) = w.to_callback().await;
    let err = with_param(&with_param(&back, "ticket", None), "error", Some("access_denied"));

    // Act
    let a = w.get(&w.browser, &err).await;

    // Assert
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.outcome(), "denied");
    assert!(a.json["reason"].as_str().unwrap().contains("access_denied"));
}

/// Approval flow: returns the answer and the token request times.
async fn approval_run(quirks: &[Quirk], approve: bool) -> (Answer, Vec<Instant>) {
    let w = World::with(quirks, |c| c.max_polls = 2, |_| {}).await;
    let res = w
        .resource("approval", json!({"default": {"type": "owner-approval"}}))
        .await;
    let approver = async {
        if !approve {
            return;
        }
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let list: Value =
                w.rs.http
                    .get(format!("{}/approvals", w.issuer))
                    .bearer_auth(&w.rs.pat)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
            if let Some(id) = list[0]["id"].as_str() {
                w.rs.http
                    .post(format!("{}/approvals/{id}", w.issuer))
                    .bearer_auth(&w.rs.pat)
                    .json(&json!({"decision": "approve"}))
                    .send()
                    .await
                    .unwrap();
                return;
            }
        }
    };
    let (a, ()) = tokio::join!(w.start(&res, "bob", None), approver);
    let times = World::hits(&w.as_log, "/token")
        .iter()
        .filter(|h| h.body.contains("uma-ticket"))
        .map(|h| h.at)
        .collect();
    (a, times)
}

#[tokio::test]
async fn request_submitted_is_polled_at_the_interval_at_most_max_polls_times() {
    // Act
    let (pending, times) = approval_run(&[], false).await;
    let (granted, _) = approval_run(&[], true).await;

    // Assert
    assert_eq!(pending.status, StatusCode::CONFLICT, "{}", pending.json);
    assert_eq!(pending.outcome(), "pending");
    assert_eq!(times.len(), 3, "one request and two polls");
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_secs(1), "G-C-23");
    }
    assert_granted(&granted);
}

#[tokio::test]
async fn an_upgraded_rpt_replaces_the_old_one_for_every_resource() {
    // Arrange
    let w = World::new(&[]).await;
    let a = w.open("a").await;
    let b = w.open("b").await;

    // Act
    assert_granted(&w.start(&a, "bob", None).await);
    assert_granted(&w.start(&b, "bob", None).await);
    assert_granted(&w.start(&a, "bob", None).await);

    // Assert
    let rs = w.rs_hits();
    let rpt1 = rs[1].auth.clone().unwrap();
    assert_eq!(rs[2].auth, None, "no RPT covers b yet");
    let tokens = w.tokens();
    assert_eq!(
        format!("Bearer {}", tokens[1]["rpt"]),
        rpt1,
        "G-C-15: the RPT goes along"
    );
    let rpt2 = rs[3].auth.clone().unwrap();
    assert_ne!(rpt2, rpt1);
    assert_eq!(rs[4].auth, Some(rpt2), "G-C-21: the old RPT is not sent again");
}

#[tokio::test]
async fn a_resource_server_without_a_uma_challenge_stops_the_flow() {
    // Arrange
    let w = World::new(&[]).await;

    // Act
    let a = w.start(&format!("{}/r/down", w.rs_base), "bob", None).await;
    let missing = w.start(&format!("{}/r/nothing", w.rs_base), "bob", None).await;

    // Assert
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.outcome(), "unreachable");
    assert_error(&missing, StatusCode::BAD_GATEWAY);
    assert!(w.tokens().is_empty(), "G-C-03");
}

#[tokio::test]
async fn an_untrusted_or_mismatched_issuer_is_refused() {
    // Arrange
    let untrusted = World::with(
        &[],
        |c| c.trusted_issuers = Some(vec!["http://127.0.0.1:1".into()]),
        |_| {},
    )
    .await;
    let mismatch = World::with(&[], |_| {}, |c| c.quirks.insert(Quirk::DiscoveryIssuerMismatch)).await;

    // Act
    let a = untrusted.start(&untrusted.open("x").await, "bob", None).await;
    let b = mismatch.start(&mismatch.open("x").await, "bob", None).await;

    // Assert
    assert_error(&a, StatusCode::BAD_GATEWAY);
    assert!(World::hits(&untrusted.as_log, "/.well-known/uma2-configuration").is_empty());
    assert_error(&b, StatusCode::BAD_GATEWAY);
    assert!(untrusted.tokens().is_empty() && mismatch.tokens().is_empty());
}

#[tokio::test]
async fn a_ticket_that_is_not_rotated_stops_the_flow() {
    // Arrange
    let w = World::with(&[], |_| {}, |c| c.quirks.insert(Quirk::NoTicketRotation)).await;
    let res = w.email("photo").await;
    let id_token = w.id_token().await;

    // Act
    let a = w.start(&res, "bob", Some(&id_token)).await;

    // Assert
    assert_error(&a, StatusCode::BAD_GATEWAY);
    assert!(a.json["reason"].as_str().unwrap().contains("ticket not rotated"));
    assert_eq!(w.tokens().len(), 1);
}

#[tokio::test]
async fn pcts_are_kept_per_requesting_party() {
    // Arrange
    let w = World::new(&[]).await;
    let res = w.email("photo").await;
    let id_token = w.id_token().await;

    // Act
    assert_granted(&w.start(&res, "bob", Some(&id_token)).await);
    let alice = w.start(&res, "alice", None).await;

    // Assert
    assert_eq!(alice.status, StatusCode::FOUND, "alice must gather her own claims");
    assert!(!w.tokens().last().unwrap().contains_key("pct"));
}

#[tokio::test]
async fn the_cli_prints_the_base_url_first() {
    // Act
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_uma-reference-server"))
        .args([
            "client",
            "--client-id",
            "c",
            "--client-secret-env",
            "UMA_TEST_CLIENT_SECRET",
        ])
        .env("UMA_TEST_CLIENT_SECRET", "s")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncBufReadExt::read_line(&mut out, &mut line),
    )
    .await
    .unwrap()
    .unwrap();
    let _ = child.kill().await;

    // Assert
    assert!(line.trim().starts_with("http://127.0.0.1:"), "{line}");
}

// ---- quirks: each changes what the conformant client does ----

/// The redirect to the claims endpoint for `[quirky, good]` clients.
async fn redirects(q: Quirk) -> [Answer; 2] {
    let mut out = Vec::new();
    for quirks in [vec![q], vec![]] {
        let w = World::new(&quirks).await;
        let res = w.email("photo").await;
        out.push(w.start(&res, "bob", None).await);
    }
    let [a, b]: [Answer; 2] = out.try_into().ok().unwrap();
    [a, b]
}

#[tokio::test]
async fn quirks_change_the_state() {
    let [bad, good] = redirects(Quirk::ClientPredictableState).await;
    assert_eq!(bad.param("state").as_deref(), Some("1"));
    assert_ne!(good.param("state").as_deref(), Some("1"));

    let [bad, good] = redirects(Quirk::ClientNoState).await;
    assert_eq!(bad.param("state"), None);
    assert!(good.param("state").is_some());

    let [bad, good] = redirects(Quirk::ClientStateCarriesData).await;
    for a in [&bad, &good] {
        let state = a.param("state").unwrap();
        let first = state.split('.').next().unwrap();
        let decoded =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, first).unwrap_or_default();
        let carries = String::from_utf8_lossy(&decoded).contains("bob");
        assert_eq!(carries, std::ptr::eq(a, &bad));
    }
}

#[tokio::test]
async fn quirks_change_pkce() {
    let [bad, good] = redirects(Quirk::ClientNoPkce).await;
    assert_eq!(bad.param("code_challenge"), None);
    assert!(good.param("code_challenge").is_some());

    let [bad, good] = redirects(Quirk::ClientPlainPkce).await;
    assert_eq!(bad.param("code_challenge_method").as_deref(), Some("plain"));
    assert_eq!(good.param("code_challenge_method").as_deref(), Some("S256"));

    // Two flows of one process: a fixed verifier gives one challenge.
    for (q, same) in [(vec![Quirk::ClientFixedVerifier], true), (vec![], false)] {
        let w = World::new(&q).await;
        let a = w.start(&w.email("a").await, "bob", None).await;
        let b = w.start(&w.email("b").await, "bob", None).await;
        assert_eq!(a.param("code_challenge") == b.param("code_challenge"), same, "{q:?}");
    }
}

/// The token request made by the callback, for `[quirky, good]` clients.
async fn callback_tokens(q: Quirk) -> [HashMap<String, String>; 2] {
    let mut out = Vec::new();
    for quirks in [vec![q], vec![]] {
        let w = World::new(&quirks).await;
        let (_, back) = w.to_callback().await;
        w.get(&w.browser, &back).await;
        out.push(w.tokens().last().cloned().unwrap());
    }
    out.try_into().unwrap()
}

#[tokio::test]
async fn quirks_change_the_code_verifier() {
    let [bad, good] = callback_tokens(Quirk::ClientShortVerifier).await;
    assert_eq!(bad["code_verifier"].len(), 32);
    assert_eq!(good["code_verifier"].len(), 43);

    let [bad, good] = callback_tokens(Quirk::ClientNoCodeVerifier).await;
    assert!(!bad.contains_key("code_verifier"));
    assert!(good.contains_key("code_verifier"));
}

/// The answer to `tamper(callback)` and whether it made a token request, `[quirky, good]`.
async fn tampered(q: Quirk, tamper: impl Fn(&Url) -> Url, foreign: bool) -> [(Answer, bool); 2] {
    let mut out = Vec::new();
    for quirks in [vec![q], vec![]] {
        let w = World::new(&quirks).await;
        let (_, back) = w.to_callback().await;
        let before = w.tokens().len();
        let browser = if foreign { browser() } else { w.browser.clone() };
        let a = w.get(&browser, &tamper(&back)).await;
        out.push((a, w.tokens().len() > before));
    }
    let [a, b]: [(Answer, bool); 2] = out.try_into().ok().unwrap();
    [a, b]
}

/// Changes a callback URL.
type Tamper<'a> = &'a dyn Fn(&Url) -> Url;

#[tokio::test]
async fn quirks_accept_bad_callbacks() {
    let wrong_state = |u: &Url| with_param(u, "state", Some("forged"));
    let no_state = |u: &Url| with_param(u, "state", None);
    let wrong_iss = |u: &Url| with_param(u, "iss", Some("http://127.0.0.1:1"));
    let no_iss = |u: &Url| with_param(u, "iss", None);
    let cases: [(Quirk, Tamper<'_>, bool); 6] = [
        (Quirk::ClientStateUnchecked, &wrong_state, false),
        (Quirk::ClientMissingStateAccepted, &no_state, false),
        (Quirk::ClientNoState, &no_state, false),
        (Quirk::ClientCsrfUnbound, &|u: &Url| u.clone(), true),
        (Quirk::ClientIssUnchecked, &wrong_iss, false),
        (Quirk::ClientMissingIssAccepted, &no_iss, false),
    ];
    for (q, tamper, foreign) in cases {
        let [(bad, bad_token), (good, good_token)] = tampered(q, tamper, foreign).await;
        assert!(bad_token, "{q}: a token request under the quirk");
        assert_eq!(bad.outcome(), "granted", "{q}: {}", bad.json);
        assert!(!good_token, "{q}: no token request without the quirk");
        assert_error(&good, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn quirk_state_replayable_makes_a_second_token_request() {
    for (quirks, replayed) in [(vec![Quirk::ClientStateReplayable], true), (vec![], false)] {
        let w = World::new(&quirks).await;
        let (_, back) = w.to_callback().await;
        assert_granted(&w.get(&w.browser, &back).await);
        let n = w.tokens().len();
        w.get(&w.browser, &back).await;
        assert_eq!(w.tokens().len() > n, replayed, "{quirks:?}");
    }
}

#[tokio::test]
async fn quirk_rejects_unknown_redirect_params() {
    let extra = |u: &Url| with_param(u, "authorization_state", Some("claims_submitted"));
    let [(bad, bad_token), (good, _)] = tampered(Quirk::ClientRejectsUnknownRedirectParams, extra, false).await;
    assert_error(&bad, StatusCode::BAD_REQUEST);
    assert!(!bad_token);
    assert_granted(&good);
}

/// The token requests of a pushed-ID-token flow, `[quirky, good]`.
async fn push_tokens(q: Quirk) -> [(Answer, Vec<HashMap<String, String>>); 2] {
    let mut out = Vec::new();
    for quirks in [vec![q], vec![]] {
        let w = World::new(&quirks).await;
        let res = w.email("photo").await;
        let a = w.start(&res, "bob", Some(&w.id_token().await)).await;
        out.push((a, w.tokens()));
    }
    let [a, b]: [(Answer, Vec<HashMap<String, String>>); 2] = out.try_into().ok().unwrap();
    [a, b]
}

#[tokio::test]
async fn quirks_change_the_token_request() {
    let [(_, bad), (_, good)] = push_tokens(Quirk::ClientManglesTicket).await;
    assert!(bad[0]["ticket"].starts_with('"'));
    assert!(!good[0]["ticket"].starts_with('"'));

    let [(_, bad), (_, good)] = push_tokens(Quirk::ClientStaleTicket).await;
    assert_eq!(bad[1]["ticket"], bad[0]["ticket"]);
    assert_ne!(good[1]["ticket"], good[0]["ticket"]);

    let [(_, bad), (_, good)] = push_tokens(Quirk::ClientWrongGrantType).await;
    assert_eq!(bad[0]["grant_type"], "uma-ticket");
    assert_eq!(good[0]["grant_type"], "urn:ietf:params:oauth:grant-type:uma-ticket");

    let [(_, bad), (_, good)] = push_tokens(Quirk::ClientClaimTokenWithoutFormat).await;
    assert!(bad[1].contains_key("claim_token") && !bad[1].contains_key("claim_token_format"));
    assert!(good[1].contains_key("claim_token_format"));

    let [(_, bad), (_, good)] = push_tokens(Quirk::ClientFormatWithoutToken).await;
    assert!(bad[0].contains_key("claim_token_format") && !bad[0].contains_key("claim_token"));
    assert!(!good[0].contains_key("claim_token_format"));

    let [(_, bad), (_, good)] = push_tokens(Quirk::ClientUnregisteredScope).await;
    assert_eq!(bad[0].get("scope").map(String::as_str), Some("view,admin"));
    assert!(!good[0].contains_key("scope"));
}

#[tokio::test]
async fn quirk_accepts_same_ticket_goes_on_with_a_repeated_ticket() {
    for (quirks, goes_on) in [(vec![Quirk::ClientAcceptsSameTicket], true), (vec![], false)] {
        let w = World::with(&quirks, |_| {}, |c| c.quirks.insert(Quirk::NoTicketRotation)).await;
        let res = w.email("photo").await;
        w.start(&res, "bob", Some(&w.id_token().await)).await;
        assert_eq!(w.tokens().len() > 1, goes_on, "{quirks:?}");
    }
}

#[tokio::test]
async fn quirks_change_what_the_resource_server_sees() {
    for (q, check) in [
        (
            Quirk::ClientFirstRequestWithToken,
            (|h: &[Hit]| h[0].auth.as_deref() == Some("Bearer anonymous")) as fn(&[Hit]) -> bool,
        ),
        (Quirk::ClientTokenTwice, |h: &[Hit]| {
            h[1].query.contains("access_token=")
        }),
    ] {
        for (quirks, expected) in [(vec![q], true), (vec![], false)] {
            let w = World::new(&quirks).await;
            w.start(&w.open("x").await, "bob", None).await;
            assert_eq!(check(&w.rs_hits()), expected, "{q} {quirks:?}");
        }
    }
}

#[tokio::test]
async fn quirk_shows_rpt_puts_the_rpt_in_the_answer() {
    for (quirks, shown) in [(vec![Quirk::ClientShowsRpt], true), (vec![], false)] {
        let w = World::new(&quirks).await;
        let a = w.start(&w.open("x").await, "bob", None).await;
        assert_eq!(a.json.get("rpt").is_some(), shown);
    }
}

#[tokio::test]
async fn quirks_about_pcts() {
    for (q, alice_granted, pct_at_rs) in [
        (vec![Quirk::ClientPctShared], true, false),
        (vec![Quirk::ClientPctToRs], false, true),
        (vec![], false, false),
    ] {
        let w = World::new(&q).await;
        let res = w.email("photo").await;
        assert_granted(&w.start(&res, "bob", Some(&w.id_token().await)).await);
        let alice = w.start(&res, "alice", None).await;
        w.start(&res, "bob", None).await;
        assert_eq!(alice.outcome() == "granted", alice_granted, "{q:?}");
        assert_eq!(w.rs_hits().iter().any(|h| h.pct.is_some()), pct_at_rs, "{q:?}");
    }
}

#[tokio::test]
async fn quirks_about_discovery_and_issuers() {
    for (quirks, discovered) in [(vec![Quirk::ClientSkipsDiscovery], false), (vec![], true)] {
        let w = World::new(&quirks).await;
        assert_granted(&w.start(&w.open("x").await, "bob", None).await);
        let hits = World::hits(&w.as_log, "/.well-known/uma2-configuration");
        assert_eq!(!hits.is_empty(), discovered);
    }
    for (quirks, ok) in [(vec![Quirk::ClientIssuerMismatchAccepted], true), (vec![], false)] {
        let w = World::with(&quirks, |_| {}, |c| c.quirks.insert(Quirk::DiscoveryIssuerMismatch)).await;
        let a = w.start(&w.open("x").await, "bob", None).await;
        assert_eq!(a.outcome() == "granted", ok, "{quirks:?}");
    }
}

#[tokio::test]
async fn quirk_form_mislabelled_labels_the_token_request_as_plain_text() {
    // An AS that reads any body as a form (the harness's counterpart): the flow completes either
    // way, and only the label differs.
    let labels = |w: &World| -> Vec<Option<String>> {
        World::hits(&w.as_log, "/token")
            .into_iter()
            .filter(|h| h.form().get("grant_type").map(String::as_str) != Some("client_credentials"))
            .map(|h| h.content_type)
            .collect()
    };
    for (quirks, label) in [
        (vec![Quirk::ClientFormMislabelled], "text/plain"),
        (vec![], "application/x-www-form-urlencoded"),
    ] {
        let w = World::with(&quirks, |_| {}, |c| c.lenient_form_labels = true).await;
        assert_granted(&w.start(&w.open("x").await, "bob", None).await);
        let seen = labels(&w);
        assert!(!seen.is_empty(), "{quirks:?}");
        assert!(seen.iter().all(|l| l.as_deref() == Some(label)), "{quirks:?}: {seen:?}");
    }
    // An AS that checks the label refuses the mislabelled request.
    let strict = World::new(&[Quirk::ClientFormMislabelled]).await;
    let refused = strict.start(&strict.open("x").await, "bob", None).await;
    assert_ne!(refused.outcome(), "granted");
}

#[tokio::test]
async fn quirk_continues_without_as_sends_a_ticketless_token_request() {
    for (quirks, sent) in [(vec![Quirk::ClientContinuesWithoutAs], true), (vec![], false)] {
        let w = World::new(&quirks).await;
        assert_granted(&w.start(&w.open("x").await, "bob", None).await);
        w.start(&format!("{}/r/down", w.rs_base), "bob", None).await;
        let ticketless = w.tokens().iter().any(|t| !t.contains_key("ticket"));
        assert_eq!(ticketless, sent, "{quirks:?}");
    }
}

#[tokio::test]
async fn quirk_unregistered_claims_redirect_sends_another_uri() {
    let [bad, good] = redirects(Quirk::ClientUnregisteredClaimsRedirect).await;
    assert!(
        bad.param("claims_redirect_uri")
            .unwrap()
            .ends_with("/callback-unregistered")
    );
    assert!(good.param("claims_redirect_uri").unwrap().ends_with("/callback"));
}

#[tokio::test]
async fn quirk_polls_fast_ignores_the_interval() {
    let (_, times) = approval_run(&[Quirk::ClientPollsFast], false).await;
    assert!(times.windows(2).all(|p| p[1] - p[0] < Duration::from_millis(900)));
}

#[tokio::test]
async fn quirks_about_rpt_upgrades() {
    // a, then b (upgrade), then a again: which RPT goes to the RS for a the second time?
    for (quirks, old_again) in [(vec![Quirk::ClientKeepsOldRpt], true), (vec![], false)] {
        let w = World::new(&quirks).await;
        let (a, b) = (w.open("a").await, w.open("b").await);
        w.start(&a, "bob", None).await;
        w.start(&b, "bob", None).await;
        w.start(&a, "bob", None).await;
        let rs = w.rs_hits();
        assert_eq!(rs[4].auth == rs[1].auth, old_again, "{quirks:?}");
    }
}

#[tokio::test]
async fn quirk_assumes_upgraded_replaces_the_old_rpt_when_upgraded_is_absent() {
    // The AS upgrades (and revokes the old RPT) but leaves `upgraded` out: a conformant client
    // keeps presenting the old RPT for a (G-C-20); the quirky one presents the new one.
    for (quirks, new_for_a) in [(vec![Quirk::ClientAssumesUpgraded], true), (vec![], false)] {
        let w = World::with(&quirks, |_| {}, |c| c.quirks.insert(Quirk::UpgradeFlagMissing)).await;
        let (a, b) = (w.open("a").await, w.open("b").await);
        w.start(&a, "bob", None).await;
        w.start(&b, "bob", None).await;
        w.start(&a, "bob", None).await;
        let rs = w.rs_hits();
        assert_eq!(rs[4].auth == rs[3].auth, new_for_a, "{quirks:?}");
        assert_eq!(rs[4].auth == rs[1].auth, !new_for_a, "{quirks:?}");
    }
}
