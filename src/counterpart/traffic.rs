//! The traffic recorder and the hooks: an axum layer around a counterpart's router that keeps
//! every request the target made (and the answer it got) and lets a scenario replace or patch
//! answers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use axum::middleware::Next;
use serde_json::{Map, Value, json};

use super::pat_owner::PatOwnerResolver;
use crate::uma::grant::{FORM_MEDIA_TYPE, media_type};

/// Request and response bodies kept at most this large.
const MAX_BODY: usize = 1 << 20;
/// At most this many requests are kept (a runaway target cannot exhaust memory).
const MAX_RECORDS: usize = 10_000;

/// Which counterpart saw a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The counterpart authorization server.
    As,
    /// The counterpart resource server.
    Rs,
}

impl Party {
    /// `as` or `rs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::As => "as",
            Self::Rs => "rs",
        }
    }
}

/// One request the target made to a counterpart, with the answer it got.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Order of arrival.
    pub seq: u64,
    /// Milliseconds since the recorder started.
    pub at_ms: u64,
    /// The counterpart.
    pub party: Party,
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Request body text.
    pub body: String,
    /// Response status.
    pub status: u16,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// Response body text.
    pub response_body: String,
    /// The hook that answered or changed the response, if any.
    pub hooked: Option<String>,
    /// The resource owner the request's bearer token stands for, as the counterpart that
    /// received it resolved it when the request arrived (`None`: no bearer token, not a valid
    /// PAT, or a counterpart that cannot tell). The token itself is not kept here.
    pub pat_owner: Option<String>,
}

fn pairs(s: &str) -> Value {
    let mut m = Map::new();
    let mut repeated = Vec::new();
    for (k, v) in url::form_urlencoded::parse(s.as_bytes()) {
        if m.contains_key(k.as_ref()) {
            repeated.push(Value::String(k.to_string()));
            continue;
        }
        m.insert(k.to_string(), Value::String(v.to_string()));
    }
    if !repeated.is_empty() {
        m.insert("__repeated".into(), Value::Array(repeated));
    }
    Value::Object(m)
}

/// A request body as form parameters: when it is labelled `application/x-www-form-urlencoded`,
/// or when it is not JSON and carries no Content-Type or a text one (real client libraries send
/// form bodies without one, or mislabelled): what was sent is judged, and the label is its own
/// finding (`form-content-type`, R6749-13).
fn form_of(content_type: Option<&str>, body: &str) -> Value {
    let media = content_type.map(media_type);
    let labelled = media.as_deref() == Some(FORM_MEDIA_TYPE);
    let unlabelled_form = media.as_deref().is_none_or(|m| m.starts_with("text/"))
        && !body.trim().is_empty()
        && serde_json::from_str::<Value>(body).is_err();
    if labelled || unlabelled_form {
        pairs(body)
    } else {
        Value::Null
    }
}

impl Recorded {
    /// A request header (case-insensitive), the first one.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request as JSON for scenario expectations: `method`, `path`, `query` (map), `form`
    /// (map, for form bodies), `json`, `authorization` (the scheme only), `bearer` (the token),
    /// `headers` (lower-case names), `status`, `response` (JSON body or text), `at_ms`, and
    /// `pat_owner` (the resource owner the bearer token stands for at the counterpart AS, when
    /// it is a valid PAT there).
    pub fn to_value(&self) -> Value {
        let ct = self.header("content-type");
        let form = form_of(ct, &self.body);
        let body_json = serde_json::from_str::<Value>(&self.body).ok();
        let auth = self.header("authorization").unwrap_or("");
        let (scheme, cred) = auth.split_once(' ').unwrap_or((auth, ""));
        let mut headers = Map::new();
        for (k, v) in &self.headers {
            headers
                .entry(k.to_ascii_lowercase())
                .or_insert_with(|| Value::String(v.clone()));
        }
        let response = serde_json::from_str::<Value>(&self.response_body)
            .unwrap_or_else(|_| Value::String(self.response_body.clone()));
        let mut response_headers = Map::new();
        for (k, v) in &self.response_headers {
            response_headers
                .entry(k.to_ascii_lowercase())
                .or_insert_with(|| Value::String(v.clone()));
        }
        let mut v = json!({
            "seq": self.seq,
            "at_ms": self.at_ms,
            "party": self.party.as_str(),
            "method": self.method,
            "path": self.path,
            "query": pairs(&self.query),
            "form": form,
            "json": body_json.unwrap_or(Value::Null),
            "authorization": if scheme.is_empty() { Value::Null } else { Value::String(scheme.to_string()) },
            "bearer": if scheme.eq_ignore_ascii_case("bearer") { Value::String(cred.trim().to_string()) } else { Value::Null },
            "headers": headers,
            "content_type": ct,
            "status": self.status,
            "response": response,
            "response_headers": response_headers,
        });
        if let (Some(h), Some(o)) = (&self.hooked, v.as_object_mut()) {
            o.insert("hooked".into(), Value::String(h.clone()));
        }
        if let (Some(owner), Some(o)) = (&self.pat_owner, v.as_object_mut()) {
            o.insert("pat_owner".into(), Value::String(owner.clone()));
        }
        v
    }

