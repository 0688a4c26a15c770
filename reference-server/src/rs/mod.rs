//! The reference UMA 2.0 resource server: a small photo API protected through an authorization
//! server's protection API (UMA Federated Authorization) as UMA Grant §3.2–§3.5 say.
//!
//! - At start (and lazily, if that failed) it discovers the AS, gets a PAT with
//!   `client_credentials` (scope `uma_protection`) and registers its resources (FedAuthz §3).
//! - A request without an RPT, or with one that does not allow it, gets a fresh permission
//!   ticket (FedAuthz §4, one permission: the route's resource and scope) and
//!   `401 WWW-Authenticate: UMA realm="photoz", as_uri="<issuer>", ticket="<ticket>"`.
//! - A request with an RPT is served if introspection (FedAuthz §5) lists a permission in force
//!   for the route's resource and scope (see [`decide`]).
//! - If the AS cannot be reached, the answer is 403 with
//!   `Warning: 199 - "UMA Authorization Server Unreachable"`.
//!
//! [Quirks](crate::quirks) of role `Rs` break these rules one at a time.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use uma_reference_server::rs::{ResourceServer, RsConfig};
//! use uma_reference_server::types::ClientSecret;
//!
//! let config = RsConfig::new("http://127.0.0.1:8080", "demo-rs", ClientSecret::new("demo-rs-secret"));
//! let rs = ResourceServer::start(config, "127.0.0.1:0".parse()?).await?;
//! println!("photo API at {}", rs.base_url());
//! rs.shutdown().await;
//! # Ok(()) }
//! ```

mod decision;
mod owners;
mod several;
mod upstream;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub use decision::{Decision, DenyReason, decide};
pub use owners::OwnerCredentials;
pub use upstream::{AsCall, RsError};

use crate::StartError;
use crate::quirks::{Quirk, Quirks};
use crate::types::{AccessToken, ClientSecret, PermissionTicket, Rpt};
use crate::variants::{Variant, Variants};
use owners::Owner;
use upstream::{Answer, Endpoints};

/// The default realm of the challenges.
pub const DEFAULT_REALM: &str = "photoz";

/// The `User-Agent` of the RS's calls to the AS (lets a recorder tell them apart).
pub const USER_AGENT: &str = concat!("uma-reference-rs/", env!("CARGO_PKG_VERSION"));

/// The default timeout of each call to the AS.
pub const DEFAULT_AS_TIMEOUT: Duration = Duration::from_secs(5);

/// The `Warning` header value of a 403 when the AS cannot be reached (UMA Grant §3.2.2).
pub const UNREACHABLE_WARNING: &str = "199 - \"UMA Authorization Server Unreachable\"";

/// How the resource server reaches its authorization server.
#[derive(Clone, Debug)]
pub struct RsConfig {
    /// The AS issuer; discovery is at `{as_issuer}/.well-known/uma2-configuration`.
    pub as_issuer: String,
    /// The RS's client at the AS (`client_credentials` → PAT, scope `uma_protection`).
    pub client_id: String,
    /// Its secret (sent with HTTP Basic).
    pub client_secret: ClientSecret,
    /// The `realm` of the challenges.
    pub realm: String,
    /// The timeout of each call to the AS.
    pub as_timeout: Duration,
    /// The deliberate violations to commit (role `Rs`).
    pub quirks: Quirks,
    /// The conformant alternatives to take (role `Rs`; others have no effect).
    pub variants: Variants,
    /// HTTPS on its own port (`None`: plain HTTP).
    pub tls: Option<crate::tls::ServerTls>,
    /// A CA (PEM) its calls to the AS trust besides the system's roots.
    pub trust_ca_pem: Option<String>,
    /// A second resource owner's client credentials: under the variant `rs-two-owners` (and the
    /// quirk `rs-permission-mixes-owners`) the RS protects `photo:sunset` for that owner.
    pub second_owner: Option<OwnerCredentials>,
    /// How long a connection may take to send a request head (also an idle keep-alive
    /// connection's limit) before it is closed.
    pub header_read_timeout: Duration,
}

impl RsConfig {
    /// A configuration with realm `photoz`, a 5 s timeout per AS call, the
    /// [`HEADER_READ_TIMEOUT`](crate::serving::HEADER_READ_TIMEOUT) and no quirks.
    pub fn new(as_issuer: impl Into<String>, client_id: impl Into<String>, client_secret: ClientSecret) -> Self {
        Self {
            as_issuer: as_issuer.into(),
            client_id: client_id.into(),
            client_secret,
            realm: DEFAULT_REALM.to_owned(),
            as_timeout: DEFAULT_AS_TIMEOUT,
            quirks: Quirks::none(),
            variants: Variants::none(),
            tls: None,
            trust_ca_pem: None,
            second_owner: None,
            header_read_timeout: crate::serving::HEADER_READ_TIMEOUT,
        }
    }

    /// The discovery document URL (UMA Grant §2: the issuer with the well-known path appended).
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/uma2-configuration",
            self.as_issuer.trim_end_matches('/')
        )
    }
}

/// What a protected resource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Album,
    Photo,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Self::Album => "album",
            Self::Photo => "photo",
        }
    }

    /// The `type` registered at the AS.
    fn type_uri(self) -> &'static str {
        match self {
            Self::Album => "https://uma-conformance.dev/photoz/album",
            Self::Photo => "https://uma-conformance.dev/photoz/photo",
        }
    }
}

