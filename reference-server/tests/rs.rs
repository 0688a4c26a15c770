//! The reference resource server (`rs` module) against the reference AS, both on loopback ports
//! in-process, and against a small fake AS where an answer the reference AS never gives is needed
//! (an inactive token that lists permissions, token-level `exp`, a refused PAT).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use uma_reference_server::rs::{ResourceServer, RsConfig, UNREACHABLE_WARNING};
use uma_reference_server::types::ClientSecret;
use uma_reference_server::{Config, Quirk, Server};

const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn rs_config(issuer: &str, quirks: &[Quirk]) -> RsConfig {
    let mut c = RsConfig::new(issuer, "demo-rs", ClientSecret::new("demo-rs-secret"));
    c.as_timeout = Duration::from_secs(2);
    for q in quirks {
        c.quirks.insert(*q);
    }
    c
}

/// A response, fully read.
#[derive(Debug)]
struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    async fn read(r: reqwest::Response) -> Self {
        let status = StatusCode::from_u16(r.status().as_u16()).expect("status");
        let mut headers = HeaderMap::new();
        for (k, v) in r.headers() {
            headers.append(
                axum::http::HeaderName::from_bytes(k.as_str().as_bytes()).expect("name"),
                axum::http::HeaderValue::from_bytes(v.as_bytes()).expect("value"),
            );
        }
        let body = r.text().await.expect("body");
        Self { status, headers, body }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    fn challenge(&self) -> String {
        self.header("www-authenticate")
            .unwrap_or_else(|| panic!("no WWW-Authenticate in {} {}", self.status, self.body))
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `ticket` of the UMA challenge.
    fn ticket(&self) -> String {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.body);
        challenge_params(&self.challenge())
            .1
            .remove("ticket")
            .unwrap_or_else(|| panic!("no ticket in {}", self.challenge()))
    }
}

/// Splits `Scheme k="v", k2="v2"` (values without escapes) into the scheme and its parameters.
fn challenge_params(header: &str) -> (String, BTreeMap<String, String>) {
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = BTreeMap::new();
    for part in rest.split(", ") {
        if let Some((k, v)) = part.split_once('=') {
            params.insert(k.to_owned(), v.trim_matches('"').to_owned());
        }
    }
    (scheme.to_owned(), params)
}

/// The reference AS (demo configuration, in memory) and a reference RS registered at it.
struct Env {
    as_: Option<Server>,
    issuer: String,
    rs: ResourceServer,
    http: reqwest::Client,
}

impl Env {
    async fn new(quirks: &[Quirk]) -> Self {
        let as_ = Server::builder(Config::demo())
            .memory()
            .port(0)
            .start()
            .await
            .expect("AS starts");
        let issuer = as_.issuer().to_owned();
        let rs = ResourceServer::start(rs_config(&issuer, quirks), loopback())
            .await
            .expect("RS starts");
        Self {
            as_: Some(as_),
            issuer,
            rs,
            http: http(),
        }
    }

    /// `[quirky, good]`.
    async fn with_and_without(quirk: Quirk) -> [Self; 2] {
        [Self::new(&[quirk]).await, Self::new(&[]).await]
    }

    fn id(&self, resource: &str) -> String {
        self.rs.state().resource_ids()[resource].clone()
    }

    async fn get(&self, path: &str, rpt: Option<&str>) -> Resp {
        let mut req = self.http.get(format!("{}{path}", self.rs.base_url()));
        if let Some(t) = rpt {
            req = req.bearer_auth(t);
        }
        Resp::read(req.send().await.expect("RS answers")).await
    }

    /// A PAT of the demo RS client (owner `photoz-inc`), for the policy API.
    async fn owner_pat(&self) -> String {
        let r = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth("demo-rs", Some("demo-rs-secret"))
            .form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")])
            .send()
            .await
            .expect("token");
        let r = Resp::read(r).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["access_token"].as_str().expect("access_token").to_owned()
    }

    /// Every scope of `resource` open to anyone.
    async fn open(&self, resource: &str) {
        let pat = self.owner_pat().await;
        let r = self
            .http
            .put(format!("{}/policy/{}", self.issuer, self.id(resource)))
            .bearer_auth(pat)
            .json(&json!({"default": {"type": "open"}}))
            .send()
            .await
            .expect("policy");
        assert_eq!(r.status(), reqwest::StatusCode::OK);
    }

