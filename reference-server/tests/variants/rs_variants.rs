//! Resource server variants: the reference RS (taking the variant, or plain) in front of the
//! reference AS, whose router is served on loopback behind a recorder so the tests see what the
//! RS sends it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use serde_json::{Value, json};
use uma_reference_server::client::challenge::find_uma;
use uma_reference_server::rs::{OwnerCredentials, ResourceServer, RsConfig, SCOPE_URI_PREFIX, UNREACHABLE_WARNING};
use uma_reference_server::types::ClientSecret;
use uma_reference_server::{Config, Variant};

const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

/// One request the RS made to the AS.
#[derive(Clone, Debug)]
struct Call {
    path: String,
    body: String,
    authorization: Option<String>,
    status: u16,
}

type Log = Arc<Mutex<Vec<Call>>>;

/// What the RS answered.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    challenges: Vec<String>,
    warning: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The ticket of the UMA challenge, read as the reference client reads it.
    fn ticket(&self) -> String {
        let uma = find_uma(self.challenges.iter().map(String::as_str))
            .unwrap_or_else(|| panic!("no UMA challenge in {self:?}"));
        uma.param("ticket").expect("a ticket").value.clone()
    }
}

/// The reference AS (demo configuration) on loopback, and a reference RS taking `variants`.
struct Env {
    issuer: String,
    rs: ResourceServer,
    http: reqwest::Client,
    log: Log,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

impl Env {
    async fn new(variants: &[Variant]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let mut as_config = Config::demo();
        // A second resource owner's RS client (variant rs-two-owners).
        let mut second = as_config.clients[0].clone();
        assert_eq!(second.client_id, "demo-rs");
        second.client_id = "demo-rs-b".into();
        second.client_secret = Some(ClientSecret::new("demo-rs-b-secret"));
        second.owner = Some("photoz-b".into());
        as_config.clients.push(second);
        let (router, _) = uma_reference_server::test_app(as_config, &issuer).await.unwrap();
        let log = Log::default();
        let recorder = log.clone();
        let router = router.layer(axum::middleware::from_fn(move |req: Request, next: Next| {
            let log = recorder.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
                let mut call = Call {
                    path: parts.uri.path().to_owned(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                    authorization: parts
                        .headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    status: 0,
                };
                let response = next
                    .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                    .await;
                call.status = response.status().as_u16();
                log.lock().unwrap().push(call);
                response
            }
        }));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let mut config = RsConfig::new(&issuer, "demo-rs", ClientSecret::new("demo-rs-secret"));
        config.as_timeout = Duration::from_secs(2);
        config.variants = variants.iter().copied().collect();
        config.second_owner = Some(OwnerCredentials {
            client_id: "demo-rs-b".into(),
            client_secret: ClientSecret::new("demo-rs-b-secret"),
        });
        let rs = ResourceServer::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            issuer,
            rs,
            http,
            log,
            server: Some(server),
        }
    }