    /// The request as a report exchange.
    pub fn to_exchange(&self, base: &str, step: usize) -> crate::outcome::Exchange {
        let url = if self.query.is_empty() {
            format!("{base}{}", self.path)
        } else {
            format!("{base}{}?{}", self.path, self.query)
        };
        crate::outcome::Exchange {
            step,
            method: self.method.clone(),
            url,
            request_headers: self.headers.clone(),
            request_body: (!self.body.is_empty()).then(|| self.body.clone()),
            status: Some(self.status),
            response_headers: self.response_headers.clone(),
            response_body: (!self.response_body.is_empty()).then(|| self.response_body.clone()),
            transport_error: None,
            duration_ms: 0,
            observed: Some(format!("target → counterpart {}", self.party.as_str())),
            command: None,
        }
    }
}

/// What a hook does.
#[derive(Clone, Debug)]
pub enum HookAction {
    /// Answer instead of the counterpart.
    Respond {
        /// Status.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// Body (a JSON value, or a string sent as text).
        body: Option<Value>,
    },
    /// Let the counterpart answer, then change the answer.
    Patch {
        /// JSON members to set (top level; `{request.form.x}` / `{request.query.x}` take the
        /// request's values); `null` removes the member.
        json: Map<String, Value>,
        /// Query parameters of the `Location` header to set (`null` removes).
        redirect: Map<String, Value>,
        /// Headers to set (an empty value removes).
        headers: Vec<(String, String)>,
    },
    /// Do not answer for this long, then let the counterpart answer (timeouts).
    Delay(Duration),
}

/// A scenario's rule for one counterpart endpoint.
#[derive(Clone, Debug)]
pub struct Hook {
    /// A label for reports.
    pub label: String,
    /// The counterpart.
    pub party: Party,
    /// The path (exact), or `None` for every path of the party.
    pub path: Option<String>,
    /// Only when the counterpart's own answer has this `error` member.
    pub when_error: Option<String>,
    /// Only when the counterpart's own answer has this status.
    pub when_status: Option<u16>,
    /// How many times it may fire (None: unbounded).
    pub times: Option<u32>,
    /// What it does.
    pub action: HookAction,
}

pub use crate::net::HARNESS_HEADER;