/// A resource the RS registers.
#[derive(Debug)]
struct ResourceDef {
    /// The resource name (`album:vacation`), also its registered `name`.
    key: &'static str,
    kind: Kind,
    title: &'static str,
    scopes: &'static [&'static str],
}

const PHOTO_SCOPES: &[&str] = &["view", "download", "print", "edit"];

const RESOURCES: &[ResourceDef] = &[
    ResourceDef {
        key: "album:vacation",
        kind: Kind::Album,
        title: "Vacation album",
        scopes: &["view", "edit"],
    },
    ResourceDef {
        key: "photo:beach",
        kind: Kind::Photo,
        title: "Beach at noon",
        scopes: PHOTO_SCOPES,
    },
    ResourceDef {
        key: "photo:sunset",
        kind: Kind::Photo,
        title: "Sunset over the bay",
        scopes: PHOTO_SCOPES,
    },
];

/// A route and the one scope it needs (the RS's permission-request pattern, F-RS-11).
struct RouteDef {
    method: &'static str,
    path: &'static str,
    kind: Kind,
    scope: &'static str,
}

const ROUTES: &[RouteDef] = &[
    RouteDef {
        method: "GET",
        path: "/albums/{album}",
        kind: Kind::Album,
        scope: "view",
    },
    RouteDef {
        method: "PUT",
        path: "/albums/{album}",
        kind: Kind::Album,
        scope: "edit",
    },
    RouteDef {
        method: "GET",
        path: "/photos/{photo}",
        kind: Kind::Photo,
        scope: "view",
    },
    RouteDef {
        method: "GET",
        path: "/photos/{photo}/download",
        kind: Kind::Photo,
        scope: "download",
    },
    RouteDef {
        method: "POST",
        path: "/photos/{photo}/print",
        kind: Kind::Photo,
        scope: "print",
    },
    RouteDef {
        method: "PUT",
        path: "/photos/{photo}",
        kind: Kind::Photo,
        scope: "edit",
    },
];

fn find_resource(kind: Kind, name: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.key.strip_prefix(kind.prefix()).and_then(|k| k.strip_prefix(':')) == Some(name))
}

/// The resource server's state: configuration, AS endpoints, PAT, registered resource ids.
/// Cheap to clone (an `Arc` inside).
#[derive(Clone, Debug)]
pub struct RsState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: RsConfig,
    http: reqwest::Client,
    /// Held while discovering, so concurrent requests discover once.
    endpoints: tokio::sync::Mutex<Option<Arc<Endpoints>>>,
    /// The PAT of each owner ([`Owner::index`]), held while getting one.
    pats: [tokio::sync::Mutex<Option<AccessToken>>; 2],
    /// Resource name → `_id`.
    ids: Mutex<BTreeMap<String, String>>,
    /// Held while registering, so resources are registered once.
    registering: tokio::sync::Mutex<()>,
    /// Whether the quirk `rs-malformed-description` sent its draft already.
    draft_sent: std::sync::atomic::AtomicBool,
    /// The ticket of the last tokenless request per (resource id, scope); only read under the
    /// `rs-reuses-ticket` quirk. At most one entry per resource and scope.
    last_tickets: Mutex<HashMap<(String, String), PermissionTicket>>,
}