    /// The demo client redeems `ticket`.
    async fn redeem(&self, ticket: &str) -> Resp {
        let r = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth("demo-client", Some("demo-client-secret"))
            .form(&[("grant_type", UMA_GRANT), ("ticket", ticket)])
            .send()
            .await
            .expect("token");
        Resp::read(r).await
    }

    /// An RPT for `scope` of `resource` through the RS's own challenge at `path`.
    async fn rpt(&self, resource: &str, path: &str) -> String {
        self.open(resource).await;
        let ticket = self.get(path, None).await.ticket();
        let r = self.redeem(&ticket).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["access_token"].as_str().expect("RPT").to_owned()
    }

    async fn stop_as(&mut self) {
        if let Some(as_) = self.as_.take() {
            as_.shutdown().await;
        }
    }
}

/// A port nothing listens on.
async fn dead_issuer() -> String {
    let l = tokio::net::TcpListener::bind(loopback()).await.expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}")
}

// --- the conformant flow -------------------------------------------------------------------

#[tokio::test]
async fn start_registers_the_three_resources_at_the_as() {
    // Arrange
    let env = Env::new(&[]).await;

    // Act
    let ids = env.rs.state().resource_ids();
    let listed = env
        .http
        .get(format!("{}/resource_set", env.issuer))
        .bearer_auth(env.owner_pat().await)
        .send()
        .await
        .expect("list");
    let listed: Vec<String> = listed.json().await.expect("array");

    // Assert
    let names: Vec<&str> = ids.keys().map(String::as_str).collect();
    assert_eq!(names, ["album:vacation", "photo:beach", "photo:sunset"]);
    let mut listed = listed;
    listed.sort();
    let mut registered: Vec<String> = ids.values().cloned().collect();
    registered.sort();
    assert_eq!(listed, registered);
    let beach = env
        .http
        .get(format!("{}/resource_set/{}", env.issuer, env.id("photo:beach")))
        .bearer_auth(env.owner_pat().await)
        .send()
        .await
        .expect("read")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(beach["resource_scopes"], json!(["view", "download", "print", "edit"]));
    assert_eq!(beach["name"], "photo:beach");
    assert!(beach["type"].is_string());
}

#[tokio::test]
async fn registering_again_registers_nothing_new() {
    // Arrange
    let env = Env::new(&[]).await;
    let before = env.rs.state().resource_ids();

    // Act
    env.rs.state().register().await.expect("register");

    // Assert
    assert_eq!(env.rs.state().resource_ids(), before);
}

#[tokio::test]
async fn a_tokenless_request_gets_401_with_the_exact_uma_challenge_and_a_ticket_the_as_redeems() {
    // Arrange
    let env = Env::new(&[]).await;
    env.open("photo:beach").await;

    // Act
    let r = env.get("/photos/beach", None).await;

    // Assert
    let ticket = r.ticket();
    assert_eq!(
        r.challenge(),
        format!("UMA realm=\"photoz\", as_uri=\"{}\", ticket=\"{ticket}\"", env.issuer)
    );
    let token = env.redeem(&ticket).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
}

#[tokio::test]
async fn an_rpt_for_the_ticket_is_served_with_the_resource_and_scope() {
    // Arrange
    let env = Env::new(&[]).await;
    let rpt = env.rpt("photo:beach", "/photos/beach").await;

    // Act
    let r = env.get("/photos/beach", Some(&rpt)).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["resource"], "photo:beach");
    assert_eq!(r.json()["scope"], "view");
}

#[tokio::test]
async fn the_rpt_may_come_in_the_access_token_query_parameter() {
    // Arrange
    let env = Env::new(&[]).await;
    let rpt = env.rpt("album:vacation", "/albums/vacation").await;

    // Act
    let r = env.get(&format!("/albums/vacation?access_token={rpt}"), None).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["resource"], "album:vacation");
}

#[tokio::test]
async fn an_rpt_for_view_used_for_download_gets_a_new_ticket_for_download() {
    // Arrange
    let env = Env::new(&[]).await;
    let rpt = env.rpt("photo:beach", "/photos/beach").await;

    // Act
    let r = env.get("/photos/beach/download", Some(&rpt)).await;

    // Assert
    let ticket = r.ticket();
    assert!(r.challenge().starts_with("UMA realm=\"photoz\", as_uri="));
    let token = env.redeem(&ticket).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let download_rpt = token.json()["access_token"].as_str().expect("RPT").to_owned();
    let served = env.get("/photos/beach/download", Some(&download_rpt)).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.body);
    assert_eq!(served.json()["scope"], "download");
}