struct Inner {
    /// Requests whose User-Agent starts with one of these are not the target's (the harness's
    /// own counterpart RS calling the counterpart AS).
    ignore_agents: Vec<String>,
    records: Vec<Recorded>,
    hooks: Vec<(Hook, u32)>,
    seq: u64,
    /// Per party, how bearer tokens are resolved to the resource owner they stand for.
    owners: Vec<(Party, PatOwnerResolver)>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("ignore_agents", &self.ignore_agents)
            .field("records", &self.records.len())
            .field("hooks", &self.hooks.len())
            .field("seq", &self.seq)
            .field(
                "owner_resolvers",
                &self.owners.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The shared recorder and hook table of a run's counterparts.
#[derive(Clone, Debug)]
pub struct Traffic {
    inner: Arc<Mutex<Inner>>,
    started: Instant,
}

impl Default for Traffic {
    fn default() -> Self {
        Self::new()
    }
}

fn headers_of(h: &axum::http::HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn subst_request(v: &Value, form: &Value, query: &Value, body: &Value) -> Value {
    match v {
        Value::String(s) if s.starts_with("{request.") && s.ends_with('}') => {
            let path = &s[9..s.len() - 1];
            let (src, key) = path.split_once('.').unwrap_or((path, ""));
            let from = match src {
                "form" => form,
                "query" => query,
                "json" => body,
                _ => return v.clone(),
            };
            from.get(key).cloned().unwrap_or(Value::Null)
        }
        _ => v.clone(),
    }
}

impl Traffic {
    /// An empty recorder.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                ignore_agents: Vec::new(),
                records: Vec::new(),
                hooks: Vec::new(),
                seq: 0,
                owners: Vec::new(),
            })),
            started: Instant::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The sequence number the next request will get (a scenario's start mark).
    pub fn mark(&self) -> u64 {
        self.lock().seq
    }

    /// Requests recorded since `mark`.
    pub fn since(&self, mark: u64) -> Vec<Recorded> {
        self.lock().records.iter().filter(|r| r.seq >= mark).cloned().collect()
    }

    /// Leaves requests whose User-Agent starts with `prefix` out of the record.
    pub fn ignore_agent(&self, prefix: &str) {
        self.lock().ignore_agents.push(prefix.to_string());
    }

    /// Records, for the target's requests to `party` that carry a bearer token, the resource
    /// owner `resolver` says that token stands for (`pat_owner`).
    pub fn resolve_pat_owners(&self, party: Party, resolver: PatOwnerResolver) {
        let mut inner = self.lock();
        inner.owners.retain(|(p, _)| *p != party);
        inner.owners.push((party, resolver));
    }

    /// The resource owner the bearer token of `authorization` (a request's header value) stands
    /// for at `party`, if that party resolves tokens.
    async fn pat_owner(&self, party: Party, authorization: Option<&str>) -> Option<String> {
        let authorization = authorization?.to_string();
        let resolver = self
            .lock()
            .owners
            .iter()
            .find(|(p, _)| *p == party)
            .map(|(_, r)| r.clone())?;
        resolver(authorization).await
    }

    /// Adds a hook.
    pub fn add_hook(&self, hook: Hook) {
        self.lock().hooks.push((hook, 0));
    }

    /// Removes every hook (end of a scenario).
    pub fn clear_hooks(&self) {
        self.lock().hooks.clear();
    }

    /// Wraps `router` so that every request through it is recorded as `party`'s.
    pub fn layer(&self, router: axum::Router, party: Party) -> axum::Router {
        router.layer(axum::middleware::from_fn_with_state((self.clone(), party), record))
    }

    fn take_hook(
        &self,
        party: Party,
        path: &str,
        phase_respond: bool,
        status: u16,
        error: Option<&str>,
    ) -> Option<Hook> {
        let mut inner = self.lock();
        for (h, fired) in inner.hooks.iter_mut() {
            let respond_phase = !matches!(h.action, HookAction::Patch { .. });
            if h.party != party
                || h.path.as_deref().is_some_and(|p| p != path)
                || respond_phase != phase_respond
                || h.times.is_some_and(|t| *fired >= t)
            {
                continue;
            }
            if !phase_respond {
                if h.when_status.is_some_and(|s| s != status) {
                    continue;
                }
                if let Some(e) = &h.when_error
                    && error != Some(e.as_str())
                {
                    continue;
                }
            }
            *fired += 1;
            return Some(h.clone());
        }
        None
    }

    /// Whether a request is the target's: not the harness's own (its marker header) and not one
    /// of the harness's other counterparts (their User-Agent). Only the target's requests are
    /// recorded and meet hooks.
    fn is_target_request(&self, headers: &axum::http::HeaderMap) -> bool {
        let agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        !headers.contains_key(HARNESS_HEADER)
            && !self.lock().ignore_agents.iter().any(|a| agent.starts_with(a.as_str()))
    }

    fn push(&self, mut r: Recorded) {
        let mut inner = self.lock();
        r.seq = inner.seq;
        inner.seq += 1;
        if inner.records.len() >= MAX_RECORDS {
            inner.records.remove(0);
        }
        inner.records.push(r);
    }
}

fn text_response(status: u16, headers: &[(String, String)], body: Option<&Value>) -> Response<Body> {
    let (bytes, ct) = match body {
        None => (Vec::new(), None),
        Some(Value::String(s)) => (s.clone().into_bytes(), Some("text/plain; charset=utf-8")),
        Some(v) => (v.to_string().into_bytes(), Some("application/json")),
    };
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(ct) = ct {
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v.as_str())) {
            resp.headers_mut().append(k, v);
        }
    }
    resp
}

