//! What the reference RS sends to the AS's protection API, seen by a small recording AS: the
//! request that needs several resources (one permission request with a permission per resource),
//! and one with/without test per quirk that breaks the RS's own messages (FedAuthz §1.3, §3.1,
//! §4.1).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use uma_reference_server::Quirk;
use uma_reference_server::rs::{OwnerCredentials, ResourceServer, RsConfig};
use uma_reference_server::types::ClientSecret;

/// One call the RS made: which endpoint, its Authorization header, its JSON body.
#[derive(Clone, Debug)]
struct Call {
    endpoint: &'static str,
    authorization: Option<String>,
    body: Value,
}

#[derive(Default)]
struct Recorder {
    base: String,
    calls: Mutex<Vec<Call>>,
    /// The introspection answer.
    introspection: Mutex<Value>,
}

type Rec = State<Arc<Recorder>>;

fn record(s: &Recorder, endpoint: &'static str, headers: &HeaderMap, body: Value) {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    s.calls.lock().unwrap().push(Call {
        endpoint,
        authorization,
        body,
    });
}

async fn discovery(State(s): Rec) -> Json<Value> {
    let b = &s.base;
    Json(json!({
        "issuer": b, "token_endpoint": format!("{b}/token"),
        "resource_registration_endpoint": format!("{b}/rreg"), "permission_endpoint": format!("{b}/perm"),
        "introspection_endpoint": format!("{b}/introspect"),
    }))
}

/// `pat-1` for the RS's own client, `pat-b` for the second owner's (`demo-rs-b`).
async fn token(headers: HeaderMap) -> Json<Value> {
    use base64::Engine as _;
    let client = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let pat = if client.starts_with("demo-rs-b:") {
        "pat-b"
    } else {
        "pat-1"
    };
    Json(json!({"access_token": pat, "token_type": "Bearer"}))
}