/// The URI prefix of scopes under the variant `rs-scope-uris`.
pub const SCOPE_URI_PREFIX: &str = "https://uma-conformance.dev/photoz/scopes/";

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0)
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl RsState {
    /// Builds the state. Nothing is sent to the AS yet; AS problems surface per request.
    pub async fn new(config: RsConfig) -> Self {
        if (config.variants.contains(Variant::RsTwoOwners) || config.quirks.has(Quirk::RsPermissionMixesOwners))
            && config.second_owner.is_none()
        {
            tracing::warn!(
                "rs-two-owners and rs-permission-mixes-owners need a second owner's client (RsConfig::second_owner); without one the RS protects one owner's resources"
            );
        }
        let builder = crate::http_client::trusting(config.trust_ca_pem.as_deref())
            .user_agent(USER_AGENT)
            .timeout(config.as_timeout)
            .connect_timeout(config.as_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        let http = builder
            .build()
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "failed to build the HTTP client; using the default one (requests still carry timeouts)");
                reqwest::Client::new()
            });
        Self {
            inner: Arc::new(Inner {
                config,
                http,
                endpoints: tokio::sync::Mutex::new(None),
                pats: [tokio::sync::Mutex::new(None), tokio::sync::Mutex::new(None)],
                ids: Mutex::new(BTreeMap::new()),
                registering: tokio::sync::Mutex::new(()),
                draft_sent: std::sync::atomic::AtomicBool::new(false),
                last_tickets: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RsConfig {
        &self.inner.config
    }

    fn quirk(&self, q: Quirk) -> bool {
        self.inner.config.quirks.has(q)
    }

    fn variant(&self, v: Variant) -> bool {
        self.inner.config.variants.contains(v)
    }

    /// Discovers the AS, gets a PAT and registers every resource not registered yet
    /// (idempotent: a second call registers nothing).
    pub async fn register(&self) -> Result<(), RsError> {
        for def in RESOURCES {
            self.register_one(def).await?;
        }
        if self.quirk(Quirk::RsMalformedDescription)
            && !self.inner.draft_sent.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            let draft = json!({"name": "photo:draft", "resource_scopes": "view download"});
            let refused = self
                .protection_call(AsCall::Registration, |ep, pat| {
                    self.inner
                        .http
                        .post(&ep.resource_registration)
                        .bearer_auth(pat.secret())
                        .json(&draft)
                })
                .await;
            tracing::info!(answer = ?refused.map(|a| a.status), "the draft resource's registration");
        }
        Ok(())
    }

    /// The scope as registered and requested: the short name, or its URI under the variant
    /// `rs-scope-uris` (FedAuthz §3.1: a scope is a string or a URI).
    fn wire_scope(&self, scope: &str) -> String {
        if self.variant(Variant::RsScopeUris) {
            format!("{SCOPE_URI_PREFIX}{scope}")
        } else {
            scope.to_owned()
        }
    }

    /// Registers `def` unless it is registered already.
    async fn register_one(&self, def: &ResourceDef) -> Result<(), RsError> {
        let _guard = self.inner.registering.lock().await;
        if self.ids().contains_key(def.key) {
            return Ok(());
        }
        let scopes: Vec<String> = def.scopes.iter().map(|s| self.wire_scope(s)).collect();
        // FedAuthz §3.1: only resource_scopes is REQUIRED (variant rs-minimal-descriptions).
        let description = if self.variant(Variant::RsMinimalDescriptions) {
            json!({ "resource_scopes": scopes })
        } else {
            json!({
                "name": def.key,
                "description": def.title,
                "type": def.kind.type_uri(),
                "resource_scopes": scopes,
            })
        };
        let answer = self
            .protection_call_as(self.owner_of_key(def.key), AsCall::Registration, |ep, pat| {
                self.inner
                    .http
                    .post(&ep.resource_registration)
                    .bearer_auth(pat.secret())
                    .json(&description)
            })
            .await?;
        let id = upstream::parse_registration(&answer)?;
        tracing::info!(resource = def.key, resource_id = %id, "resource registered");
        self.lock_ids().insert(def.key.to_owned(), id);
        Ok(())
    }

    /// Resource name (`album:vacation`, `photo:beach`, `photo:sunset`) → the `_id` the AS
    /// assigned, for the resources registered so far.
    pub fn resource_ids(&self) -> BTreeMap<String, String> {
        self.ids()
    }

    fn lock_ids(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.inner.ids.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ids(&self) -> BTreeMap<String, String> {
        self.lock_ids().clone()
    }

    /// The `_id` of `def`, registering first if needed.
    async fn resource_id(&self, def: &ResourceDef) -> Result<String, RsError> {
        if let Some(id) = self.lock_ids().get(def.key) {
            return Ok(id.clone());
        }
        if self.variant(Variant::RsRegistersLazily) {
            self.register_one(def).await?;
        } else {
            self.register().await?;
        }
        self.lock_ids().get(def.key).cloned().ok_or_else(|| RsError::Malformed {
            call: AsCall::Registration,
            detail: format!("{} was not registered", def.key),
        })
    }

    async fn endpoints(&self) -> Result<Arc<Endpoints>, RsError> {
        let mut slot = self.inner.endpoints.lock().await;
        if let Some(ep) = slot.as_ref() {
            return Ok(ep.clone());
        }
        let url = self.inner.config.discovery_url();
        let answer = upstream::send(
            AsCall::Discovery,
            self.inner.http.get(&url).timeout(self.inner.config.as_timeout),
        )
        .await?;
        let ep = Arc::new(upstream::parse_discovery(&url, &answer)?);
        if ep.issuer.trim_end_matches('/') != self.inner.config.as_issuer.trim_end_matches('/') {
            tracing::warn!(configured = %self.inner.config.as_issuer, discovered = %ep.issuer,
                "the discovered issuer differs from the configured one; challenges name the discovered one");
        }
        *slot = Some(ep.clone());
        Ok(ep)
    }

    /// The current PAT of `owner`, getting one with `client_credentials` if there is none.
    async fn pat(&self, ep: &Endpoints, owner: Owner) -> Result<AccessToken, RsError> {
        let mut slot = self.inner.pats[owner.index()].lock().await;
        if let Some(pat) = slot.as_ref() {
            return Ok(pat.clone());
        }
        let (client_id, secret) = self.credentials(owner);
        let req = self
            .inner
            .http
            .post(&ep.token)
            .timeout(self.inner.config.as_timeout)
            .basic_auth(form_encode(client_id), Some(form_encode(secret.secret())))
            .form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")]);
        let pat = upstream::parse_pat(&upstream::send(AsCall::Pat, req).await?)?;
        tracing::info!(client_id = %client_id, "obtained a PAT");
        *slot = Some(pat.clone());
        Ok(pat)
    }

    /// Forgets `used` if it is still `owner`'s current PAT.
    async fn drop_pat(&self, used: &AccessToken, owner: Owner) {
        let mut slot = self.inner.pats[owner.index()].lock().await;
        if slot.as_ref() == Some(used) {
            *slot = None;
        }
    }

    /// A protection API call with the PAT of the RS's own client's owner.
    async fn protection_call(
        &self,
        call: AsCall,
        build: impl Fn(&Endpoints, &AccessToken) -> reqwest::RequestBuilder,
    ) -> Result<Answer, RsError> {
        self.protection_call_as(Owner::First, call, build).await
    }

    /// A protection API call with `owner`'s PAT; on 401, a new PAT and one retry.
    async fn protection_call_as(
        &self,
        owner: Owner,
        call: AsCall,
        build: impl Fn(&Endpoints, &AccessToken) -> reqwest::RequestBuilder,
    ) -> Result<Answer, RsError> {
        let ep = self.endpoints().await?;
        let timeout = self.inner.config.as_timeout;
        let pat = self.pat(&ep, owner).await?;
        let answer = upstream::send(call, build(&ep, &pat).timeout(timeout)).await?;
        if answer.status != StatusCode::UNAUTHORIZED {
            return Ok(answer);
        }
        tracing::info!(call = %call, "the PAT was refused; getting a new one and retrying once");
        self.drop_pat(&pat, owner).await;
        let pat = self.pat(&ep, owner).await?;
        upstream::send(call, build(&ep, &pat).timeout(timeout)).await
    }

    /// A new permission ticket for one resource and scope (FedAuthz §4.1, array form, P-26).
    async fn request_ticket(&self, resource_id: &str, scope: &str) -> Result<PermissionTicket, RsError> {
        self.probe_permission(resource_id, scope).await;
        let permission = json!({"resource_id": resource_id, "resource_scopes": [self.wire_scope(scope)]});
        // Variant rs-permission-object: the single-object form (FedAuthz §4.1, digest P-26).
        let body = if self.variant(Variant::RsPermissionObject) {
            permission
        } else {
            json!([permission])
        };
        let owner = self.owner_of_id(resource_id);
        let answer = self
            .protection_call_as(owner, AsCall::Permission, |ep, pat| {
                self.inner
                    .http
                    .post(&ep.permission)
                    .bearer_auth(pat.secret())
                    .json(&body)
            })
            .await?;
        self.renew_pat_after_request(owner).await;
        upstream::parse_ticket(&answer)
    }

    /// The quirks that send a faulty permission request first, whose answer the RS ignores
    /// before it sends the right one.
    async fn probe_permission(&self, resource_id: &str, scope: &str) {
        let scope = self.wire_scope(scope);
        self.probe_mixed_owners(resource_id, &scope).await;
        if self.quirk(Quirk::RsProbeWithoutPat)
            && let Ok(ep) = self.endpoints().await
        {
            let body = json!([{"resource_id": resource_id, "resource_scopes": [scope]}]);
            let _ = upstream::send(AsCall::Permission, self.inner.http.post(&ep.permission).json(&body)).await;
        }
        let bodies = [
            (
                Quirk::RsProbeScopesString,
                json!({"resource_id": resource_id, "resource_scopes": scope}),
            ),
            (
                Quirk::RsProbeUnregisteredScope,
                json!([{"resource_id": resource_id, "resource_scopes": [scope, "admin"]}]),
            ),
        ];
        let owner = self.owner_of_id(resource_id);
        for (_, body) in bodies.iter().filter(|(q, _)| self.quirk(*q)) {
            let _ = self
                .protection_call_as(owner, AsCall::Permission, |ep, pat| {
                    self.inner
                        .http
                        .post(&ep.permission)
                        .bearer_auth(pat.secret())
                        .json(body)
                })
                .await;
        }
    }

    /// Introspects `rpt` (FedAuthz §5.1) with the PAT of the owner of the resource it is
    /// presented for.
    async fn introspect(&self, rpt: &Rpt, owner: Owner) -> Result<Value, RsError> {
        let hint = if self.quirk(Quirk::RsIntrospectionHint) {
            "requesting_party_token"
        } else {
            "access_token"
        };
        // FedAuthz §5.1: the hint is OPTIONAL (variant rs-introspection-without-hint).
        let mut form = vec![("token", rpt.secret())];
        if !self.variant(Variant::RsIntrospectionWithoutHint) {
            form.push(("token_type_hint", hint));
        }
        let answer = self
            .protection_call_as(owner, AsCall::Introspection, |ep, pat| {
                self.inner
                    .http
                    .post(&ep.introspection)
                    .bearer_auth(pat.secret())
                    .form(&form)
            })
            .await?;
        upstream::parse_introspection(&answer)
    }

    fn remember_ticket(&self, resource_id: &str, scope: &str, ticket: &PermissionTicket) {
        self.inner
            .last_tickets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((resource_id.to_owned(), scope.to_owned()), ticket.clone());
    }

    fn last_ticket(&self, resource_id: &str, scope: &str) -> Option<PermissionTicket> {
        self.inner
            .last_tickets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(resource_id.to_owned(), scope.to_owned()))
            .cloned()
    }
}

/// The photo API: `GET /` (an unprotected index of the routes and their scopes) and the
/// protected routes.
pub fn app(state: RsState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/albums/{album}", get(album_view).put(album_edit))
        .route("/albums/{album}/photos", get(several::album_photos))
        .route("/photos/{photo}", get(photo_view).put(photo_edit))
        .route("/photos/{photo}/download", get(photo_download))
        .route("/photos/{photo}/print", post(photo_print))
        // Request targets and header sections over the limits: OAuth JSON 414 and 431.
        .layer(axum::middleware::from_fn(crate::http::limits::guard))
        .with_state(state)
}

/// Whether a route is protected: every route, except album views under the variant
/// `rs-public-albums` (FedAuthz §3: the RS may protect any subset of its resources).
fn is_protected(state: &RsState, kind: Kind, scope: &str) -> bool {
    !(kind == Kind::Album && scope == "view" && state.variant(Variant::RsPublicAlbums))
}

async fn index(State(state): State<RsState>) -> Response {
    let mut routes = Vec::new();
    for r in ROUTES {
        for def in RESOURCES.iter().filter(|d| d.kind == r.kind) {
            let name = def.key.split_once(':').map_or(def.key, |(_, n)| n);
            let path = r.path.replace("{album}", name).replace("{photo}", name);
            let mut route = json!({
                "method": r.method,
                "path": path,
                "resource": def.key,
                "scope": state.wire_scope(r.scope),
            });
            if !is_protected(&state, r.kind, r.scope) {
                route["protected"] = json!(false);
            }
            routes.push(route);
        }
    }
    let config = state.config();
    let mut methods = vec!["Authorization: Bearer header"];
    if !state.variant(Variant::RsBearerHeaderOnly) {
        methods.push("access_token query parameter");
    }
    if state.variant(Variant::RsFormBodyToken) {
        methods.push("access_token form body parameter (PUT and POST)");
    }
    let mut index = json!({
        "realm": config.realm,
        "as_issuer": config.as_issuer,
        "permission_request_pattern": "a tokenless or insufficient request gets a ticket for one permission: the resource the route names, with the one scope the route needs",
        "token_methods": methods,
        "resources": RESOURCES.iter().map(|d| json!({
            "resource": d.key,
            "type": d.kind.type_uri(),
            "resource_scopes": d.scopes.iter().map(|s| state.wire_scope(s)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "routes": routes,
    });
    if !config.variants.is_empty() {
        index["variants"] = json!(config.variants.iter().map(Variant::name).collect::<Vec<_>>());
    }
    axum::Json(index).into_response()
}

/// What a protected route reads from the request.
#[derive(Clone, Copy)]
struct Incoming<'a> {
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    /// The body, for routes whose method has one (PUT, POST).
    body: Option<&'a [u8]>,
}

async fn album_view(state: State<RsState>, Path(album): Path<String>, headers: HeaderMap, q: RawQuery) -> Response {
    let req = Incoming {
        headers: &headers,
        query: q.0.as_deref(),
        body: None,
    };
    protected(&state, Kind::Album, &album, "view", req).await
}

async fn album_edit(
    state: State<RsState>,
    Path(album): Path<String>,
    headers: HeaderMap,
    q: RawQuery,
    body: Bytes,
) -> Response {
    let req = Incoming {
        headers: &headers,
        query: q.0.as_deref(),
        body: Some(&body),
    };
    protected(&state, Kind::Album, &album, "edit", req).await
}

async fn photo_view(state: State<RsState>, Path(photo): Path<String>, headers: HeaderMap, q: RawQuery) -> Response {
    let req = Incoming {
        headers: &headers,
        query: q.0.as_deref(),
        body: None,
    };
    protected(&state, Kind::Photo, &photo, "view", req).await
}

async fn photo_edit(
    state: State<RsState>,
    Path(photo): Path<String>,
    headers: HeaderMap,
    q: RawQuery,
    body: Bytes,
) -> Response {
    let req = Incoming {
        headers: &headers,
        query: q.0.as_deref(),
        body: Some(&body),
    };
    protected(&state, Kind::Photo, &photo, "edit", req).await
}

async fn photo_download(state: State<RsState>, Path(photo): Path<String>, headers: HeaderMap, q: RawQuery) -> Response {
    let req = Incoming {
        headers: &headers,
        query: q.0.as_deref(),
        body: None,
    };
    protected(&state, Kind::Photo, &photo, "download", req).await
}

async fn photo_print(
    state: State<RsState>,
    Path(photo): Path<String>,
    headers: HeaderMap,
    q: RawQuery,
    body: Bytes,
) -> Response {
    let req = Incoming {
        headers: &headers,
        query: q.0.as_deref(),
        body: Some(&body),
    };
    protected(&state, Kind::Photo, &photo, "print", req).await
}

/// The UMA protection of every route.
async fn protected(state: &RsState, kind: Kind, name: &str, scope: &str, req: Incoming<'_>) -> Response {
    let Some(def) = find_resource(kind, name) else {
        return error_response(StatusCode::NOT_FOUND, "not_found", "no such resource");
    };
    if !is_protected(state, kind, scope) {
        return content(def, scope);
    }
    let token = match extract_token(req, &state.inner.config.quirks, &state.inner.config.variants) {
        Ok(t) => t,
        Err(why) => return invalid_request(state, why),
    };
    let resource_id = match state.resource_id(def).await {
        Ok(id) => id,
        Err(e) => return unreachable(state, &e),
    };
    let Some(rpt) = token else {
        return challenge(state, &resource_id, scope, None).await;
    };
    let introspection = match state.introspect(&rpt, state.owner_of_key(def.key)).await {
        Ok(v) => v,
        Err(e) => return unreachable(state, &e),
    };
    match decide(
        &introspection,
        &resource_id,
        &state.wire_scope(scope),
        now_secs(),
        &state.inner.config.quirks,
    ) {
        Decision::Allow if scope == "download" && state.variant(Variant::RsRefusesDownloads) => {
            // UMA FedAuthz §1.4: the RS may refuse even with a sufficient RPT, by its own rules.
            tracing::info!(
                resource = def.key,
                scope,
                "refused by the resource server's own control"
            );
            error_response(
                StatusCode::FORBIDDEN,
                "forbidden",
                "downloads are disabled on this resource server",
            )
        }
        Decision::Allow => {
            tracing::info!(resource = def.key, scope, "served with an RPT");
            content(def, scope)
        }
        Decision::Deny(reason) => {
            tracing::info!(
                resource = def.key,
                scope,
                reason = reason.as_str(),
                "the RPT does not allow the request"
            );
            if state.quirk(Quirk::RsBearerErrorOnInvalidRpt) {
                let realm = quote(&state.inner.config.realm);
                return with_challenge(
                    StatusCode::UNAUTHORIZED,
                    &[format!("Bearer realm=\"{realm}\", error=\"invalid_token\"")],
                    json!({"error": "invalid_token"}),
                );
            }
            if state.quirk(Quirk::RsReusesTicket)
                && let Some(ticket) = state.last_ticket(&resource_id, scope)
            {
                return match state.endpoints().await {
                    Ok(ep) => uma_challenge(state, &ep, Some(&ticket), Some(reason)),
                    Err(e) => unreachable(state, &e),
                };
            }
            challenge(state, &resource_id, scope, Some(reason)).await
        }
    }
}

/// Why a request's token is unusable (RFC 6750 `invalid_request`).
type TokenError = &'static str;

/// The RPT of a request: the `Authorization: Bearer` header (RFC 6750 §2.1) or the
/// `access_token` query parameter (§2.3; not under the variant `rs-bearer-header-only`), or,
/// under the variant `rs-form-body-token`, the `access_token` of a form-encoded body (§2.2).
/// Two methods at once, a repeated or empty token: `invalid_request` (§2, §3.1). Another auth
/// scheme counts as no token.
fn extract_token(req: Incoming<'_>, quirks: &Quirks, variants: &Variants) -> Result<Option<Rpt>, TokenError> {
    let headers = req.headers;
    let mut from_header = None;
    if !quirks.has(Quirk::RsIgnoresBearerHeader) {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        if let Some(v) = values.next() {
            if values.next().is_some() {
                return Err("more than one Authorization header");
            }
            let v = v
                .to_str()
                .map_err(|_| "the Authorization header is not visible ASCII")?;
            let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v.trim(), ""));
            if scheme.eq_ignore_ascii_case("bearer") {
                let token = rest.trim();
                if token.is_empty() {
                    return Err("the Bearer credentials are empty");
                }
                if token.contains(char::is_whitespace) {
                    return Err("the Bearer credentials are malformed");
                }
                from_header = Some(Rpt::new(token));
            }
        }
    }
    let query = if variants.contains(Variant::RsBearerHeaderOnly) {
        None
    } else {
        req.query
    };
    let from_query = access_token_param(query.unwrap_or("").as_bytes(), "parameter")?;
    let form_body = req
        .body
        .filter(|_| variants.contains(Variant::RsFormBodyToken))
        .filter(|_| {
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|ct| ct.split(';').next())
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        });
    let from_body = access_token_param(form_body.unwrap_or_default(), "body parameter")?;
    match [from_header, from_query, from_body]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err("the access token was sent by more than one method (RFC 6750 section 2)"),
    }
}

