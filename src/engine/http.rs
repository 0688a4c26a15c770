//! Sending requests and recording every exchange. Every request goes through the run's guarded
//! path (`crate::net::Policy`): allowed origins, the body cap, the timeouts.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::{ScenarioCtx, StepError};
use crate::check::{Redirect, Response};
use crate::net::{self, NetError, Policy};
use crate::outcome::Exchange;

/// Bodies are truncated to this in reports.
const REPORT_BODY: usize = 16 * 1024;

/// A request body.
#[derive(Clone, Debug)]
pub enum Body {
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
    /// `application/json`.
    Json(Value),
    /// Raw text with a content type.
    Raw(String, String),
}

/// A request to send.
#[derive(Clone, Debug)]
pub struct Req {
    /// Method.
    pub method: String,
    /// URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<Body>,
}

impl Req {
    /// A request.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Self {
            method: method.to_string(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }
    /// Adds a header.
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
    /// `Authorization: Bearer`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }
    /// HTTP Basic with form-urlencoded id and secret (RFC 6749 §2.3.1).
    pub fn basic(self, id: &str, secret: &str) -> Self {
        use base64::Engine;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let raw = format!("{}:{}", enc(id), enc(secret));
        self.header(
            "Authorization",
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw)),
        )
    }
    /// A form body.
    pub fn form(mut self, pairs: Vec<(String, String)>) -> Self {
        self.body = Some(Body::Form(pairs));
        self
    }
    /// A JSON body.
    pub fn json(mut self, v: Value) -> Self {
        self.body = Some(Body::Json(v));
        self
    }
}

fn truncate(s: &str) -> String {
    if s.len() <= REPORT_BODY {
        return s.to_string();
    }
    let mut end = REPORT_BODY;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes truncated]", &s[..end], s.len() - end)
}