#[tokio::test]
async fn an_rpt_for_one_photo_does_not_open_another() {
    // Arrange
    let env = Env::new(&[]).await;
    let rpt = env.rpt("photo:beach", "/photos/beach").await;

    // Act
    let r = env.get("/photos/sunset", Some(&rpt)).await;

    // Assert
    r.ticket();
}

#[tokio::test]
async fn a_revoked_or_garbage_rpt_gets_a_new_ticket() {
    // Arrange
    let env = Env::new(&[]).await;
    let rpt = env.rpt("photo:beach", "/photos/beach").await;
    let first = env.get("/photos/beach", None).await.ticket();
    let revoked = env
        .http
        .post(format!("{}/revoke", env.issuer))
        .basic_auth("demo-client", Some("demo-client-secret"))
        .form(&[("token", rpt.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), reqwest::StatusCode::OK);

    // Act
    let after_revoke = env.get("/photos/beach", Some(&rpt)).await;
    let garbage = env.get("/photos/beach", Some("not-an-rpt")).await;

    // Assert
    let (t1, t2) = (after_revoke.ticket(), garbage.ticket());
    assert!(t1 != first && t2 != first && t1 != t2);
    assert!(after_revoke.challenge().starts_with("UMA "));
    assert!(garbage.challenge().starts_with("UMA "));
    assert_eq!(env.redeem(&t2).await.status, StatusCode::OK);
}

#[tokio::test]
async fn both_token_methods_at_once_are_an_invalid_request() {
    // Arrange
    let env = Env::new(&[]).await;

    // Act
    let r = env.get("/photos/beach?access_token=a", Some("a")).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(!r.challenge().starts_with("UMA"));
}

#[tokio::test]
async fn an_unknown_photo_is_404_without_a_uma_dance() {
    // Arrange
    let env = Env::new(&[]).await;

    // Act
    let r = env.get("/photos/nope", None).await;
    let album = env.get("/albums/beach", None).await;

    // Assert
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.header("www-authenticate").is_none());
    assert_eq!(album.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_index_lists_every_route_with_its_scope() {
    // Arrange
    let env = Env::new(&[]).await;

    // Act
    let r = env.get("/", None).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK);
    let routes = r.json()["routes"].as_array().expect("routes").clone();
    assert!(routes.contains(
        &json!({"method": "POST", "path": "/photos/sunset/print", "resource": "photo:sunset", "scope": "print"})
    ));
    assert!(routes.contains(
        &json!({"method": "PUT", "path": "/albums/vacation", "resource": "album:vacation", "scope": "edit"})
    ));
    assert_eq!(
        routes.len(),
        2 + 4 * 2,
        "two album routes, four routes for each of two photos"
    );
}

#[tokio::test]
async fn every_protected_route_challenges_for_its_own_scope() {
    // Arrange
    let env = Env::new(&[]).await;
    let cases = [
        (reqwest::Method::GET, "/albums/vacation"),
        (reqwest::Method::PUT, "/albums/vacation"),
        (reqwest::Method::GET, "/photos/sunset"),
        (reqwest::Method::GET, "/photos/sunset/download"),
        (reqwest::Method::POST, "/photos/sunset/print"),
        (reqwest::Method::PUT, "/photos/sunset"),
    ];

    for (method, path) in cases {
        // Act
        let r = Resp::read(
            env.http
                .request(method.clone(), format!("{}{path}", env.rs.base_url()))
                .send()
                .await
                .expect("RS answers"),
        )
        .await;

        // Assert
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        r.ticket();
    }
}

#[tokio::test]
async fn with_the_as_stopped_requests_get_403_with_the_warning_and_no_uma_challenge() {
    // Arrange
    let mut env = Env::new(&[]).await;
    let rpt = env.rpt("photo:beach", "/photos/beach").await;
    env.stop_as().await;

    // Act
    let tokenless = env.get("/photos/beach", None).await;
    let with_rpt = env.get("/photos/beach", Some(&rpt)).await;

    // Assert
    for r in [tokenless, with_rpt] {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(r.header("warning").as_deref(), Some(UNREACHABLE_WARNING));
        assert!(r.header("www-authenticate").is_none());
        assert_eq!(r.json()["error"], "authorization_server_unreachable");
    }
}

#[tokio::test]
async fn an_rs_started_without_its_as_answers_403_and_needs_no_restart() {
    // Arrange
    let rs = ResourceServer::start(rs_config(&dead_issuer().await, &[]), loopback())
        .await
        .expect("starts without its AS");

    // Act
    let r = Resp::read(
        http()
            .get(format!("{}/photos/beach", rs.base_url()))
            .send()
            .await
            .expect("answers"),
    )
    .await;

    // Assert
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.header("warning").as_deref(), Some(UNREACHABLE_WARNING));
    assert!(rs.state().resource_ids().is_empty());
    rs.shutdown().await;
}

