//! The UMA flow of the reference client: resource requests, discovery, token requests, claims
//! redirects and callbacks. See the module docs of [`crate::client`] for the rules.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use url::Url;

use super::{ClientState, ID_TOKEN_FORMAT, UMA_TICKET_GRANT, challenge};
use crate::crypto::{pkce_s256, random_token};
use crate::quirks::Quirk;
use crate::types::{ClaimToken, CodeVerifier, Pct, PermissionTicket, RefreshToken, Rpt};
use crate::variants::Variant;

/// Token requests (polls included) in one flow, at most.
const MAX_TOKEN_REQUESTS: usize = 16;
/// The longest `interval` the client waits for; a longer one ends the flow as `pending`.
const MAX_INTERVAL_SECS: u64 = 60;
/// The `interval` assumed when `request_submitted` has none (UMA Grant §3.3.6).
const DEFAULT_INTERVAL_SECS: u64 = 5;
/// Pending claims flows kept, at most (the oldest go first).
const MAX_PENDING: usize = 1024;
/// How long a pending claims flow stays usable.
const PENDING_LIFETIME: Duration = Duration::from_secs(600);
/// RPTs kept, at most (the oldest go first).
const MAX_WALLET: usize = 4096;
/// The largest response body read from a server.
const MAX_BODY: usize = 1024 * 1024;
/// Token response members the client knows (quirk client-rejects-unknown-members).
const KNOWN_TOKEN_MEMBERS: &[&str] = &[
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "pct",
    "upgraded",
    "scope",
];
/// Callback parameters the client knows (quirk client-rejects-unknown-redirect-params).
const KNOWN_CALLBACK_PARAMS: &[&str] = &["ticket", "state", "iss", "error", "error_description", "error_uri"];

/// How a flow ended, as the browser is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The AS refused, or the client cannot satisfy it.
    Denied,
    /// A protocol error by the RS, the AS or the browser.
    Error,
    /// The owner has not decided yet.
    Pending,
    /// A server could not be reached, or the RS said its AS cannot be.
    Unreachable,
}

impl Outcome {
    /// `denied`, `error`, `pending` or `unreachable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::Error => "error",
            Self::Pending => "pending",
            Self::Unreachable => "unreachable",
        }
    }
}

/// What the browser gets.
#[derive(Debug)]
pub(crate) enum Answer {
    Granted {
        status: u16,
        body: Value,
        rpt: Option<Rpt>,
    },
    Redirect(String),
    Fail {
        outcome: Outcome,
        status: StatusCode,
        reason: String,
    },
}

impl Answer {
    pub(crate) fn fail(outcome: Outcome, status: StatusCode, reason: impl Into<String>) -> Self {
        Self::Fail {
            outcome,
            status,
            reason: reason.into(),
        }
    }

    fn error(reason: impl Into<String>) -> Self {
        Self::fail(Outcome::Error, StatusCode::BAD_GATEWAY, reason)
    }

    fn bad_callback(reason: impl Into<String>) -> Self {
        Self::fail(Outcome::Error, StatusCode::BAD_REQUEST, reason)
    }
}

/// What the client knows of an AS.
#[derive(Clone, Debug)]
struct AsMeta {
    issuer: String,
    token_endpoint: String,
    claims_endpoint: Option<String>,
    iss_supported: bool,
    revocation_endpoint: Option<String>,
}

/// One authorization process.
#[derive(Clone, Debug)]
struct Flow {
    user: String,
    resource: String,
    id_token: Option<ClaimToken>,
    pushed: bool,
    meta: AsMeta,
    /// The ticket of the RS challenge.
    rs_ticket: PermissionTicket,
    /// The ticket the next token request sends.
    ticket: PermissionTicket,
    polls: u32,
}

#[derive(Debug)]
struct WalletEntry {
    user: String,
    issuer: String,
    rpt: Rpt,
    /// The refresh token that came with the RPT (used under `client-refreshes-rpt`).
    refresh: Option<RefreshToken>,
    resources: BTreeSet<String>,
    seq: u64,
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    state: Option<String>,
    session: String,
    used: bool,
    created: Instant,
    flow: Flow,
    verifier: Option<CodeVerifier>,
}

/// The client's mutable state.
#[derive(Debug, Default)]
pub(crate) struct Data {
    wallet: Vec<WalletEntry>,
    pcts: HashMap<(String, String), Pct>,
    shared_pct: Option<Pct>,
    last_as: HashMap<String, AsMeta>,
    pending: Vec<Pending>,
    state_counter: u64,
    fixed_verifier: Option<CodeVerifier>,
    /// Discovery documents by `as_uri` (variant `client-caches-discovery`).
    discovered: HashMap<String, AsMeta>,
    seq: u64,
}

impl Data {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The newest RPT of `user` whose resources include `resource`.
    fn covering(&self, user: &str, resource: &str) -> Option<Rpt> {
        self.wallet
            .iter()
            .filter(|e| e.user == user && e.resources.contains(resource))
            .max_by_key(|e| e.seq)
            .map(|e| e.rpt.clone())
    }