/// The `access_token` of form-encoded `pairs` (a query or a body); repeated or empty is an
/// `invalid_request`.
fn access_token_param(pairs: &[u8], what: &'static str) -> Result<Option<Rpt>, TokenError> {
    let mut found = None;
    for (k, v) in url::form_urlencoded::parse(pairs) {
        if k == "access_token" {
            if found.is_some() {
                return Err(if what == "parameter" {
                    "the access_token parameter is repeated"
                } else {
                    "the access_token body parameter is repeated"
                });
            }
            if v.is_empty() {
                return Err(if what == "parameter" {
                    "the access_token parameter is empty"
                } else {
                    "the access_token body parameter is empty"
                });
            }
            found = Some(Rpt::new(v.into_owned()));
        }
    }
    Ok(found)
}

/// A new ticket and the UMA challenge (UMA Grant §3.2.1), or 403 if no ticket can be had.
/// `failed` is why an RPT did not do (`None`: no token was sent).
async fn challenge(state: &RsState, resource_id: &str, scope: &str, failed: Option<DenyReason>) -> Response {
    let ep = match state.endpoints().await {
        Ok(ep) => ep,
        Err(e) => return unreachable(state, &e),
    };
    if state.quirk(Quirk::RsNoTicket) {
        return uma_challenge(state, &ep, None, failed);
    }
    match state.request_ticket(resource_id, scope).await {
        Ok(ticket) => {
            if failed.is_none() {
                state.remember_ticket(resource_id, scope, &ticket);
            }
            uma_challenge(state, &ep, Some(&ticket), failed)
        }
        Err(e) => unreachable(state, &e),
    }
}

