//! The reference UMA 2.0 client: a web-style client that a browser (in the conformance suite,
//! the harness) drives through two URLs, with [quirks](crate::quirks) of role `Client`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use uma_reference_server::client::{ClientConfig, ReferenceClient};
//! use uma_reference_server::types::ClientSecret;
//!
//! let config = ClientConfig::new("demo-client", ClientSecret::new("demo-client-secret"));
//! let client = ReferenceClient::start(config, "127.0.0.1:0".parse()?).await?;
//! println!("register {} as a claims redirection URI", client.claims_redirect_uri());
//! client.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # HTTP contract
//!
//! A session cookie `uma_client_session` (HttpOnly, SameSite=Lax) identifies the browser; any
//! answer sets it if the request came without one.
//!
//! `GET /start?resource=<absolute URL>&user=<requesting party>[&id_token=<JWT>]` asks the client
//! to fetch `resource` for the requesting party `user`. It runs the UMA flow and answers with:
//!
//! - `200` `{"outcome":"granted","status":<RS status>,"body":<RS body: JSON, else text>}`;
//! - `302` to the AS's claims interaction endpoint (interactive claims gathering);
//! - an error `{"outcome":…,"reason":"…"}`: `denied` (403: `request_denied`, a claims error
//!   redirect, need_info the client cannot satisfy), `pending` (409: `request_submitted` still
//!   unanswered after `max_polls` polls), `unreachable` (503: the RS said its AS is unreachable,
//!   or a server could not be reached), `error` (502: a protocol violation by the RS or AS, e.g.
//!   a ticket that was not rotated; 400: a bad browser request or callback, e.g. an unknown
//!   `state`).
//!
//! No answer ever carries an RPT, PCT, ticket or secret (G-C-40/41).
//!
//! `GET /callback?ticket=…&state=…[&iss=…]` (or `?error=…&state=…`) is the claims redirection
//! URI: it continues the pending flow of this browser and answers like `/start`.
//!
//! # The flow
//!
//! 1. The client keeps, per requesting party and AS issuer, RPTs with the resource URLs each is
//!    known to cover. A covering RPT is presented (`Authorization: Bearer`, nothing else,
//!    G-C-42); otherwise the request carries no token (G-C-01).
//! 2. A `401` (or `403`, digest P-04) with a `UMA` challenge gives `as_uri` and `ticket` (G-C-02,
//!    parsed tolerantly, beside any other challenge).
//!    Any answer without a UMA challenge (e.g. `403` with `Warning: 199`) ends the flow: the
//!    client never guesses an AS (G-C-03).
//! 3. `as_uri` must be a loopback http(s) URL, in `trusted_issuers` when that is set; the
//!    client fetches `{as_uri}/.well-known/uma2-configuration` (G-C-04) and requires its
//!    `issuer` to equal `as_uri` (ISS-05).
//! 4. Token requests (`client_secret_basic`) carry the UMA grant type, the newest ticket, the
//!    newest RPT this user holds at the AS (upgrade), this user's PCT, and a pushed ID token
//!    with its format when pushing; never `scope` (G-C-10…16).
//! 5. A new RPT replaces the old one only when `upgraded` is true (G-C-20/21).
//! 6. Every ticket received must differ from the one sent (G-C-22).
//! 7. `need_info`: push the `id_token` given at `/start` once; else, with `redirect_user`,
//!    redirect the browser to the claims interaction endpoint with `client_id`, `ticket`,
//!    `claims_redirect_uri`, a 256-bit random `state` and (with `pkce`) an S256
//!    `code_challenge`; the pending flow is bound to the browser session and usable once.
//! 8. The callback checks `state` in this session, `iss` when the AS advertises
//!    `authorization_response_iss_parameter_supported`, then redeems the returned ticket with
//!    the `code_verifier`. Unknown parameters are ignored (G-C-39).
//! 9. `request_submitted`: at most `max_polls` polls, at least `interval` seconds apart (G-C-23).

pub mod challenge;
pub mod cli;
mod flow;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::quirks::{Quirk, Quirks};
use crate::types::ClientSecret;
use crate::variants::{Variant, Variants};