async fn register(State(s): Rec, headers: HeaderMap, body: String) -> (StatusCode, Json<Value>) {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    record(&s, "registration", &headers, body.clone());
    match body["resource_scopes"] {
        Value::Array(_) => {
            let name = body["name"].as_str().unwrap_or("?").to_string();
            (StatusCode::CREATED, Json(json!({"_id": format!("id-{name}")})))
        }
        _ => (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request"}))),
    }
}

async fn permission(State(s): Rec, headers: HeaderMap, body: String) -> (StatusCode, Json<Value>) {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    record(&s, "permission", &headers, body.clone());
    if !headers.contains_key("authorization") {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_token"})));
    }
    let perms = match &body {
        Value::Array(a) => a.clone(),
        o => vec![o.clone()],
    };
    let bad = perms.iter().any(|p| {
        !p["resource_scopes"].is_array()
            || p["resource_scopes"]
                .as_array()
                .is_some_and(|a| a.iter().any(|s| s == "admin"))
    });
    if bad {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_scope"})));
    }
    (StatusCode::CREATED, Json(json!({"ticket": "ticket-1"})))
}

async fn introspect(State(s): Rec, headers: HeaderMap) -> Json<Value> {
    record(&s, "introspection", &headers, Value::Null);
    Json(s.introspection.lock().unwrap().clone())
}

struct Env {
    state: Arc<Recorder>,
    rs: ResourceServer,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Env {
    async fn new(quirks: &[Quirk]) -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let state = Arc::new(Recorder {
            base: format!("http://{}", listener.local_addr().expect("addr")),
            introspection: Mutex::new(json!({"active": false})),
            ..Recorder::default()
        });
        let router = axum::Router::new()
            .route("/.well-known/uma2-configuration", get(discovery))
            .route("/token", post(token))
            .route("/rreg", post(register))
            .route("/perm", post(permission))
            .route("/introspect", post(introspect))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let mut c = RsConfig::new(state.base.clone(), "demo-rs", ClientSecret::new("demo-rs-secret"));
        c.as_timeout = Duration::from_secs(2);
        c.second_owner = Some(OwnerCredentials {
            client_id: "demo-rs-b".into(),
            client_secret: ClientSecret::new("demo-rs-b-secret"),
        });
        for q in quirks {
            c.quirks.insert(*q);
        }
        let rs = ResourceServer::start(c, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("RS starts");
        Self { state, rs, task }
    }

    async fn get(&self, path: &str, rpt: Option<&str>) -> (u16, Option<String>) {
        let mut req = reqwest::Client::new().get(format!("{}{path}", self.rs.base_url()));
        if let Some(t) = rpt {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("RS answers");
        let challenge = r
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (r.status().as_u16(), challenge)
    }

    fn calls(&self, endpoint: &str) -> Vec<Call> {
        self.state
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.endpoint == endpoint)
            .cloned()
            .collect()
    }
}

/// A permission in force for a resource the recording AS registered.
fn in_force(resource: &str, scopes: &[&str]) -> Value {
    json!({"resource_id": format!("id-{resource}"), "resource_scopes": scopes, "exp": 4_102_444_800_i64})
}

#[tokio::test]
async fn the_album_with_its_photos_asks_one_ticket_for_every_resource_and_needs_them_all() {
    let env = Env::new(&[]).await;

    let (status, challenge) = env.get("/albums/vacation/photos", None).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap_or_default().contains("ticket=\"ticket-1\""));
    let perms = env.calls("permission");
    assert_eq!(perms.len(), 1, "one permission request");
    let ids: Vec<&str> = perms[0]
        .body
        .as_array()
        .expect("the array form")
        .iter()
        .filter_map(|p| p["resource_id"].as_str())
        .collect();
    assert_eq!(ids, ["id-album:vacation", "id-photo:beach", "id-photo:sunset"]);

    // An RPT for two of the three: refused with a new ticket.
    let two = vec![
        in_force("album:vacation", &["view"]),
        in_force("photo:beach", &["view"]),
    ];
    *env.state.introspection.lock().unwrap() = json!({"active": true, "permissions": two.clone()});
    let (status, challenge) = env.get("/albums/vacation/photos", Some("rpt")).await;
    assert_eq!(status, 401, "an RPT lacking one permission gets no access");
    assert!(challenge.is_some());

    // All three: served.
    let mut all = two;
    all.push(in_force("photo:sunset", &["view"]));
    *env.state.introspection.lock().unwrap() = json!({"active": true, "permissions": all});
    assert_eq!(env.get("/albums/vacation/photos", Some("rpt")).await.0, 200);
}

#[tokio::test]
async fn quirk_rs_several_any_one_serves_the_album_with_one_permission() {
    for (quirky, env) in [Env::new(&[Quirk::RsSeveralAnyOne]).await, Env::new(&[]).await]
        .iter()
        .enumerate()
    {
        let one = vec![in_force("photo:beach", &["view"])];
        *env.state.introspection.lock().unwrap() = json!({"active": true, "permissions": one});
        let (status, _) = env.get("/albums/vacation/photos", Some("rpt")).await;
        assert_eq!(status, if quirky == 0 { 200 } else { 401 });
    }
}

#[tokio::test]
async fn quirk_rs_malformed_description_registers_a_draft_with_scopes_as_a_string() {
    for (quirky, env) in [Env::new(&[Quirk::RsMalformedDescription]).await, Env::new(&[]).await]
        .iter()
        .enumerate()
    {
        let strings = env
            .calls("registration")
            .iter()
            .filter(|c| c.body["resource_scopes"].is_string())
            .count();
        assert_eq!(strings, usize::from(quirky == 0));
        assert_eq!(env.get("/photos/beach", None).await.0, 401, "the RS works either way");
    }
}

/// The permission requests of one tokenless request for the beach photo.
async fn permission_calls(quirks: &[Quirk]) -> Vec<Call> {
    let env = Env::new(quirks).await;
    let (status, challenge) = env.get("/photos/beach", None).await;
    assert_eq!(status, 401);
    assert!(
        challenge.unwrap_or_default().contains("ticket="),
        "the right request follows the probe"
    );
    env.calls("permission")
}

#[tokio::test]
async fn quirk_rs_probe_without_pat_sends_a_permission_request_without_a_token_first() {
    let quirky = permission_calls(&[Quirk::RsProbeWithoutPat]).await;
    let good = permission_calls(&[]).await;
    assert_eq!(quirky.len(), 2);
    assert_eq!(quirky[0].authorization, None);
    assert_eq!(good.len(), 1);
    assert!(good.iter().all(|c| c.authorization.as_deref() == Some("Bearer pat-1")));
}

#[tokio::test]
async fn quirk_rs_probe_scopes_string_sends_resource_scopes_as_a_string_first() {
    let quirky = permission_calls(&[Quirk::RsProbeScopesString]).await;
    let good = permission_calls(&[]).await;
    assert!(quirky[0].body["resource_scopes"].is_string(), "{:?}", quirky[0]);
    assert!(good.iter().all(|c| c.body.is_array()));
}

#[tokio::test]
async fn quirk_rs_probe_unregistered_scope_asks_for_admin_first() {
    let quirky = permission_calls(&[Quirk::RsProbeUnregisteredScope]).await;
    let good = permission_calls(&[]).await;
    assert_eq!(quirky[0].body[0]["resource_scopes"], json!(["view", "admin"]));
    assert_eq!(good.len(), 1);
    assert_eq!(good[0].body[0]["resource_scopes"], json!(["view"]));
}

#[tokio::test]
async fn quirk_rs_permission_mixes_owners_asks_for_two_owners_resources_with_one_pat_first() {
    let quirky = Env::new(&[Quirk::RsPermissionMixesOwners]).await;
    // The second owner's photo is registered with that owner's PAT.
    let sunset = quirky
        .calls("registration")
        .into_iter()
        .find(|c| c.body["name"] == "photo:sunset")
        .expect("sunset registered");
    assert_eq!(sunset.authorization.as_deref(), Some("Bearer pat-b"));
    let (status, _) = quirky.get("/photos/beach", None).await;
    assert_eq!(status, 401);
    let perms = quirky.calls("permission");
    assert_eq!(perms.len(), 2, "the mixed request, then the right one: {perms:?}");
    assert_eq!(perms[0].authorization.as_deref(), Some("Bearer pat-1"));
    assert_eq!(
        perms[0].body,
        json!([
            {"resource_id": "id-photo:beach", "resource_scopes": ["view"]},
            {"resource_id": "id-photo:sunset", "resource_scopes": ["view"]}
        ])
    );
    assert_eq!(
        perms[1].body,
        json!([{"resource_id": "id-photo:beach", "resource_scopes": ["view"]}])
    );

    // Without the quirk: one owner, one PAT, one request.
    let good = permission_calls(&[]).await;
    assert_eq!(good.len(), 1);
    assert!(good.iter().all(|c| c.authorization.as_deref() == Some("Bearer pat-1")));
}