// --- a fake AS for answers the reference AS never gives --------------------------------------

#[derive(Default)]
struct FakeState {
    base: String,
    introspection: Mutex<Value>,
    hints: Mutex<Vec<Option<String>>>,
    pats_issued: AtomicUsize,
    tickets_issued: AtomicUsize,
    refuse_first_pat: AtomicBool,
    registration_down: AtomicBool,
}

struct FakeAs {
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAs {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(loopback()).await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(FakeState {
            base,
            introspection: Mutex::new(json!({"active": false})),
            ..FakeState::default()
        });
        let router = axum::Router::new()
            .route("/.well-known/uma2-configuration", get(fake_discovery))
            .route("/token", post(fake_token))
            .route("/rreg", post(fake_register))
            .route("/perm", post(fake_permission))
            .route("/introspect", post(fake_introspect))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { state, task }
    }

    fn answer(&self, v: Value) {
        *self.state.introspection.lock().unwrap() = v;
    }

    async fn rs(&self, quirks: &[Quirk]) -> ResourceServer {
        ResourceServer::start(rs_config(&self.state.base, quirks), loopback())
            .await
            .expect("RS starts")
    }
}

type Fake = State<Arc<FakeState>>;

async fn fake_discovery(State(s): Fake) -> Json<Value> {
    let b = &s.base;
    Json(json!({
        "issuer": b, "token_endpoint": format!("{b}/token"),
        "resource_registration_endpoint": format!("{b}/rreg"), "permission_endpoint": format!("{b}/perm"),
        "introspection_endpoint": format!("{b}/introspect"),
    }))
}

async fn fake_token(State(s): Fake) -> Json<Value> {
    let n = s.pats_issued.fetch_add(1, Ordering::SeqCst) + 1;
    Json(json!({"access_token": format!("pat-{n}"), "token_type": "Bearer"}))
}

async fn fake_register(State(s): Fake, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if s.registration_down.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "temporarily_unavailable"})),
        );
    }
    let name = body["name"].as_str().unwrap_or("?");
    (StatusCode::CREATED, Json(json!({"_id": format!("id-{name}")})))
}

async fn fake_permission(State(s): Fake, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if s.refuse_first_pat.load(Ordering::SeqCst) && auth == "Bearer pat-1" {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_token"})));
    }
    let n = s.tickets_issued.fetch_add(1, Ordering::SeqCst) + 1;
    (StatusCode::CREATED, Json(json!({"ticket": format!("ticket-{n}")})))
}

async fn fake_introspect(State(s): Fake, body: String) -> Json<Value> {
    let hint = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "token_type_hint")
        .map(|(_, v)| v.into_owned());
    s.hints.lock().unwrap().push(hint);
    Json(s.introspection.lock().unwrap().clone())
}