pub use flow::Outcome;

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "uma_client_session";
/// The UMA grant type (UMA Grant §3.3.1).
pub const UMA_TICKET_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
/// The claim token format of an OpenID Connect ID token.
pub const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

/// How the reference client is set up.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The client's `client_id` at the AS.
    pub client_id: String,
    /// Its secret, sent with `client_secret_basic`.
    pub client_secret: ClientSecret,
    /// `None`: any loopback `as_uri` is acceptable; `Some`: only these issuers (ISS-05).
    pub trusted_issuers: Option<Vec<String>>,
    /// Use the ICG+PKCE profile (S256) on claims redirects (default true).
    pub pkce: bool,
    /// `request_submitted` polls per flow (default 3).
    pub max_polls: u32,
    /// Timeout of every outgoing HTTP call (default 5 s).
    pub http_timeout: Duration,
    /// Deliberate violations to commit (only role `Client` quirks have an effect).
    pub quirks: Quirks,
    /// Conformant alternatives to take (only role `Client` variants have an effect).
    pub variants: Variants,
    /// HTTPS on its own port (`None`: plain HTTP).
    pub tls: Option<crate::tls::ServerTls>,
    /// A CA (PEM) its calls to the AS and the RS trust besides the system's roots.
    pub trust_ca_pem: Option<String>,
    /// How long a connection may take to send a request head (also an idle keep-alive
    /// connection's limit) before it is closed.
    pub header_read_timeout: Duration,
}

impl ClientConfig {
    /// A conformant client with the defaults.
    pub fn new(client_id: impl Into<String>, client_secret: ClientSecret) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            trusted_issuers: None,
            pkce: true,
            max_polls: 3,
            http_timeout: Duration::from_secs(5),
            quirks: Quirks::none(),
            variants: Variants::none(),
            tls: None,
            trust_ca_pem: None,
            header_read_timeout: crate::serving::HEADER_READ_TIMEOUT,
        }
    }

    fn quirk(&self, q: Quirk) -> bool {
        self.quirks.has(q)
    }

    fn variant(&self, v: Variant) -> bool {
        self.variants.contains(v)
    }
}

/// The client's state: configuration, browser sessions, pending claims flows, the RPT wallet
/// and PCTs. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct ClientState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ClientConfig,
    base_url: String,
    http: reqwest::Client,
    data: Mutex<flow::Data>,
}