impl ScenarioCtx<'_> {
    /// Sends a request, records the exchange, and returns the response.
    pub async fn send(&mut self, req: Req) -> Result<Response, StepError> {
        let (ex, resp) = transmit(&self.http, &self.env.net, (self.step, self.ahead_ms), req).await;
        self.exchanges.push(ex);
        let mut resp = resp?;
        resp.exchange = Some(self.exchanges.len() - 1);
        Ok(resp)
    }

    /// Sends a request with another HTTP client (another browser's cookie jar) and records it.
    pub async fn send_via(&mut self, http: &reqwest::Client, req: Req) -> Result<Response, StepError> {
        let (ex, resp) = transmit(http, &self.env.net, (self.step, self.ahead_ms), req).await;
        self.exchanges.push(ex);
        let mut resp = resp?;
        resp.exchange = Some(self.exchanges.len() - 1);
        Ok(resp)
    }

    /// Sends requests all at once and records their exchanges in the order given. A request that
    /// gets no answer ends the step with its error once all of them are back.
    pub async fn send_all(&mut self, reqs: Vec<Req>) -> Result<Vec<Response>, StepError> {
        let (http, policy, at) = (self.http.clone(), Arc::clone(&self.env.net), (self.step, self.ahead_ms));
        let mut set = tokio::task::JoinSet::new();
        for (i, req) in reqs.into_iter().enumerate() {
            let http = http.clone();
            let policy = Arc::clone(&policy);
            set.spawn(async move { (i, transmit(&http, &policy, at, req).await) });
        }
        let mut done = Vec::new();
        while let Some(j) = set.join_next().await {
            done.push(j.map_err(|e| StepError::unusable(format!("a parallel request failed to run: {e}")))?);
        }
        done.sort_by_key(|(i, _)| *i);
        let mut out = Vec::new();
        let mut first_err = None;
        for (_, (ex, resp)) in done {
            self.exchanges.push(ex);
            match resp {
                Ok(mut r) => {
                    r.exchange = Some(self.exchanges.len() - 1);
                    out.push(r);
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

/// A request the guarded path refused or got no answer to, as a step error.
fn step_error(method: &str, url: &str, e: &NetError) -> StepError {
    match e {
        NetError::Refused { .. } | NetError::Url { .. } | NetError::Method(_) => StepError::unusable(e.to_string()),
        _ => StepError::Transport {
            method: method.to_string(),
            url: url.to_string(),
            reason: net::chain(e),
        },
    }
}

/// Sends one request of step `at.0` through the guarded path; returns the exchange to record and
/// the response (or why there is none). An answer whose body is over the cap is kept (its first
/// bytes) and the exchange says the rest was not read. When the scenario has waited on the
/// reference AS's test clock (`at.1` ms), the request carries that as the test-clock header
/// (harness plumbing like the marker header, not part of the recorded exchange).
async fn transmit(
    http: &reqwest::Client,
    policy: &Policy,
    at: (usize, u64),
    req: Req,
) -> (Exchange, Result<Response, StepError>) {
    let (step, ahead_ms) = at;
    let mut ex = Exchange {
        step,
        method: req.method.clone(),
        url: req.url.clone(),
        ..Exchange::default()
    };
    let fail = |ex: &mut Exchange, e: NetError| {
        ex.transport_error = Some(net::chain(&e));
        step_error(&req.method, &req.url, &e)
    };
    let Ok(method) = reqwest::Method::from_bytes(req.method.as_bytes()) else {
        let e = fail(&mut ex, NetError::Method(req.method.clone()));
        return (ex, Err(e));
    };
    // Checked before anything is built: a refused URL never meets a credential.
    let url = match policy.check(&req.url) {
        Ok(u) => u,
        Err(e) => {
            let e = fail(&mut ex, e);
            return (ex, Err(e));
        }
    };
    let mut rb = http.request(method, url);
    for (k, v) in &req.headers {
        rb = rb.header(k, v);
    }
    if ahead_ms > 0 {
        rb = rb.header(uma_reference_server::core::TEST_CLOCK_HEADER, ahead_ms.to_string());
    }
    let mut headers = req.headers.clone();
    let body_text = match &req.body {
        None => None,
        Some(Body::Form(pairs)) => {
            let t = serde_urlencoded::to_string(pairs).unwrap_or_default();
            headers.push(("content-type".into(), crate::uma::grant::FORM_MEDIA_TYPE.into()));
            rb = rb
                .header("content-type", crate::uma::grant::FORM_MEDIA_TYPE)
                .body(t.clone());
            Some(t)
        }
        Some(Body::Json(v)) => {
            let t = v.to_string();
            headers.push(("content-type".into(), "application/json".into()));
            rb = rb.header("content-type", "application/json").body(t.clone());
            Some(t)
        }
        Some(Body::Raw(t, ct)) => {
            headers.push(("content-type".into(), ct.clone()));
            rb = rb.header("content-type", ct.as_str()).body(t.clone());
            Some(t.clone())
        }
    };
    ex.request_headers = headers;
    ex.request_body = body_text;
    let started = Instant::now();
    let answer = match policy.send(http, rb).await {
        Ok(a) => a,
        Err(e) => {
            ex.duration_ms = started.elapsed().as_millis() as u64;
            let e = fail(&mut ex, e);
            return (ex, Err(e));
        }
    };
    ex.transport_error = answer.incomplete().map(|why| {
        if answer.cut {
            format!("{why}; the rest was not read")
        } else {
            why
        }
    });
    let text = String::from_utf8_lossy(&answer.body).to_string();
    let json = serde_json::from_slice::<Value>(&answer.body).ok();
    ex.status = Some(answer.status);
    ex.response_headers = answer.headers.clone();
    ex.response_body = if text.is_empty() { None } else { Some(truncate(&text)) };
    ex.duration_ms = started.elapsed().as_millis() as u64;
    let redirect = answer.header("location").map(Redirect::parse);
    (
        ex,
        Ok(Response {
            status: answer.status,
            headers: answer.headers,
            text,
            json,
            redirect,
            exchange: None,
            extra: Default::default(),
        }),
    )
}