    /// `[variant, plain]`.
    async fn with_and_without(variant: Variant) -> [Self; 2] {
        [Self::new(&[variant]).await, Self::new(&[]).await]
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let r = req.send().await.expect("the RS answers");
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        let all = |name: &str| -> Vec<String> {
            r.headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        };
        let challenges = all("www-authenticate");
        let warning = all("warning").into_iter().next();
        Answer {
            status,
            challenges,
            warning,
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str, rpt: Option<&str>) -> Answer {
        let mut req = self.http.get(format!("{}{path}", self.rs.base_url()));
        if let Some(t) = rpt {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// Opens every scope of the resource the RS registered as `name` (registering it first).
    async fn open(&self, name: &str, path: &str) {
        self.open_as(name, path, "demo-rs", "demo-rs-secret").await;
    }

    /// [`Env::open`], with the PAT of the owner `client` stands for.
    async fn open_as(&self, name: &str, path: &str, client: &str, secret: &str) {
        if !self.rs.state().resource_ids().contains_key(name) {
            self.get(path, None).await;
        }
        let id = self.rs.state().resource_ids()[name].clone();
        let pat: Value = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = self
            .http
            .put(format!("{}/policy/{id}", self.issuer))
            .bearer_auth(pat["access_token"].as_str().unwrap())
            .json(&json!({"default": {"type": "open"}}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// An RPT through the RS's own challenge at `path` (resource `name` opened first).
    async fn rpt(&self, name: &str, path: &str) -> String {
        self.open(name, path).await;
        let ticket = self.get(path, None).await.ticket();
        self.redeem(&ticket).await
    }

    /// The demo client redeems `ticket` for an RPT.
    async fn redeem(&self, ticket: &str) -> String {
        let r = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth("demo-client", Some("demo-client-secret"))
            .form(&[("grant_type", UMA_GRANT), ("ticket", ticket)])
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no RPT: {v}"))
            .to_owned()
    }

    fn calls(&self, path: &str) -> Vec<Call> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.path == path)
            .cloned()
            .collect()
    }

    fn stop_as(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

#[tokio::test]
async fn rs_permission_object_sends_one_permission_object_instead_of_an_array() {
    for (env, variant) in Env::with_and_without(Variant::RsPermissionObject)
        .await
        .iter()
        .zip([true, false])
    {
        let t = env.get("/photos/beach", None).await;
        assert_eq!(t.status, StatusCode::UNAUTHORIZED);
        let body: Value = serde_json::from_str(&env.calls("/permission")[0].body).unwrap();
        assert_eq!(body.is_object(), variant, "{body}");
        assert_eq!(body.is_array(), !variant);
    }
}

#[tokio::test]
async fn rs_introspection_without_hint_sends_no_token_type_hint() {
    for (env, variant) in Env::with_and_without(Variant::RsIntrospectionWithoutHint)
        .await
        .iter()
        .zip([true, false])
    {
        env.get("/photos/beach", Some("garbage")).await;
        let form = &env.calls("/introspect")[0].body;
        assert_eq!(!form.contains("token_type_hint"), variant, "{form}");
    }
}

#[tokio::test]
async fn rs_challenge_without_realm_leaves_realm_out() {
    for (env, variant) in Env::with_and_without(Variant::RsChallengeWithoutRealm)
        .await
        .iter()
        .zip([true, false])
    {
        let a = env.get("/photos/beach", None).await;
        assert_eq!(!a.challenges[0].contains("realm="), variant, "{a:?}");
        let uma = find_uma(a.challenges.iter().map(String::as_str)).unwrap();
        assert_eq!(uma.param("as_uri").unwrap().value, env.issuer);
    }
}

#[tokio::test]
async fn rs_challenge_403_challenges_with_403() {
    for (env, variant) in Env::with_and_without(Variant::RsChallenge403)
        .await
        .iter()
        .zip([true, false])
    {
        let tokenless = env.get("/photos/beach", None).await;
        let garbage = env.get("/photos/beach", Some("garbage")).await;
        for a in [tokenless, garbage] {
            let expected = if variant {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(a.status, expected);
            a.ticket();
        }
    }
}

#[tokio::test]
async fn rs_bearer_challenge_alongside_adds_a_bearer_challenge_with_the_rfc_6750_error() {
    for (env, variant) in Env::with_and_without(Variant::RsBearerChallengeAlongside)
        .await
        .iter()
        .zip([true, false])
    {
        let view = env.rpt("photo:beach", "/photos/beach").await;
        let cases = [
            (env.get("/photos/beach", None).await, StatusCode::UNAUTHORIZED, None),
            (
                env.get("/photos/beach", Some("garbage")).await,
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
            ),
            (
                env.get("/photos/beach/download", Some(&view)).await,
                StatusCode::FORBIDDEN,
                Some("insufficient_scope"),
            ),
        ];
        for (a, status, error) in cases {
            a.ticket();
            if !variant {
                assert_eq!(a.status, StatusCode::UNAUTHORIZED);
                assert_eq!(a.challenges.len(), 1);
                continue;
            }
            assert_eq!(a.status, status, "{a:?}");
            assert_eq!(a.challenges.len(), 2, "{a:?}");
            assert!(a.challenges[1].starts_with("Bearer realm="));
            match error {
                Some(e) => assert!(a.challenges[1].contains(&format!("error=\"{e}\"")), "{a:?}"),
                None => assert!(
                    !a.challenges[1].contains("error="),
                    "RFC 6750 §3: no error without a token"
                ),
            }
        }
    }
}

#[tokio::test]
async fn rs_challenge_compact_writes_tokens_without_spaces_and_the_reference_client_reads_it() {
    for (env, variant) in Env::with_and_without(Variant::RsChallengeCompact)
        .await
        .iter()
        .zip([true, false])
    {
        let rpt = env.rpt("photo:beach", "/photos/beach").await;
        let a = env.get("/photos/beach", None).await;
        let h = &a.challenges[0];
        assert_eq!(h.starts_with("UMA ticket="), variant, "{h}");
        assert_eq!(!h.contains(", "), variant, "{h}");
        assert_eq!(h.contains("realm=photoz"), variant, "{h}");
        assert!(
            h.contains(&format!("as_uri=\"{}\"", env.issuer)),
            "as_uri stays quoted: {h}"
        );
        assert_eq!(env.get("/photos/beach", Some(&rpt)).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn rs_challenge_scheme_lowercase_writes_the_scheme_uma() {
    for (env, variant) in Env::with_and_without(Variant::RsChallengeSchemeLowercase)
        .await
        .iter()
        .zip([true, false])
    {
        let a = env.get("/photos/beach", None).await;
        assert_eq!(a.challenges[0].starts_with("uma "), variant, "{a:?}");
        a.ticket();
    }
}

#[tokio::test]
async fn rs_unreachable_503_says_503_with_the_warning() {
    for (env, variant) in Env::with_and_without(Variant::RsUnreachable503)
        .await
        .into_iter()
        .zip([true, false])
    {
        let mut env = env;
        env.stop_as();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let a = env.get("/photos/beach", Some("garbage")).await;
        let expected = if variant {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(a.status, expected, "{a:?}");
        assert_eq!(a.warning.as_deref(), Some(UNREACHABLE_WARNING));
        assert!(a.challenges.is_empty());
    }
}

#[tokio::test]
async fn rs_bearer_header_only_treats_a_query_token_as_no_token() {
    for (env, variant) in Env::with_and_without(Variant::RsBearerHeaderOnly)
        .await
        .iter()
        .zip([true, false])
    {
        let rpt = env.rpt("photo:beach", "/photos/beach").await;
        let a = env.get(&format!("/photos/beach?access_token={rpt}"), None).await;
        if variant {
            a.ticket();
        } else {
            assert_eq!(a.status, StatusCode::OK);
        }
        assert_eq!(env.get("/photos/beach", Some(&rpt)).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn rs_form_body_token_accepts_an_rpt_in_a_form_body() {
    for (env, variant) in Env::with_and_without(Variant::RsFormBodyToken)
        .await
        .iter()
        .zip([true, false])
    {
        env.open("photo:beach", "/photos/beach").await;
        let print = || env.http.post(format!("{}/photos/beach/print", env.rs.base_url()));
        let rpt = env.redeem(&env.send(print()).await.ticket()).await;
        let req = env
            .http
            .post(format!("{}/photos/beach/print", env.rs.base_url()))
            .form(&[("access_token", rpt.as_str())]);
        let a = env.send(req).await;
        if variant {
            assert_eq!(a.status, StatusCode::OK, "{a:?}");
            assert_eq!(a.json()["scope"], "print");
        } else {
            a.ticket();
        }
    }
}

#[tokio::test]
async fn rs_refuses_downloads_refuses_a_sufficient_rpt_without_a_challenge() {
    for (env, variant) in Env::with_and_without(Variant::RsRefusesDownloads)
        .await
        .iter()
        .zip([true, false])
    {
        let rpt = env.rpt("photo:beach", "/photos/beach/download").await;
        let a = env.get("/photos/beach/download", Some(&rpt)).await;
        if variant {
            assert_eq!(a.status, StatusCode::FORBIDDEN);
            assert!(a.challenges.is_empty());
        } else {
            assert_eq!(a.status, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn rs_public_albums_serves_album_views_without_a_token_and_says_so() {
    for (env, variant) in Env::with_and_without(Variant::RsPublicAlbums)
        .await
        .iter()
        .zip([true, false])
    {
        let a = env.get("/albums/vacation", None).await;
        assert_eq!(a.status == StatusCode::OK, variant, "{a:?}");
        let edit = env
            .send(env.http.put(format!("{}/albums/vacation", env.rs.base_url())))
            .await;
        edit.ticket();
        let index: Value = serde_json::from_str(&env.get("/", None).await.body).unwrap();
        let route = index["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == "/albums/vacation" && r["method"] == "GET")
            .unwrap()
            .clone();
        assert_eq!(route.get("protected"), variant.then_some(&json!(false)));
    }
}

#[tokio::test]
async fn rs_registers_lazily_registers_each_resource_on_first_use() {
    for (env, variant) in Env::with_and_without(Variant::RsRegistersLazily)
        .await
        .iter()
        .zip([true, false])
    {
        assert_eq!(env.rs.state().resource_ids().is_empty(), variant);
        env.get("/photos/beach", None).await.ticket();
        let ids = env.rs.state().resource_ids();
        assert!(ids.contains_key("photo:beach"));
        assert_eq!(ids.len(), if variant { 1 } else { 3 });
    }
}

#[tokio::test]
async fn rs_minimal_descriptions_register_resource_scopes_alone() {
    for (env, variant) in Env::with_and_without(Variant::RsMinimalDescriptions)
        .await
        .iter()
        .zip([true, false])
    {
        let registrations = env.calls("/resource_set");
        assert_eq!(registrations.len(), 3);
        for c in registrations {
            let d: Value = serde_json::from_str(&c.body).unwrap();
            let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
            assert_eq!(keys == ["resource_scopes"], variant, "{d}");
        }
    }
}

#[tokio::test]
async fn rs_scope_uris_registers_and_requests_scope_uris_and_serves_them() {
    for (env, variant) in Env::with_and_without(Variant::RsScopeUris)
        .await
        .iter()
        .zip([true, false])
    {
        let d: Value = serde_json::from_str(&env.calls("/resource_set")[0].body).unwrap();
        let first = d["resource_scopes"][0].as_str().unwrap().to_owned();
        assert_eq!(first.starts_with(SCOPE_URI_PREFIX), variant, "{d}");
        let rpt = env.rpt("photo:beach", "/photos/beach").await;
        let perm: Value =
            serde_json::from_str(env.calls("/permission").last().map(|c| c.body.as_str()).unwrap()).unwrap();
        let asked = perm[0]["resource_scopes"][0].as_str().unwrap().to_owned();
        let view = if variant {
            format!("{SCOPE_URI_PREFIX}view")
        } else {
            "view".to_owned()
        };
        assert_eq!(asked, view);
        assert_eq!(env.get("/photos/beach", Some(&rpt)).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn rs_two_owners_asks_for_each_owners_resources_with_that_owners_pat_and_renews_its_pats() {
    let [two, plain] = Env::with_and_without(Variant::RsTwoOwners).await;
    let ids = two.rs.state().resource_ids();
    let bearer_of = |env: &Env, id: &str| -> Vec<String> {
        env.calls("/permission")
            .iter()
            .filter(|c| c.body.contains(id))
            .filter_map(|c| c.authorization.clone())
            .collect()
    };
    for path in ["/photos/beach", "/photos/beach", "/photos/sunset"] {
        assert_eq!(two.get(path, None).await.status, StatusCode::UNAUTHORIZED);
    }
    // The AS accepted every request: each asked for resources of its PAT's owner only.
    assert!(
        two.calls("/permission").iter().all(|c| c.status == 201),
        "{:?}",
        two.calls("/permission")
    );
    let beach = bearer_of(&two, &ids["photo:beach"]);
    let sunset = bearer_of(&two, &ids["photo:sunset"]);
    assert_eq!((beach.len(), sunset.len()), (2, 1));
    assert_ne!(beach[0], beach[1], "a new PAT after each permission request");
    assert!(!beach.contains(&sunset[0]), "the second owner's PAT for its photo");
    // The album shows its own owner's photos: one request, without the other owner's photo.
    assert_eq!(
        two.get("/albums/vacation/photos", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let album = two.calls("/permission").last().cloned().expect("the album's request");
    assert!(
        album.status == 201 && !album.body.contains(&ids["photo:sunset"]),
        "{album:?}"
    );
    // An RPT for the second owner's photo is introspected with that owner's PAT and serves it.
    two.open_as("photo:sunset", "/photos/sunset", "demo-rs-b", "demo-rs-b-secret")
        .await;
    let ticket = two.get("/photos/sunset", None).await.ticket();
    let rpt = two.redeem(&ticket).await;
    assert_eq!(two.get("/photos/sunset", Some(&rpt)).await.status, StatusCode::OK);

    // Plain: one owner, one PAT for every permission request.
    for path in ["/photos/beach", "/photos/sunset"] {
        plain.get(path, None).await;
    }
    let pats: std::collections::BTreeSet<_> = plain
        .calls("/permission")
        .into_iter()
        .filter_map(|c| c.authorization)
        .collect();
    assert_eq!(pats.len(), 1);
}