    /// The newest RPT of `user` at `issuer`.
    fn newest(&self, user: &str, issuer: &str) -> Option<Rpt> {
        self.wallet
            .iter()
            .filter(|e| e.user == user && e.issuer == issuer)
            .max_by_key(|e| e.seq)
            .map(|e| e.rpt.clone())
    }

    fn position(&self, user: &str, issuer: &str, rpt: &Rpt) -> Option<usize> {
        self.wallet
            .iter()
            .position(|e| e.user == user && e.issuer == issuer && &e.rpt == rpt)
    }

    fn push_rpt(&mut self, user: &str, issuer: &str, rpt: Rpt, resources: BTreeSet<String>) {
        let seq = self.next_seq();
        if self.wallet.len() >= MAX_WALLET {
            self.wallet.remove(0);
        }
        self.wallet.push(WalletEntry {
            user: user.to_owned(),
            issuer: issuer.to_owned(),
            rpt,
            refresh: None,
            resources,
            seq,
        });
    }
}

/// What the RS answered.
#[derive(Debug)]
struct RsAnswer {
    status: u16,
    www_authenticate: Vec<String>,
    warnings: Vec<String>,
    body: Value,
}

/// What the token endpoint answered. No `Debug`: a success holds the RPT and PCT in clear.
enum TokenAnswer {
    Success(Map<String, Value>),
    Error { error: String, body: Value },
}

/// Whether `url` is an absolute http(s) URL on a loopback host.
fn loopback_url(url: &str) -> Option<Url> {
    let u = Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let ok = match u.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    ok.then_some(u)
}

/// Reads at most [`MAX_BODY`] bytes of a response body.
async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = MAX_BODY.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= MAX_BODY {
            break;
        }
    }
    Ok(out)
}