async fn record(State((traffic, party)): State<(Traffic, Party)>, req: Request, next: Next) -> Response<Body> {
    if !traffic.is_target_request(req.headers()) {
        return next.run(req).await;
    }
    let at_ms = traffic.started.elapsed().as_millis() as u64;
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let mut rec = Recorded {
        seq: 0,
        at_ms,
        party,
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
        headers: headers_of(&parts.headers),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        status: 0,
        response_headers: Vec::new(),
        response_body: String::new(),
        hooked: None,
        pat_owner: None,
    };
    // Resolved before the counterpart answers: what the token stood for when it was presented.
    rec.pat_owner = traffic.pat_owner(party, rec.header("authorization")).await;
    let form = form_of(rec.header("content-type"), &rec.body);
    let qv = pairs(&query);
    let jv = serde_json::from_str::<Value>(&rec.body).unwrap_or(Value::Null);
    // Respond-phase hooks (answer instead of the counterpart, or delay it).
    let mut response = None;
    if let Some(h) = traffic.take_hook(party, &path, true, 0, None) {
        rec.hooked = Some(h.label.clone());
        match &h.action {
            HookAction::Respond { status, headers, body } => {
                let body = body.as_ref().map(|b| match b {
                    Value::Object(m) => Value::Object(
                        m.iter()
                            .map(|(k, v)| (k.clone(), subst_request(v, &form, &qv, &jv)))
                            .collect(),
                    ),
                    other => other.clone(),
                });
                response = Some(text_response(*status, headers, body.as_ref()));
            }
            HookAction::Delay(d) => tokio::time::sleep(*d).await,
            HookAction::Patch { .. } => {}
        }
    }
    let response = match response {
        Some(r) => r,
        None => {
            let req = Request::from_parts(parts, Body::from(bytes));
            next.run(req).await
        }
    };
    let (mut rparts, rbody) = response.into_parts();
    let mut rbytes = axum::body::to_bytes(rbody, MAX_BODY).await.unwrap_or_default().to_vec();
    let rjson = serde_json::from_slice::<Value>(&rbytes).ok();
    let error = rjson.as_ref().and_then(|j| j.get("error")).and_then(Value::as_str);
    if let Some(h) = traffic.take_hook(party, &path, false, rparts.status.as_u16(), error) {
        rec.hooked = Some(h.label.clone());
        if let HookAction::Patch {
            json,
            redirect,
            headers,
        } = &h.action
        {
            if !json.is_empty()
                && let Some(Value::Object(mut m)) = rjson.clone()
            {
                for (k, v) in json {
                    match subst_request(v, &form, &qv, &jv) {
                        Value::Null => {
                            m.remove(k);
                        }
                        v => {
                            m.insert(k.clone(), v);
                        }
                    }
                }
                rbytes = Value::Object(m).to_string().into_bytes();
                rparts.headers.remove(axum::http::header::CONTENT_LENGTH);
            }
            if !redirect.is_empty()
                && let Some(loc) = rparts.headers.get(axum::http::header::LOCATION)
                && let Ok(mut url) = url::Url::parse(&String::from_utf8_lossy(loc.as_bytes()))
            {
                let mut q: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
                for (k, v) in redirect {
                    q.retain(|(n, _)| n != k);
                    if let Value::String(s) = subst_request(v, &form, &qv, &jv) {
                        q.push((k.clone(), s));
                    }
                }
                url.query_pairs_mut().clear().extend_pairs(q);
                if let Ok(v) = HeaderValue::try_from(url.as_str()) {
                    rparts.headers.insert(axum::http::header::LOCATION, v);
                }
            }
            for (k, v) in headers {
                if let Ok(name) = HeaderName::try_from(k.as_str()) {
                    rparts.headers.remove(&name);
                    if !v.is_empty()
                        && let Ok(v) = HeaderValue::try_from(v.as_str())
                    {
                        rparts.headers.insert(name, v);
                    }
                }
            }
        }
    }
    rec.status = rparts.status.as_u16();
    rec.response_headers = headers_of(&rparts.headers);
    rec.response_body = String::from_utf8_lossy(&rbytes).into_owned();
    traffic.push(rec);
    Response::from_parts(rparts, Body::from(rbytes))
}