async fn rs_get(rs: &ResourceServer, path: &str, rpt: Option<&str>) -> Resp {
    let mut req = http().get(format!("{}{path}", rs.base_url()));
    if let Some(t) = rpt {
        req = req.bearer_auth(t);
    }
    Resp::read(req.send().await.expect("RS answers")).await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

#[tokio::test]
async fn a_refused_pat_is_replaced_once_and_the_call_retried() {
    // Arrange
    let fake = FakeAs::start().await;
    fake.state.refuse_first_pat.store(true, Ordering::SeqCst);
    let rs = fake.rs(&[]).await;

    // Act
    let r = rs_get(&rs, "/photos/beach", None).await;

    // Assert
    assert_eq!(r.ticket(), "ticket-1");
    assert_eq!(fake.state.pats_issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn registration_that_failed_at_start_is_retried_on_the_first_protected_request() {
    // Arrange
    let fake = FakeAs::start().await;
    fake.state.registration_down.store(true, Ordering::SeqCst);
    let rs = fake.rs(&[]).await;
    assert!(rs.state().resource_ids().is_empty());
    let down = rs_get(&rs, "/photos/beach", None).await;
    fake.state.registration_down.store(false, Ordering::SeqCst);

    // Act
    let up = rs_get(&rs, "/photos/beach", None).await;

    // Assert
    assert_eq!(down.status, StatusCode::FORBIDDEN);
    assert_eq!(up.ticket(), "ticket-1");
    assert_eq!(rs.state().resource_ids().len(), 3);
}

#[tokio::test]
async fn an_earlier_token_exp_wins_over_the_permission_exp_end_to_end() {
    // Arrange
    let fake = FakeAs::start().await;
    let rs = fake.rs(&[]).await;
    let perm = |exp: i64| json!([{"resource_id": "id-photo:beach", "resource_scopes": ["view"], "exp": exp}]);

    // Act
    fake.answer(json!({"active": true, "exp": now() - 5, "permissions": perm(now() + 3600)}));
    let expired = rs_get(&rs, "/photos/beach", Some("rpt")).await;
    fake.answer(json!({"active": true, "exp": now() + 3600, "permissions": perm(now() + 3600)}));
    let live = rs_get(&rs, "/photos/beach", Some("rpt")).await;

    // Assert
    expired.ticket();
    assert_eq!(live.status, StatusCode::OK, "{}", live.body);
}

#[tokio::test]
async fn introspection_sends_the_access_token_hint() {
    // Arrange
    let fake = FakeAs::start().await;
    let rs = fake.rs(&[]).await;

    // Act
    rs_get(&rs, "/photos/beach", Some("rpt")).await;

    // Assert
    assert_eq!(*fake.state.hints.lock().unwrap(), [Some("access_token".to_owned())]);
}

// --- quirks: each with and without --------------------------------------------------------

#[tokio::test]
async fn rs_no_ticket_challenges_without_a_ticket() {
    for (quirky, env) in Env::with_and_without(Quirk::RsNoTicket).await.iter().enumerate() {
        let quirky = quirky == 0;
        // Act
        let r = env.get("/photos/beach", None).await;
        let with_garbage = env.get("/photos/beach", Some("garbage")).await;

        // Assert
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        if quirky {
            let expected = format!("UMA realm=\"photoz\", as_uri=\"{}\"", env.issuer);
            assert_eq!(r.challenge(), expected);
            assert_eq!(with_garbage.challenge(), expected);
        } else {
            r.ticket();
            with_garbage.ticket();
        }
    }
}

#[tokio::test]
async fn rs_wrong_as_uri_names_the_discovery_url() {
    for (quirky, env) in Env::with_and_without(Quirk::RsWrongAsUri).await.iter().enumerate() {
        // Act
        let r = env.get("/photos/beach", None).await;

        // Assert
        let as_uri = challenge_params(&r.challenge()).1["as_uri"].clone();
        if quirky == 0 {
            assert_eq!(as_uri, format!("{}/.well-known/uma2-configuration", env.issuer));
        } else {
            assert_eq!(as_uri, env.issuer);
        }
        r.ticket();
    }
}

#[tokio::test]
async fn rs_bearer_scheme_challenges_with_bearer() {
    for (quirky, env) in Env::with_and_without(Quirk::RsBearerScheme).await.iter().enumerate() {
        // Act
        let r = env.get("/photos/beach", None).await;

        // Assert
        let (scheme, params) = challenge_params(&r.challenge());
        assert_eq!(scheme, if quirky == 0 { "Bearer" } else { "UMA" });
        assert_eq!(params["as_uri"], env.issuer);
        r.ticket();
    }
}

#[tokio::test]
async fn rs_no_warning_leaves_the_warning_out_of_the_403() {
    let issuer = dead_issuer().await;
    for (quirks, warned) in [(&[Quirk::RsNoWarning][..], false), (&[][..], true)] {
        // Arrange
        let rs = ResourceServer::start(rs_config(&issuer, quirks), loopback())
            .await
            .expect("RS starts");

        // Act
        let r = rs_get(&rs, "/photos/beach", None).await;

        // Assert
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.header("warning").is_some(), warned);
        assert!(r.header("www-authenticate").is_none());
        rs.shutdown().await;
    }
}

#[tokio::test]
async fn rs_bearer_error_on_invalid_rpt_answers_invalid_token_without_a_ticket() {
    for (quirky, env) in Env::with_and_without(Quirk::RsBearerErrorOnInvalidRpt)
        .await
        .iter()
        .enumerate()
    {
        // Act
        let r = env.get("/photos/beach", Some("garbage")).await;

        // Assert
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        if quirky == 0 {
            assert_eq!(r.challenge(), "Bearer realm=\"photoz\", error=\"invalid_token\"");
        } else {
            assert!(r.challenge().starts_with("UMA "));
            r.ticket();
        }
    }
}

#[tokio::test]
async fn rs_reuses_ticket_answers_a_failed_rpt_with_the_tokenless_ticket() {
    for (quirky, env) in Env::with_and_without(Quirk::RsReusesTicket).await.iter().enumerate() {
        // Arrange
        let tokenless = env.get("/photos/beach", None).await.ticket();

        // Act
        let failed = env.get("/photos/beach", Some("garbage")).await.ticket();

        // Assert
        assert_eq!(failed == tokenless, quirky == 0);
    }
}

#[tokio::test]
async fn rs_serves_inactive_serves_an_inactive_token_that_lists_the_permission() {
    // Arrange
    let fake = FakeAs::start().await;
    fake.answer(
        json!({"active": false, "permissions": [{"resource_id": "id-photo:beach", "resource_scopes": ["view"]}]}),
    );
    for (quirks, served) in [(&[Quirk::RsServesInactive][..], true), (&[][..], false)] {
        let rs = fake.rs(quirks).await;

        // Act
        let r = rs_get(&rs, "/photos/beach", Some("rpt")).await;

        // Assert
        assert_eq!(r.status == StatusCode::OK, served, "{}", r.body);
        if !served {
            r.ticket();
        }
        rs.shutdown().await;
    }
}

#[tokio::test]
async fn rs_scope_unchecked_serves_download_with_a_view_rpt() {
    for (quirky, env) in Env::with_and_without(Quirk::RsScopeUnchecked).await.iter().enumerate() {
        // Arrange
        let rpt = env.rpt("photo:beach", "/photos/beach").await;

        // Act
        let r = env.get("/photos/beach/download", Some(&rpt)).await;

        // Assert
        if quirky == 0 {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        } else {
            r.ticket();
        }
    }
}

#[tokio::test]
async fn rs_permission_exp_wins_serves_after_the_token_expired() {
    // Arrange
    let fake = FakeAs::start().await;
    fake.answer(json!({"active": true, "exp": now() - 5,
        "permissions": [{"resource_id": "id-photo:beach", "resource_scopes": ["view"], "exp": now() + 3600}]}));
    for (quirks, served) in [(&[Quirk::RsPermissionExpWins][..], true), (&[][..], false)] {
        let rs = fake.rs(quirks).await;

        // Act
        let r = rs_get(&rs, "/photos/beach", Some("rpt")).await;

        // Assert
        assert_eq!(r.status == StatusCode::OK, served, "{}", r.body);
        rs.shutdown().await;
    }
}

#[tokio::test]
async fn rs_ignores_bearer_header_treats_a_header_rpt_as_no_token() {
    for (quirky, env) in Env::with_and_without(Quirk::RsIgnoresBearerHeader)
        .await
        .iter()
        .enumerate()
    {
        // Arrange
        let rpt = env.rpt("photo:beach", "/photos/beach").await;

        // Act
        let header = env.get("/photos/beach", Some(&rpt)).await;
        let query = env.get(&format!("/photos/beach?access_token={rpt}"), None).await;

        // Assert
        if quirky == 0 {
            header.ticket();
        } else {
            assert_eq!(header.status, StatusCode::OK, "{}", header.body);
        }
        assert_eq!(query.status, StatusCode::OK, "{}", query.body);
    }
}

#[tokio::test]
async fn rs_introspection_hint_sends_requesting_party_token() {
    // Arrange
    let fake = FakeAs::start().await;
    let rs = fake.rs(&[Quirk::RsIntrospectionHint]).await;

    // Act
    rs_get(&rs, "/photos/beach", Some("rpt")).await;

    // Assert
    assert_eq!(
        *fake.state.hints.lock().unwrap(),
        [Some("requesting_party_token".to_owned())]
    );
}

#[tokio::test]
async fn every_rs_quirk_has_the_rs_role() {
    let rs: Vec<&str> = Quirk::ALL
        .iter()
        .filter(|q| q.role() == uma_reference_server::Role::Rs)
        .map(|q| q.name())
        .collect();
    assert_eq!(rs.len(), 17);
    assert!(rs.iter().all(|n| n.starts_with("rs-")));
}