impl ClientState {
    /// A fresh state for a client reachable at `base_url` (`http://127.0.0.1:PORT`, no
    /// trailing slash).
    pub fn new(config: ClientConfig, base_url: String) -> Self {
        let builder = crate::http_client::trusting(config.trust_ca_pem.as_deref())
            .user_agent(concat!("uma-reference-client/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(config.http_timeout);
        let http = builder
            .build()
            // Every request also sets its own timeout, so the fallback loses nothing essential.
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                config,
                base_url: base_url.trim_end_matches('/').to_owned(),
                http,
                data: Mutex::new(flow::Data::default()),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The claims redirection URI the client sends (and the AS should have registered).
    pub fn claims_redirect_uri(&self) -> String {
        if self.inner.config.quirk(Quirk::ClientUnregisteredClaimsRedirect) {
            format!("{}/callback-unregistered", self.inner.base_url)
        } else {
            registered_callback(&self.inner.config, &self.inner.base_url)
        }
    }
}

/// The claims redirection URI to register at the AS: `{base}/callback`, or under the variant
/// `client-callback-with-query` one with a query of its own (UMA Grant §3.3.2: the AS keeps it).
fn registered_callback(config: &ClientConfig, base: &str) -> String {
    if config.variant(Variant::ClientCallbackWithQuery) {
        format!("{base}/callback?via=uma")
    } else {
        format!("{base}/callback")
    }
}

/// The client's router: `/start`, `/callback` (and `/callback-unregistered`).
pub fn app(state: ClientState) -> Router {
    Router::new()
        .route("/start", get(start))
        .route("/callback", get(callback))
        .route("/callback-unregistered", get(callback))
        // Request targets and header sections over the limits: OAuth JSON 414 and 431.
        .layer(axum::middleware::from_fn(crate::http::limits::guard))
        .with_state(state)
}

/// The browser session named by the cookie, or a new one to set.
fn session(headers: &HeaderMap) -> (String, bool) {
    let existing = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == SESSION_COOKIE && !v.is_empty())
        .map(|(_, v)| v.to_owned());
    match existing {
        Some(s) => (s, false),
        None => (crate::crypto::random_token(), true),
    }
}

fn respond(answer: flow::Answer, session: &str, new_session: bool) -> Response {
    let mut resp = match answer {
        flow::Answer::Granted { status, body, rpt } => {
            let mut v = json!({"outcome": "granted", "status": status, "body": body});
            if let Some(rpt) = rpt {
                // Quirk client-shows-rpt: the RPT goes to the browser (G-C-40).
                v["rpt"] = json!(rpt.secret());
            }
            (StatusCode::OK, axum::Json(v)).into_response()
        }
        flow::Answer::Redirect(location) => match HeaderValue::from_str(&location) {
            Ok(v) => {
                let mut r = StatusCode::FOUND.into_response();
                r.headers_mut().insert(header::LOCATION, v);
                r
            }
            Err(_) => (
                StatusCode::BAD_GATEWAY,
                axum::Json(
                    json!({"outcome": "error", "reason": "the claims interaction URL is not a valid header value"}),
                ),
            )
                .into_response(),
        },
        flow::Answer::Fail {
            outcome,
            status,
            reason,
        } => (
            status,
            axum::Json(json!({"outcome": outcome.as_str(), "reason": reason})),
        )
            .into_response(),
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if new_session
        && let Ok(v) = HeaderValue::from_str(&format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"))
    {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn start(
    State(state): State<ClientState>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let (session, new_session) = session(&headers);
    let get = |name: &str| {
        q.iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let answer = match (get("resource"), get("user")) {
        (Some(resource), Some(user)) => state.start_flow(&session, &user, &resource, get("id_token")).await,
        _ => flow::Answer::fail(
            Outcome::Error,
            StatusCode::BAD_REQUEST,
            "resource and user are required",
        ),
    };
    respond(answer, &session, new_session)
}

async fn callback(
    State(state): State<ClientState>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let (session, new_session) = session(&headers);
    let answer = state.callback_flow(&session, q).await;
    respond(answer, &session, new_session)
}

/// A running reference client.
#[derive(Debug)]
pub struct ReferenceClient {
    state: ClientState,
    local: SocketAddr,
    serving: crate::serving::Serving,
}

impl ReferenceClient {
    /// Binds `addr` (use a loopback address; port 0 picks a free port) and serves [`app`].
    pub async fn start(config: ClientConfig, addr: SocketAddr) -> Result<ReferenceClient, crate::StartError> {
        let (listener, local) = crate::serving::bind(addr).await?;
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        let tls = config.tls.as_ref().map(crate::serving::Tls::new);
        let header_read_timeout = config.header_read_timeout;
        let state = ClientState::new(config, format!("{scheme}://{local}"));
        let serving = crate::serving::Serving::spawn_secured(
            listener,
            app(state.clone()),
            "reference client",
            header_read_timeout,
            tls,
        );
        Ok(ReferenceClient { state, local, serving })
    }

    /// `http://127.0.0.1:PORT` (`https://` when served over TLS).
    pub fn base_url(&self) -> String {
        self.state.base_url().to_owned()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// `{base_url}/callback` (with `?via=uma` under the variant `client-callback-with-query`):
    /// register it at the AS as a claims redirection URI.
    pub fn claims_redirect_uri(&self) -> String {
        registered_callback(self.state.config(), self.state.base_url())
    }

    /// The shared state.
    pub fn state(&self) -> &ClientState {
        &self.state
    }

    /// Stops serving; in-flight requests get [`crate::SHUTDOWN_GRACE`].
    pub async fn shutdown(self) {
        self.serving.stop(crate::SHUTDOWN_GRACE).await;
    }
}