/// Escapes a quoted-string's content (RFC 9110 §5.6.4).
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// An auth-param value: a quoted-string, or under `bare` a token when the value is one (RFC
/// 9110 §11.2: `token / quoted-string`).
fn param_value(value: &str, bare: bool) -> String {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if bare && !value.is_empty() && value.chars().all(tchar) {
        value.to_owned()
    } else {
        format!("\"{}\"", quote(value))
    }
}

/// The UMA challenge (UMA Grant §3.2.1), shaped by the variants: without `realm`, compact
/// syntax, a lower-case scheme, status 403, a Bearer challenge alongside (digest P-04, P-05,
/// P-28).
fn uma_challenge(
    state: &RsState,
    ep: &Endpoints,
    ticket: Option<&PermissionTicket>,
    failed: Option<DenyReason>,
) -> Response {
    let scheme = if state.quirk(Quirk::RsBearerScheme) {
        "Bearer"
    } else if state.variant(Variant::RsChallengeSchemeLowercase) {
        "uma"
    } else {
        "UMA"
    };
    let as_uri = if state.quirk(Quirk::RsWrongAsUri) {
        &ep.discovery_url
    } else {
        &ep.issuer
    };
    let realm = &state.inner.config.realm;
    let with_realm = !state.variant(Variant::RsChallengeWithoutRealm);
    let value = if state.variant(Variant::RsChallengeCompact) {
        let mut params = Vec::new();
        if let Some(t) = ticket {
            params.push(format!("ticket={}", param_value(t.secret(), true)));
        }
        params.push(format!("as_uri={}", param_value(as_uri, false)));
        if with_realm {
            params.push(format!("realm={}", param_value(realm, true)));
        }
        format!("{scheme} {}", params.join(","))
    } else {
        let mut params = Vec::new();
        if with_realm {
            params.push(format!("realm=\"{}\"", quote(realm)));
        }
        params.push(format!("as_uri=\"{}\"", quote(as_uri)));
        if let Some(t) = ticket {
            params.push(format!("ticket=\"{}\"", quote(t.secret())));
        }
        format!("{scheme} {}", params.join(", "))
    };
    let mut status = if state.variant(Variant::RsChallenge403) {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::UNAUTHORIZED
    };
    let mut challenges = vec![value];
    if state.variant(Variant::RsBearerChallengeAlongside) {
        // RFC 6750 §3: no error code for a request without a token; invalid_token (401) for an
        // unusable one; insufficient_scope (403) for one that lacks the permission.
        let bearer = format!("Bearer realm=\"{}\"", quote(realm));
        challenges.push(match failed {
            None => bearer,
            Some(DenyReason::NotAnObject | DenyReason::Inactive | DenyReason::MalformedTime) => {
                format!("{bearer}, error=\"invalid_token\"")
            }
            Some(_) => {
                status = StatusCode::FORBIDDEN;
                format!("{bearer}, error=\"insufficient_scope\"")
            }
        });
    }
    with_challenge(
        status,
        &challenges,
        json!({"message": "this resource is protected by UMA: obtain an RPT from the authorization server named by as_uri, with the ticket of this challenge"}),
    )
}