/// JSON if the body is JSON, else the text.
fn json_or_text(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic encoding.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl ClientState {
    fn quirk(&self, q: Quirk) -> bool {
        self.inner.config.quirks.has(q)
    }

    fn variant(&self, v: Variant) -> bool {
        self.inner.config.variants.contains(v)
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.inner.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn timeout(&self) -> Duration {
        self.inner.config.http_timeout
    }

    /// `/start`: fetch `resource` for `user`, running the UMA flow as needed.
    pub(crate) async fn start_flow(
        &self,
        session: &str,
        user: &str,
        resource: &str,
        id_token: Option<String>,
    ) -> Answer {
        if loopback_url(resource).is_none() {
            return Answer::fail(
                Outcome::Error,
                StatusCode::BAD_REQUEST,
                "resource must be an absolute http(s) URL on a loopback host",
            );
        }
        // Variant client-never-pushes-claims: claim_token is OPTIONAL (UMA Grant §3.3.1).
        let id_token = id_token.filter(|_| !self.variant(Variant::ClientNeverPushesClaims));
        let held = self.data().covering(user, resource);
        let unreachable = || {
            Answer::fail(
                Outcome::Unreachable,
                StatusCode::SERVICE_UNAVAILABLE,
                "the resource server could not be reached",
            )
        };
        let mut rs = match self.fetch_resource(user, resource, held.as_ref()).await {
            Ok(r) => r,
            Err(_) => return unreachable(),
        };
        if !(200..300).contains(&rs.status)
            && let Some(old) = &held
            && self.variant(Variant::ClientRefreshesRpt)
            && let Some(fresh) = self.refresh_rpt(user, old).await
        {
            // UMA Grant §3.6: a refused RPT may be refreshed; one more try with the new one.
            rs = match self.fetch_resource(user, resource, Some(&fresh)).await {
                Ok(r) => r,
                Err(_) => return unreachable(),
            };
        }
        if (200..300).contains(&rs.status) {
            return Answer::Granted {
                status: rs.status,
                body: rs.body,
                rpt: None,
            };
        }
        // UMA Grant §3.2.1 shows 401; 403 with the challenge is another reading (digest P-04).
        let uma = matches!(rs.status, 401 | 403)
            .then(|| challenge::find_uma(rs.www_authenticate.iter().map(String::as_str)))
            .flatten();
        let Some(uma) = uma else {
            if self.quirk(Quirk::ClientContinuesWithoutAs) {
                self.token_request_without_ticket(user).await;
            }
            let unreachable = rs.status == 403
                && rs.warnings.iter().any(|w| {
                    w.trim_start().starts_with("199")
                        && w.to_ascii_lowercase().contains("uma authorization server unreachable")
                });
            return if unreachable {
                Answer::fail(
                    Outcome::Unreachable,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the resource server says its authorization server is unreachable",
                )
            } else {
                Answer::error(format!(
                    "the resource server answered {} without a UMA challenge",
                    rs.status
                ))
            };
        };
        let mangle = self.quirk(Quirk::ClientManglesTicket);
        let (Some(as_uri), Some(ticket)) = (
            uma.param("as_uri").map(|p| p.value.clone()),
            uma.param("ticket")
                .map(|p| if mangle { p.raw.clone() } else { p.value.clone() }),
        ) else {
            return Answer::error("the UMA challenge lacks as_uri or ticket");
        };
        let meta = match self.discover(&as_uri).await {
            Ok(m) => m,
            Err(a) => return a,
        };
        let ticket = PermissionTicket::new(ticket);
        let flow = Flow {
            user: user.to_owned(),
            resource: resource.to_owned(),
            id_token: id_token.map(ClaimToken::new),
            pushed: false,
            meta,
            rs_ticket: ticket.clone(),
            ticket,
            polls: 0,
        };
        if self.quirk(Quirk::ClientGuessesClaimsEndpoint) && flow.meta.claims_endpoint.is_none() {
            let guess = format!("{}/claims", as_uri.trim_end_matches('/'));
            return self.redirect_to_claims(session, flow, &guess);
        }
        if self.variant(Variant::ClientClaimsFirst)
            && let Some(endpoint) = flow.meta.claims_endpoint.clone()
        {
            // UMA Grant §3.3 / §3.3.2: with a static claims_interaction_endpoint the client may
            // send the requesting party there before any token request.
            return self.redirect_to_claims(session, flow, &endpoint);
        }
        self.run(session, flow, None).await
    }

    /// Refreshes `old` with the refresh token that came with it (UMA Grant §3.6) and puts the
    /// new RPT in its place; `None` if there is no refresh token or the AS refused.
    async fn refresh_rpt(&self, user: &str, old: &Rpt) -> Option<Rpt> {
        let (issuer, refresh) = {
            let d = self.data();
            let e = d.wallet.iter().find(|e| e.user == user && &e.rpt == old)?;
            (e.issuer.clone(), e.refresh.clone()?)
        };
        let meta = self.discover(&issuer).await.ok()?;
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.secret())];
        let TokenAnswer::Success(body) = self.post_token(&meta.token_endpoint, &form).await.ok()? else {
            return None;
        };
        let fresh = Rpt::new(
            body.get("access_token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())?,
        );
        let mut d = self.data();
        let e = d.wallet.iter_mut().find(|e| e.user == user && &e.rpt == old)?;
        e.rpt = fresh.clone();
        // RFC 6749 §6: a new refresh token replaces the old one; without one the old stays.
        if let Some(rt) = body.get("refresh_token").and_then(Value::as_str) {
            e.refresh = Some(RefreshToken::new(rt));
        }
        Some(fresh)
    }

    /// GET `resource`, presenting `rpt` if given.
    async fn fetch_resource(&self, user: &str, resource: &str, rpt: Option<&Rpt>) -> Result<RsAnswer, reqwest::Error> {
        let mut req = self.inner.http.get(resource).timeout(self.timeout());
        match rpt {
            Some(rpt) => {
                req = req.bearer_auth(rpt.secret());
                if self.quirk(Quirk::ClientTokenTwice) {
                    req = req.query(&[("access_token", rpt.secret())]);
                }
            }
            None if self.quirk(Quirk::ClientFirstRequestWithToken) => {
                req = req.bearer_auth("anonymous");
            }
            None => {}
        }
        if self.quirk(Quirk::ClientPctToRs) {
            let pct = {
                let d = self.data();
                d.shared_pct
                    .clone()
                    .or_else(|| d.pcts.iter().find(|((u, _), _)| u == user).map(|(_, p)| p.clone()))
            };
            if let Some(p) = pct {
                req = req.header("x-uma-pct", p.secret());
            }
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let all = |name: &str| -> Vec<String> {
            resp.headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_owned)
                .collect()
        };
        let www_authenticate = all("www-authenticate");
        let warnings = all("warning");
        let body = json_or_text(&read_body(resp).await?);
        Ok(RsAnswer {
            status,
            www_authenticate,
            warnings,
            body,
        })
    }

    /// Vets `as_uri` and fetches its discovery document (G-C-04, ISS-05).
    async fn discover(&self, as_uri: &str) -> Result<AsMeta, Answer> {
        let cache = self.variant(Variant::ClientCachesDiscovery);
        if cache && let Some(meta) = self.data().discovered.get(as_uri) {
            return Ok(meta.clone());
        }
        let meta = self.discover_now(as_uri).await?;
        if cache {
            self.data().discovered.insert(as_uri.to_owned(), meta.clone());
        }
        Ok(meta)
    }

    async fn discover_now(&self, as_uri: &str) -> Result<AsMeta, Answer> {
        if let Some(list) = &self.inner.config.trusted_issuers
            && !list.iter().any(|t| t == as_uri)
        {
            return Err(Answer::error("as_uri is not a trusted issuer"));
        }
        if loopback_url(as_uri).is_none() {
            return Err(Answer::error("as_uri is not an http(s) URL on a loopback host"));
        }
        let base = as_uri.trim_end_matches('/');
        if self.quirk(Quirk::ClientSkipsDiscovery) {
            return Ok(AsMeta {
                issuer: as_uri.to_owned(),
                token_endpoint: format!("{base}/token"),
                claims_endpoint: None,
                iss_supported: false,
                revocation_endpoint: None,
            });
        }
        let url = format!("{base}/.well-known/uma2-configuration");
        let unreachable = || {
            Answer::fail(
                Outcome::Unreachable,
                StatusCode::SERVICE_UNAVAILABLE,
                "the authorization server's discovery document could not be fetched",
            )
        };
        let resp = self
            .inner
            .http
            .get(&url)
            .timeout(self.timeout())
            .send()
            .await
            .map_err(|_| unreachable())?;
        if !resp.status().is_success() {
            return Err(Answer::error(format!(
                "the discovery document answered {}",
                resp.status().as_u16()
            )));
        }
        let body = read_body(resp).await.map_err(|_| unreachable())?;
        let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(&body) else {
            return Err(Answer::error("the discovery document is not a JSON object"));
        };
        let issuer = doc.get("issuer").and_then(Value::as_str).unwrap_or_default();
        if issuer != as_uri && !self.quirk(Quirk::ClientIssuerMismatchAccepted) {
            return Err(Answer::error("the discovery document's issuer is not as_uri"));
        }
        let Some(token_endpoint) = doc
            .get("token_endpoint")
            .and_then(Value::as_str)
            .filter(|u| loopback_url(u).is_some())
        else {
            return Err(Answer::error(
                "the discovery document has no token_endpoint on a loopback host",
            ));
        };
        Ok(AsMeta {
            issuer: as_uri.to_owned(),
            token_endpoint: token_endpoint.to_owned(),
            claims_endpoint: doc
                .get("claims_interaction_endpoint")
                .and_then(Value::as_str)
                .filter(|u| loopback_url(u).is_some())
                .map(str::to_owned),
            iss_supported: doc.get("authorization_response_iss_parameter_supported") == Some(&Value::Bool(true)),
            revocation_endpoint: doc
                .get("revocation_endpoint")
                .and_then(Value::as_str)
                .filter(|u| loopback_url(u).is_some())
                .map(str::to_owned),
        })
    }

    /// Token requests until an RPT, a redirect, or the end of the flow.
    async fn run(&self, session: &str, mut flow: Flow, mut verifier: Option<CodeVerifier>) -> Answer {
        // Variant client-pushes-claims-up-front: UMA Grant §3.3.1 lets the client push on the
        // first request too.
        let mut push = self.variant(Variant::ClientPushesClaimsUpFront) && flow.id_token.is_some() && !flow.pushed;
        flow.pushed |= push;
        for _ in 0..MAX_TOKEN_REQUESTS {
            let (answer, sent_rpt) = match self.token_request(&flow, push, verifier.take()).await {
                Ok(a) => a,
                Err(a) => return a,
            };
            push = false;
            let (error, body) = match answer {
                TokenAnswer::Success(body) => return self.granted(&flow, body, sent_rpt).await,
                TokenAnswer::Error { error, body } => (error, body),
            };
            match error.as_str() {
                "need_info" => {
                    if let Some(a) = self.rotate(&mut flow, body.get("ticket")) {
                        return a;
                    }
                    if flow.id_token.is_some() && !flow.pushed {
                        flow.pushed = true;
                        push = true;
                        continue;
                    }
                    let endpoint = match body.get("redirect_user") {
                        Some(Value::Bool(true)) => flow.meta.claims_endpoint.clone(),
                        Some(Value::String(s)) if loopback_url(s).is_some() => Some(s.clone()),
                        _ => None,
                    };
                    return match endpoint {
                        Some(e) => self.redirect_to_claims(session, flow, &e),
                        None => Answer::fail(
                            Outcome::Denied,
                            StatusCode::FORBIDDEN,
                            "need_info: the client cannot provide the claims the authorization server needs",
                        ),
                    };
                }
                "request_submitted" => {
                    if let Some(a) = self.rotate(&mut flow, body.get("ticket")) {
                        return a;
                    }
                    let pending = || {
                        Answer::fail(
                            Outcome::Pending,
                            StatusCode::CONFLICT,
                            "request_submitted: the resource owner has not decided yet",
                        )
                    };
                    // Variant client-never-polls: polling is the client's option (§3.3.6).
                    if flow.polls >= self.inner.config.max_polls || self.variant(Variant::ClientNeverPolls) {
                        return pending();
                    }
                    let interval = body
                        .get("interval")
                        .and_then(Value::as_u64)
                        .unwrap_or(DEFAULT_INTERVAL_SECS);
                    let wait = if self.quirk(Quirk::ClientPollsFast) {
                        Duration::from_millis(100)
                    } else if interval > MAX_INTERVAL_SECS {
                        return pending();
                    } else {
                        Duration::from_secs(interval)
                    };
                    flow.polls += 1;
                    tokio::time::sleep(wait).await;
                }
                "request_denied" => {
                    return Answer::fail(
                        Outcome::Denied,
                        StatusCode::FORBIDDEN,
                        "request_denied: the authorization server refused",
                    );
                }
                other => {
                    return Answer::error(format!("the authorization server refused the token request: {other}"));
                }
            }
        }
        Answer::error("too many token requests in one flow")
    }

    /// Takes a new ticket; a missing or repeated one ends the flow (G-C-22).
    fn rotate(&self, flow: &mut Flow, new: Option<&Value>) -> Option<Answer> {
        let Some(new) = new.and_then(Value::as_str).filter(|t| !t.is_empty()) else {
            return Some(Answer::error("the authorization server sent no new ticket"));
        };
        if new == flow.ticket.secret() && !self.quirk(Quirk::ClientAcceptsSameTicket) {
            return Some(Answer::error("ticket not rotated"));
        }
        flow.ticket = if self.quirk(Quirk::ClientStaleTicket) {
            flow.rs_ticket.clone()
        } else {
            PermissionTicket::new(new)
        };
        None
    }

    /// One uma-ticket token request. Returns the answer and the RPT it sent.
    async fn token_request(
        &self,
        flow: &Flow,
        push: bool,
        verifier: Option<CodeVerifier>,
    ) -> Result<(TokenAnswer, Option<Rpt>), Answer> {
        let (rpt, pct) = {
            let mut d = self.data();
            d.last_as.insert(flow.user.clone(), flow.meta.clone());
            let pct = if self.quirk(Quirk::ClientPctShared) {
                d.shared_pct.clone()
            } else {
                d.pcts.get(&(flow.user.clone(), flow.meta.issuer.clone())).cloned()
            };
            // Variant client-never-sends-rpt: rpt is OPTIONAL (§3.3.1); no upgrade is asked.
            let rpt = d
                .newest(&flow.user, &flow.meta.issuer)
                .filter(|_| !self.variant(Variant::ClientNeverSendsRpt));
            (rpt, pct)
        };
        let grant = if self.quirk(Quirk::ClientWrongGrantType) {
            "uma-ticket"
        } else {
            UMA_TICKET_GRANT
        };
        let mut form: Vec<(&str, &str)> = vec![("grant_type", grant), ("ticket", flow.ticket.secret())];
        if let Some(r) = &rpt {
            form.push(("rpt", r.secret()));
        }
        if let Some(p) = &pct {
            form.push(("pct", p.secret()));
        }
        let pushed = flow.id_token.as_ref().filter(|_| push);
        if let Some(t) = pushed {
            form.push(("claim_token", t.secret()));
        }
        if (pushed.is_some() && !self.quirk(Quirk::ClientClaimTokenWithoutFormat))
            || self.quirk(Quirk::ClientFormatWithoutToken)
        {
            form.push(("claim_token_format", ID_TOKEN_FORMAT));
        }
        if self.quirk(Quirk::ClientUnregisteredScope) {
            form.push(("scope", "view,admin"));
        }
        if let Some(v) = &verifier {
            form.push(("code_verifier", v.secret()));
        }
        let answer = self.post_token(&flow.meta.token_endpoint, &form).await?;
        Ok((answer, rpt))
    }

    async fn post_token(&self, endpoint: &str, form: &[(&str, &str)]) -> Result<TokenAnswer, Answer> {
        let unreachable = || {
            Answer::fail(
                Outcome::Unreachable,
                StatusCode::SERVICE_UNAVAILABLE,
                "the token endpoint could not be reached",
            )
        };
        let (status, body) = self.post_form(endpoint, form).await.map_err(|()| unreachable())?;
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match (status, value) {
            (200, Value::Object(m)) => Ok(TokenAnswer::Success(m)),
            (200, _) => Err(Answer::error("the token response is not a JSON object")),
            (_, v) => match v.get("error").and_then(Value::as_str) {
                Some(e) => Ok(TokenAnswer::Error {
                    error: e.to_owned(),
                    body: v.clone(),
                }),
                None => Err(Answer::error(format!(
                    "the token endpoint answered {status} without an error code"
                ))),
            },
        }
    }

    /// POSTs `form` with the client's authentication (RFC 6749 §2.3.1) to a token or revocation
    /// endpoint; the status and body, or `Err` if the AS could not be reached.
    async fn post_form(&self, endpoint: &str, form: &[(&str, &str)]) -> Result<(u16, Vec<u8>), ()> {
        let config = &self.inner.config;
        let credentials = format!(
            "{}:{}",
            form_encode(&config.client_id),
            form_encode(config.client_secret.secret())
        );
        let mut request = self.inner.http.post(endpoint).timeout(self.timeout());
        let mut form: Vec<(&str, &str)> = form.to_vec();
        if self.quirk(Quirk::ClientNoAuthentication) {
            // Identifies itself but does not authenticate.
            form.push(("client_id", &config.client_id));
        } else {
            request = request.header("authorization", format!("Basic {}", STANDARD.encode(credentials)));
            if self.variant(Variant::ClientSendsClientIdWithBasic) {
                // RFC 6749 §3.2.1: a client may name itself with client_id while it
                // authenticates with Basic.
                form.push(("client_id", &config.client_id));
            }
        }
        let request = if self.variant(Variant::ClientFormWithoutContentType) || self.quirk(Quirk::ClientFormMislabelled)
        {
            // The body is form-encoded as RFC 6749 asks; the variant leaves the Content-Type
            // header out, the quirk labels the body as plain text.
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&form)
                .finish();
            if self.quirk(Quirk::ClientFormMislabelled) {
                request.header("content-type", "text/plain").body(body)
            } else {
                request.body(body)
            }
        } else {
            request.form(&form)
        };
        let resp = request.send().await.map_err(|_| ())?;
        let status = resp.status().as_u16();
        let body = read_body(resp).await.map_err(|_| ())?;
        Ok((status, body))
    }

    /// Quirk client-continues-without-as: a token request without ticket to the last AS.
    async fn token_request_without_ticket(&self, user: &str) {
        let last = self.data().last_as.get(user).cloned();
        if let Some(meta) = last {
            let _ = self
                .post_token(&meta.token_endpoint, &[("grant_type", UMA_TICKET_GRANT)])
                .await;
        }
    }

    /// Stores the RPT (G-C-20/21) and the PCT, then fetches the resource with the RPT.
    async fn granted(&self, flow: &Flow, body: Map<String, Value>, sent: Option<Rpt>) -> Answer {
        if self.quirk(Quirk::ClientRejectsUnknownMembers)
            && body.keys().any(|k| !KNOWN_TOKEN_MEMBERS.contains(&k.as_str()))
        {
            return Answer::error("the token response has a member the client does not know");
        }
        let Some(new) = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        else {
            return Answer::error("the token response has no access_token");
        };
        let new = Rpt::new(new);
        let upgraded = body.get("upgraded") == Some(&Value::Bool(true));
        let refresh = body
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(RefreshToken::new);
        let replaced = {
            let mut d = self.data();
            if let Some(p) = body.get("pct").and_then(Value::as_str).filter(|p| !p.is_empty())
                && !self.variant(Variant::ClientNeverSendsPct)
            {
                if self.quirk(Quirk::ClientPctShared) {
                    d.shared_pct = Some(Pct::new(p));
                }
                d.pcts
                    .insert((flow.user.clone(), flow.meta.issuer.clone()), Pct::new(p));
            }
            let replaced = self.store_rpt(&mut d, flow, sent, new.clone(), upgraded);
            let (user, issuer) = (flow.user.as_str(), flow.meta.issuer.as_str());
            if let Some(i) = d.position(user, issuer, &new) {
                d.wallet[i].refresh = refresh;
            }
            replaced
        };
        if let (Some(old), Some(endpoint)) = (replaced, &flow.meta.revocation_endpoint)
            && self.variant(Variant::ClientRevokesReplacedRpt)
        {
            // UMA Grant §3.7: the client may revoke an RPT it no longer uses (RFC 7009).
            let _ = self
                .post_form(
                    endpoint,
                    &[("token", old.secret()), ("token_type_hint", "access_token")],
                )
                .await;
        }
        let rs = match self.fetch_resource(&flow.user, &flow.resource, Some(&new)).await {
            Ok(r) => r,
            Err(_) => {
                return Answer::fail(
                    Outcome::Unreachable,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the resource server could not be reached",
                );
            }
        };
        if !(200..300).contains(&rs.status) {
            return Answer::error(format!("the resource server answered {} to the new RPT", rs.status));
        }
        Answer::Granted {
            status: rs.status,
            body: rs.body,
            rpt: self.quirk(Quirk::ClientShowsRpt).then_some(new),
        }
    }

    /// Puts `new` in the wallet (G-C-20/21); returns the RPT it replaced after an upgrade that
    /// produced a new string, if any.
    fn store_rpt(&self, d: &mut Data, flow: &Flow, sent: Option<Rpt>, new: Rpt, upgraded: bool) -> Option<Rpt> {
        let (user, issuer) = (flow.user.as_str(), flow.meta.issuer.as_str());
        let one: BTreeSet<String> = [flow.resource.clone()].into();
        let old = sent.and_then(|s| d.position(user, issuer, &s));
        if let Some(i) = d.position(user, issuer, &new) {
            // The same string again (an in-place upgrade, P-20): it covers more.
            d.wallet[i].resources.insert(flow.resource.clone());
            d.wallet[i].seq = d.next_seq();
            return None;
        }
        match old {
            Some(i) if upgraded || self.quirk(Quirk::ClientAssumesUpgraded) => {
                if upgraded && self.quirk(Quirk::ClientKeepsOldRpt) {
                    d.push_rpt(user, issuer, new, one);
                } else {
                    let replaced = d.wallet.remove(i);
                    let mut resources = replaced.resources;
                    resources.insert(flow.resource.clone());
                    d.push_rpt(user, issuer, new, resources);
                    return upgraded.then_some(replaced.rpt);
                }
            }
            Some(i) if self.variant(Variant::ClientDropsUnupgradedRpt) => {
                // G-C-21: without an upgrade the client MAY keep the old RPT; this one does not.
                d.wallet.remove(i);
                d.push_rpt(user, issuer, new, one);
            }
            _ if self.quirk(Quirk::ClientAssumesUpgraded) => {
                // Without an RPT sent, every older RPT of the user at this AS is replaced.
                let mut resources = one;
                d.wallet.retain(|e| {
                    let mine = e.user == user && e.issuer == issuer;
                    if mine {
                        resources.extend(e.resources.iter().cloned());
                    }
                    !mine
                });
                d.push_rpt(user, issuer, new, resources);
            }
            _ => d.push_rpt(user, issuer, new, one),
        }
        None
    }

    /// Sends the browser to the claims interaction endpoint; the flow waits for the callback.
    fn redirect_to_claims(&self, session: &str, flow: Flow, endpoint: &str) -> Answer {
        let Ok(mut url) = Url::parse(endpoint) else {
            return Answer::error("the claims interaction endpoint is not a URL");
        };
        let config = &self.inner.config;
        let mut d = self.data();
        let state = if self.quirk(Quirk::ClientNoState) {
            None
        } else if self.quirk(Quirk::ClientPredictableState) {
            d.state_counter += 1;
            Some(d.state_counter.to_string())
        } else if self.quirk(Quirk::ClientStateCarriesData) {
            let data = json!({"user": flow.user, "resource": flow.resource}).to_string();
            Some(format!("{}.{}", URL_SAFE_NO_PAD.encode(data), random_token()))
        } else {
            Some(random_token())
        };
        let verifier = if config.pkce && !self.quirk(Quirk::ClientNoPkce) {
            Some(if self.quirk(Quirk::ClientFixedVerifier) {
                d.fixed_verifier
                    .get_or_insert_with(|| CodeVerifier::new(random_token()))
                    .clone()
            } else if self.quirk(Quirk::ClientShortVerifier) {
                CodeVerifier::new(&random_token()[..32])
            } else if self.variant(Variant::ClientLongVerifier) {
                // RFC 7636 §4.1: 43 to 128 characters; this one uses the maximum.
                CodeVerifier::new(&[random_token(), random_token(), random_token()].concat()[..128])
            } else {
                CodeVerifier::new(random_token())
            })
        } else {
            None
        };
        let added = [
            "client_id",
            "ticket",
            "claims_redirect_uri",
            "state",
            "code_challenge",
            "code_challenge_method",
        ];
        let kept: Vec<(String, String)> = if self.quirk(Quirk::ClientDropsEndpointQuery) {
            Vec::new()
        } else {
            // The endpoint's own query is kept, without parameters the client sets itself (P-13).
            url.query_pairs()
                .filter(|(k, _)| !added.contains(&k.as_ref()))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        };
        url.set_query(None);
        {
            let mut q = url.query_pairs_mut();
            q.extend_pairs(&kept);
            q.append_pair("client_id", &config.client_id);
            q.append_pair("ticket", flow.ticket.secret());
            if !self.variant(Variant::ClientOmitsClaimsRedirectUri) {
                q.append_pair("claims_redirect_uri", &self.claims_redirect_uri());
            }
            if let Some(s) = &state {
                q.append_pair("state", s);
            }
            if let Some(v) = &verifier {
                if self.quirk(Quirk::ClientPlainPkce) {
                    q.append_pair("code_challenge", v.secret());
                    q.append_pair("code_challenge_method", "plain");
                } else {
                    q.append_pair("code_challenge", &pkce_s256(v.secret()));
                    q.append_pair("code_challenge_method", "S256");
                }
            }
        }
        let seq = d.next_seq();
        let now = Instant::now();
        d.pending.retain(|p| now.duration_since(p.created) < PENDING_LIFETIME);
        if d.pending.len() >= MAX_PENDING {
            d.pending.remove(0);
        }
        d.pending.push(Pending {
            seq,
            state,
            session: session.to_owned(),
            used: false,
            created: now,
            flow,
            verifier,
        });
        Answer::Redirect(url.into())
    }

    /// Finds the pending flow a callback continues and marks it used (G-C-33, G-C-36/37,
    /// R9700-03).
    fn take_pending(
        &self,
        session: &str,
        state: Option<&str>,
        ticket: Option<&str>,
    ) -> Result<(Flow, Option<CodeVerifier>), &'static str> {
        let mut d = self.data();
        let now = Instant::now();
        d.pending.retain(|p| now.duration_since(p.created) < PENDING_LIFETIME);
        let latest = |d: &Data, unused_only: bool| {
            d.pending
                .iter()
                .enumerate()
                .filter(|(_, p)| p.session == session && (!unused_only || !p.used))
                .max_by_key(|(_, p)| p.seq)
                .map(|(i, _)| i)
        };
        let i = if self.quirk(Quirk::ClientStateUnchecked) {
            latest(&d, false).ok_or("no pending claims flow in this browser session")?
        } else if self.quirk(Quirk::ClientNoState) {
            d.pending
                .iter()
                .position(|p| p.session == session && !p.used && Some(p.flow.ticket.secret()) == ticket)
                .or_else(|| latest(&d, true))
                .ok_or("no pending claims flow in this browser session")?
        } else {
            match state {
                None if self.quirk(Quirk::ClientMissingStateAccepted) => {
                    latest(&d, true).ok_or("no pending claims flow in this browser session")?
                }
                None => return Err("the callback has no state"),
                Some(s) => {
                    let unbound = self.quirk(Quirk::ClientCsrfUnbound);
                    let i = d
                        .pending
                        .iter()
                        .position(|p| p.state.as_deref() == Some(s) && (unbound || p.session == session))
                        .ok_or("unknown state")?;
                    if d.pending[i].used && !self.quirk(Quirk::ClientStateReplayable) {
                        return Err("state already used");
                    }
                    i
                }
            }
        };
        let p = &mut d.pending[i];
        p.used = true;
        Ok((p.flow.clone(), p.verifier.clone()))
    }

    /// `/callback`: the redirect back from claims gathering.
    pub(crate) async fn callback_flow(&self, session: &str, params: Vec<(String, String)>) -> Answer {
        if self.quirk(Quirk::ClientRejectsUnknownRedirectParams)
            && let Some((k, _)) = params
                .iter()
                .find(|(k, _)| !KNOWN_CALLBACK_PARAMS.contains(&k.as_str()))
        {
            return Answer::bad_callback(format!("unexpected callback parameter {k}"));
        }
        let mut map: HashMap<&str, &str> = HashMap::new();
        for (k, v) in &params {
            if map.insert(k.as_str(), v.as_str()).is_some() {
                return Answer::bad_callback(format!("callback parameter {k} is repeated"));
            }
        }
        let get = |k: &str| map.get(k).copied().filter(|v| !v.is_empty());
        let (mut flow, verifier) = match self.take_pending(session, get("state"), get("ticket")) {
            Ok(p) => p,
            Err(why) => return Answer::bad_callback(why),
        };
        if flow.meta.iss_supported {
            match get("iss") {
                None if !self.quirk(Quirk::ClientMissingIssAccepted) => {
                    return Answer::bad_callback("the callback has no iss although the authorization server sends it");
                }
                Some(iss) if iss != flow.meta.issuer && !self.quirk(Quirk::ClientIssUnchecked) => {
                    return Answer::bad_callback("iss is not the issuer the browser was sent to");
                }
                _ => {}
            }
        }
        if let Some(e) = get("error") {
            let code: String = e
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Answer::fail(
                Outcome::Denied,
                StatusCode::FORBIDDEN,
                format!("claims gathering ended with {code}"),
            );
        }
        let ticket = get("ticket").map(|t| Value::String(t.to_owned()));
        if let Some(a) = self.rotate(&mut flow, ticket.as_ref()) {
            return a;
        }
        let verifier = verifier.filter(|_| !self.quirk(Quirk::ClientNoCodeVerifier));
        self.run(session, flow, verifier).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientConfig;
    use crate::types::ClientSecret;

    fn redirect(quirks: &[Quirk], endpoint: &str) -> Url {
        let mut config = ClientConfig::new("c", ClientSecret::new("s"));
        config.quirks = quirks.iter().copied().collect();
        let state = ClientState::new(config, "http://127.0.0.1:2".into());
        let ticket = PermissionTicket::new("t2");
        let flow = Flow {
            user: "bob".into(),
            resource: "http://127.0.0.1:3/r".into(),
            id_token: None,
            pushed: false,
            meta: AsMeta {
                issuer: "http://127.0.0.1:1".into(),
                token_endpoint: "http://127.0.0.1:1/token".into(),
                claims_endpoint: None,
                iss_supported: true,
                revocation_endpoint: None,
            },
            rs_ticket: PermissionTicket::new("t1"),
            ticket,
            polls: 0,
        };
        match state.redirect_to_claims("session", flow, endpoint) {
            Answer::Redirect(to) => Url::parse(&to).unwrap(),
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    fn names(u: &Url) -> Vec<String> {
        u.query_pairs().map(|(k, _)| k.into_owned()).collect()
    }

    #[test]
    fn the_claims_endpoint_query_is_kept_without_duplicating_the_client_parameters() {
        let u = redirect(&[], "http://127.0.0.1:1/claims?tenant=x&ticket=old");
        assert_eq!(
            names(&u),
            [
                "tenant",
                "client_id",
                "ticket",
                "claims_redirect_uri",
                "state",
                "code_challenge",
                "code_challenge_method"
            ]
        );
        assert!(u.query_pairs().any(|(k, v)| k == "ticket" && v == "t2"));
        assert!(
            u.query_pairs()
                .any(|(k, v)| k == "claims_redirect_uri" && v == "http://127.0.0.1:2/callback")
        );
    }

    #[test]
    fn quirk_drops_endpoint_query_loses_the_endpoint_parameters() {
        let u = redirect(&[Quirk::ClientDropsEndpointQuery], "http://127.0.0.1:1/claims?tenant=x");
        assert!(!names(&u).contains(&"tenant".to_owned()));
    }

    #[test]
    fn the_state_is_256_random_bits_and_the_verifier_43_characters() {
        let a = redirect(&[], "http://127.0.0.1:1/claims");
        let b = redirect(&[], "http://127.0.0.1:1/claims");
        let get = |u: &Url, n: &str| u.query_pairs().find(|(k, _)| k == n).map(|(_, v)| v.into_owned());
        assert_eq!(get(&a, "state").map(|s| s.len()), Some(43));
        assert_ne!(get(&a, "state"), get(&b, "state"));
        assert_ne!(get(&a, "code_challenge"), get(&b, "code_challenge"));
    }

    #[test]
    fn only_loopback_http_urls_are_accepted() {
        assert!(loopback_url("http://127.0.0.1:8080/x").is_some());
        assert!(loopback_url("https://localhost/x").is_some());
        assert!(loopback_url("http://[::1]:1/").is_some());
        assert!(loopback_url("http://example.com/").is_none());
        assert!(loopback_url("ftp://127.0.0.1/").is_none());
        assert!(loopback_url("/relative").is_none());
    }
}