fn with_challenge(status: StatusCode, challenges: &[String], body: Value) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    for challenge in challenges {
        match HeaderValue::from_str(challenge) {
            Ok(v) => {
                resp.headers_mut().append(header::WWW_AUTHENTICATE, v);
            }
            Err(_) => {
                tracing::error!("the challenge is not a valid header value (check the realm and the AS issuer)");
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the challenge could not be built",
                );
            }
        }
    }
    resp
}

fn invalid_request(state: &RsState, why: TokenError) -> Response {
    let realm = quote(&state.inner.config.realm);
    let challenge = format!("Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"{why}\"");
    with_challenge(
        StatusCode::BAD_REQUEST,
        &[challenge],
        json!({"error": "invalid_request", "error_description": why}),
    )
}

/// 403 with the UMA Grant §3.2.2 `Warning` and no UMA challenge.
fn unreachable(state: &RsState, err: &RsError) -> Response {
    tracing::warn!(error = %err, call = %err.call(), "no answer from the authorization server; refusing with 403");
    // UMA Grant §3.2.2: 403 in the example; another status under the variant rs-unreachable-503.
    let status = if state.variant(Variant::RsUnreachable503) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::FORBIDDEN
    };
    let mut resp = error_response(
        status,
        "authorization_server_unreachable",
        &format!("the resource server could not get a permission ticket or a token decision: {err}"),
    );
    if !state.quirk(Quirk::RsNoWarning) {
        resp.headers_mut().insert(
            HeaderName::from_static("warning"),
            HeaderValue::from_static(UNREACHABLE_WARNING),
        );
    }
    resp
}

fn error_response(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The representation served once access is allowed.
fn content(def: &ResourceDef, scope: &str) -> Response {
    let name = def.key.split_once(':').map_or(def.key, |(_, n)| n);
    let detail = match (def.kind, scope) {
        (Kind::Album, "view") => json!({"title": def.title, "photos": RESOURCES.iter()
            .filter(|d| d.kind == Kind::Photo)
            .map(|d| d.key.split_once(':').map_or(d.key, |(_, n)| n))
            .collect::<Vec<_>>()}),
        (_, "view") => json!({"title": def.title, "width": 4032, "height": 3024}),
        (_, "download") => json!({"filename": format!("{name}.jpg"), "content_type": "image/jpeg", "bytes": 2_481_152}),
        (_, "print") => json!({"print_job": format!("print-{name}"), "status": "queued"}),
        _ => json!({"updated": true}),
    };
    let mut body = json!({"resource": def.key, "scope": scope});
    if let (Some(b), Value::Object(d)) = (body.as_object_mut(), detail) {
        b.extend(d);
    }
    axum::Json(body).into_response()
}

/// A running reference resource server.
#[derive(Debug)]
pub struct ResourceServer {
    state: RsState,
    local: SocketAddr,
    serving: crate::serving::Serving,
}

impl ResourceServer {
    /// Binds `addr` (port 0: any free port), tries [`RsState::register`] once (a failure is
    /// logged; registration is retried on the first protected request) and serves [`app`].
    pub async fn start(config: RsConfig, addr: SocketAddr) -> Result<ResourceServer, StartError> {
        let (listener, local) = crate::serving::bind(addr).await?;
        let state = RsState::new(config).await;
        if state.variant(Variant::RsRegistersLazily) {
            // FedAuthz §3: the RS decides when to register; here, on first use.
            tracing::info!("resources are registered on first use");
        } else {
            match state.register().await {
                Ok(()) => tracing::info!(resources = RESOURCES.len(), "resources registered"),
                Err(e) => {
                    tracing::warn!(error = %e, "registration failed; it is retried on the first protected request")
                }
            }
        }
        let tls = state.config().tls.as_ref().map(crate::serving::Tls::new);
        let serving = crate::serving::Serving::spawn_secured(
            listener,
            app(state.clone()),
            "resource server",
            state.config().header_read_timeout,
            tls,
        );
        Ok(ResourceServer { state, local, serving })
    }

    /// `http://127.0.0.1:PORT` (`https://` when served over TLS).
    pub fn base_url(&self) -> String {
        let scheme = if self.state.config().tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.local)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The state (resource ids, configuration).
    pub fn state(&self) -> &RsState {
        &self.state
    }

    /// Stops accepting connections and finishes in-flight requests (within
    /// [`SHUTDOWN_GRACE`](crate::SHUTDOWN_GRACE)).
    pub async fn shutdown(self) {
        self.serving.stop(crate::SHUTDOWN_GRACE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for a in auth {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    fn incoming<'a>(h: &'a HeaderMap, query: Option<&'a str>, body: Option<&'a [u8]>) -> Incoming<'a> {
        Incoming {
            headers: h,
            query,
            body,
        }
    }

    fn token(auth: &[&str], query: Option<&str>) -> Result<Option<String>, TokenError> {
        extract_token(
            incoming(&headers(auth), query, None),
            &Quirks::none(),
            &Variants::none(),
        )
        .map(|t| t.map(|t| t.secret().to_owned()))
    }

    #[test]
    fn the_token_comes_from_the_bearer_header_or_the_query() {
        assert_eq!(token(&["Bearer abc"], None), Ok(Some("abc".into())));
        assert_eq!(token(&["bearer  abc "], None), Ok(Some("abc".into())));
        assert_eq!(token(&[], Some("access_token=a%2Bb&x=1")), Ok(Some("a+b".into())));
        assert_eq!(token(&[], Some("x=1")), Ok(None));
        assert_eq!(token(&[], None), Ok(None));
        assert_eq!(token(&["Basic Zm9vOmJhcg=="], None), Ok(None));
    }

    #[test]
    fn two_methods_or_malformed_tokens_are_invalid_requests() {
        assert!(token(&["Bearer abc"], Some("access_token=abc")).is_err());
        assert!(token(&["Bearer a", "Bearer b"], None).is_err());
        assert!(token(&["Bearer"], None).is_err());
        assert!(token(&["Bearer a b"], None).is_err());
        assert!(token(&[], Some("access_token=a&access_token=b")).is_err());
        assert!(token(&[], Some("access_token=")).is_err());
    }

    #[test]
    fn rs_ignores_bearer_header_reads_only_the_query() {
        let q: Quirks = [Quirk::RsIgnoresBearerHeader].into_iter().collect();
        let h = headers(&["Bearer abc"]);
        let t = extract_token(incoming(&h, None, None), &q, &Variants::none()).unwrap();
        assert!(t.is_none());
        let t = extract_token(incoming(&h, Some("access_token=q"), None), &q, &Variants::none()).unwrap();
        assert_eq!(t.map(|t| t.secret().to_owned()), Some("q".into()));
    }

    #[test]
    fn variant_header_only_ignores_the_query_and_form_body_reads_a_form() {
        let only: Variants = [Variant::RsBearerHeaderOnly].into_iter().collect();
        let none = HeaderMap::new();
        let t = extract_token(incoming(&none, Some("access_token=q"), None), &Quirks::none(), &only).unwrap();
        assert!(t.is_none());
        let body: Variants = [Variant::RsFormBodyToken].into_iter().collect();
        let mut form = HeaderMap::new();
        form.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let t = extract_token(incoming(&form, None, Some(b"access_token=b")), &Quirks::none(), &body).unwrap();
        assert_eq!(t.map(|t| t.secret().to_owned()), Some("b".into()));
        let t = extract_token(
            incoming(&form, None, Some(b"access_token=b")),
            &Quirks::none(),
            &Variants::none(),
        )
        .unwrap();
        assert!(t.is_none(), "the body method is off by default");
        let json = HeaderMap::new();
        let t = extract_token(incoming(&json, None, Some(b"access_token=b")), &Quirks::none(), &body).unwrap();
        assert!(t.is_none(), "only a form-encoded body (RFC 6750 §2.2)");
        assert!(
            extract_token(
                incoming(&form, Some("access_token=q"), Some(b"access_token=b")),
                &Quirks::none(),
                &body
            )
            .is_err()
        );
    }

    #[test]
    fn a_compact_challenge_value_is_a_token_when_it_can_be() {
        assert_eq!(param_value("abc-1.2_3", true), "abc-1.2_3");
        assert_eq!(param_value("http://x/y", true), "\"http://x/y\"");
        assert_eq!(param_value("abc", false), "\"abc\"");
    }

    #[test]
    fn resources_are_found_by_kind_and_name() {
        assert_eq!(
            find_resource(Kind::Album, "vacation").map(|d| d.key),
            Some("album:vacation")
        );
        assert_eq!(find_resource(Kind::Photo, "beach").map(|d| d.key), Some("photo:beach"));
        assert!(find_resource(Kind::Photo, "vacation").is_none());
        assert!(find_resource(Kind::Album, "album:vacation").is_none());
        assert!(find_resource(Kind::Photo, "").is_none());
    }

    #[test]
    fn every_route_scope_is_registered_for_its_resources() {
        for r in ROUTES {
            for d in RESOURCES.iter().filter(|d| d.kind == r.kind) {
                assert!(d.scopes.contains(&r.scope), "{} {} on {}", r.method, r.path, d.key);
            }
        }
    }

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes() {
        assert_eq!(quote(r#"a"b\c"#), r#"a\"b\\c"#);
    }

    #[test]
    fn debug_output_of_the_configuration_shows_no_secret() {
        let c = RsConfig::new("http://127.0.0.1:1", "rs", ClientSecret::new("s3cr3t-value"));
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
    }
}
