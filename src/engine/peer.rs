//! Steps for RS and client targets: requests to the RS under test, the requesting party's browser
//! at the client under test, the traffic the target sent to the harness's counterparts, and hooks
//! that change how the counterparts answer.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::http::{Req, redirect_of};
use super::{Resp, ScenarioCtx, StepError};
use crate::counterpart::{Hook, HookAction, Party, Recorded};
use crate::suite::model::{BrowseStep, HookStep, RsRequestStep, TrafficStep};
use crate::world::PeerWorld;

/// Form and query parameters whose values are secrets (redacted in reports).
const SECRET_FORM_FIELDS: &[&str] = &[
    "ticket",
    "claim_token",
    "pct",
    "rpt",
    "code_verifier",
    "client_secret",
    "token",
    "refresh_token",
    "access_token",
];
/// Response members whose values are secrets.
const SECRET_RESPONSE_MEMBERS: &[&str] = &["access_token", "refresh_token", "pct", "ticket", "id_token"];

/// The most redirects a browse follows.
const MAX_HOPS: usize = 12;
/// The longest a hook may delay an answer.
const MAX_DELAY_MS: u64 = 15_000;

fn world<'a>(ctx: &ScenarioCtx<'a>) -> Result<&'a PeerWorld, StepError> {
    ctx.env
        .peer
        .as_deref()
        .ok_or_else(|| StepError("this step needs an RS or client target (the harness plays its AS)".into()))
}

/// The parsed UMA challenge of a response as JSON (for `save` and expectations).
pub fn challenge_value(resp: &Resp) -> Value {
    let (all, errors) = crate::uma::challenge::parse_all(resp.header_all("www-authenticate"));
    let schemes: Vec<Value> = all.iter().map(|c| Value::String(c.scheme.clone())).collect();
    let uma = all.iter().find(|c| c.is("UMA"));
    let mut notes: Vec<Value> = errors.iter().map(|e| Value::String(e.clone())).collect();
    match uma {
        None => json!({"present": false, "schemes": schemes, "notes": notes,
            "error": all.iter().find_map(|c| c.param("error"))}),
        Some(c) => {
            notes.extend(c.notes.iter().map(|n| Value::String(n.clone())));
            json!({
                "present": true,
                "scheme": c.scheme,
                "schemes": schemes,
                "as_uri": c.param("as_uri"),
                "ticket": c.param("ticket"),
                "realm": c.param("realm"),
                "notes": notes,
            })
        }
    }
}

fn normalised_permissions(r: &Value) -> Value {
    match r.get("json") {
        Some(Value::Array(a)) => Value::Array(a.clone()),
        Some(o @ Value::Object(_)) if o.get("resource_id").is_some() => Value::Array(vec![o.clone()]),
        _ => Value::Null,
    }
}

fn recorded_value(r: &Recorded) -> Value {
    let mut v = r.to_value();
    let perms = normalised_permissions(&v);
    let challenge = {
        let (all, _) = crate::uma::challenge::parse_all(
            r.response_headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
                .map(|(_, v)| v.as_str()),
        );
        all.iter()
            .find(|c| c.is("UMA"))
            .map(|c| json!({"as_uri": c.param("as_uri"), "ticket": c.param("ticket")}))
            .unwrap_or(Value::Null)
    };
    if let Some(o) = v.as_object_mut() {
        o.insert("permissions".into(), perms);
        o.insert("challenge".into(), challenge);
    }
    v
}

impl ScenarioCtx<'_> {
    /// The counterpart path an endpoint name stands for (`None`: every path of the party).
    fn peer_endpoint(&self, at: &str) -> Result<(Party, Option<String>), StepError> {
        let path_of = |url: &str| url::Url::parse(url).map(|u| u.path().to_string()).ok();
        Ok(match at {
            "as" => (Party::As, None),
            "rs" => (Party::Rs, None),
            "discovery" => (Party::As, Some("/.well-known/uma2-configuration".into())),
            p if p.starts_with('/') => (Party::As, Some(p.to_string())),
            name => {
                let url = self.env.endpoint(name).ok_or_else(|| {
                    StepError(format!(
                        "`{name}` is not a member of the harness AS's discovery document"
                    ))
                })?;
                (Party::As, path_of(&url))
            }
        })
    }

    /// Recorded requests of the target since `mark`, filtered by endpoint.
    fn observed(&self, mark: u64, at: Option<&str>) -> Result<Vec<Recorded>, StepError> {
        let w = world(self)?;
        let filter = match at {
            Some(a) => Some(self.peer_endpoint(a)?),
            None => None,
        };
        Ok(w.traffic
            .since(mark)
            .into_iter()
            .filter(|r| match &filter {
                None => true,
                Some((party, path)) => r.party == *party && path.as_ref().is_none_or(|p| *p == r.path),
            })
            .collect())
    }

    fn record_observed(&mut self, recs: &[Recorded]) {
        let Ok(w) = world(self) else { return };
        for r in recs {
            if !self.observed_seen.insert(r.seq) {
                continue;
            }
            let base = match r.party {
                Party::As => w.as_issuer.clone(),
                Party::Rs => w.rs_base.clone().unwrap_or_default(),
            };
            // Every token the target sent or got is a secret of the report.
            let v = r.to_value();
            let mut found: Vec<String> = Vec::new();
            if let Some(t) = v.get("bearer").and_then(Value::as_str) {
                found.push(t.to_string());
            }
            for (part, names) in [
                ("form", SECRET_FORM_FIELDS),
                ("query", SECRET_FORM_FIELDS),
                ("response", SECRET_RESPONSE_MEMBERS),
            ] {
                for n in names {
                    if let Some(t) = v.get(part).and_then(|p| p.get(*n)).and_then(Value::as_str) {
                        found.push(t.to_string());
                    }
                }
            }
            for t in found {
                self.secret(&t);
            }
            self.exchanges.push(r.to_exchange(&base, self.step));
        }
    }
}

/// `rs_request`.
pub async fn rs_request(ctx: &mut ScenarioCtx<'_>, s: &RsRequestStep) -> Result<Resp, StepError> {
    let w = world(ctx)?;
    let rs =
        w.rs.as_ref()
            .ok_or_else(|| StepError("`rs_request` needs an RS target".into()))?;
    let name = ctx.text(&Value::String(s.request.clone()))?;
    let r = rs.requests.get(&name).ok_or_else(|| {
        StepError(format!(
            "the target profile has no request `{}` (it has: {})",
            name,
            rs.requests.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let mut url = format!("{}{}", rs.base_url.trim_end_matches('/'), r.path);
    let method = r.method.clone().unwrap_or_else(|| "GET".into());
    let token = match &s.token {
        Some(t) => Some(ctx.text(&t.0)?),
        None => None,
    };
    let place = s.token_in.clone().unwrap_or_else(|| "header".into());
    if let Some(t) = &token {
        ctx.secret(t);
        if place == "query" || place == "both" {
            url = super::steps::with_query(&url, &[("access_token".into(), t.clone())])?;
        }
    }
    let mut req = Req::new(&method, url);
    if let Some(t) = &token
        && (place == "header" || place == "both")
    {
        req = req.bearer(t);
    }
    let mark = w.traffic.mark();
    let mut resp = ctx.send(req).await?;
    let observed = ctx.observed(mark, None)?;
    ctx.record_observed(&observed);
    let ch = challenge_value(&resp);
    if let Some(t) = ch.get("ticket").and_then(Value::as_str) {
        let t = t.to_string();
        ctx.secret(&t);
    }
    let obs: Vec<Value> = observed.iter().map(recorded_value).collect();
    resp.extra.insert("challenge".into(), ch);
    resp.extra
        .insert("observed".into(), json!({"count": obs.len(), "requests": obs}));
    Ok(resp)
}

/// `traffic`.
pub async fn traffic(ctx: &mut ScenarioCtx<'_>, s: &TrafficStep) -> Result<Resp, StepError> {
    let w = world(ctx)?;
    if s.quiet.unwrap_or(false) {
        tokio::time::sleep(w.quiet_window).await;
    }
    let mark = match &s.since {
        Some(t) => ctx
            .subst(&t.0)?
            .as_u64()
            .ok_or_else(|| StepError("`traffic.since` must be a mark (a number saved from `mark`)".into()))?,
        None => ctx.mark,
    };
    let recs = ctx.observed(mark, s.at.as_deref())?;
    ctx.record_observed(&recs);
    let reqs: Vec<Value> = recs.iter().map(recorded_value).collect();
    // Checks on the traffic point at the last matching request's exchange.
    let exchange = recs.last().and_then(|r| {
        let url_tail = r.path.clone();
        ctx.exchanges
            .iter()
            .rposition(|e| e.observed.is_some() && e.method == r.method && e.url.contains(&url_tail))
    });
    Ok(Resp {
        status: 0,
        json: Some(json!({"count": reqs.len(), "requests": reqs, "mark": w.traffic.mark()})),
        exchange,
        ..Resp::default()
    })
}

/// `hook`.
pub fn hook(ctx: &mut ScenarioCtx<'_>, s: &HookStep) -> Result<Resp, StepError> {
    let w = world(ctx)?;
    let (party, path) = ctx.peer_endpoint(&s.at)?;
    let to_map = |m: &BTreeMap<String, crate::suite::model::Tpl>| -> Result<Map<String, Value>, StepError> {
        m.iter().map(|(k, v)| Ok((k.clone(), ctx.subst(&v.0)?))).collect()
    };
    let headers = |m: &BTreeMap<String, crate::suite::model::Tpl>| -> Result<Vec<(String, String)>, StepError> {
        m.iter().map(|(k, v)| Ok((k.clone(), ctx.text(&v.0)?))).collect()
    };
    let action = match (&s.respond, &s.patch, s.delay_ms) {
        (Some(r), None, None) => HookAction::Respond {
            status: match &r.status {
                None => 200,
                Some(t) => ctx
                    .subst(&t.0)?
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| (100..=599).contains(n))
                    .ok_or_else(|| StepError("`hook.respond.status` must be an HTTP status (100-599)".into()))?,
            },
            headers: headers(&r.headers)?,
            body: match (&r.json, &r.text) {
                (Some(j), _) => Some(ctx.subst(&j.0)?),
                (None, Some(t)) => Some(Value::String(t.clone())),
                (None, None) => None,
            },
        },
        (None, Some(p), None) => HookAction::Patch {
            json: to_map(&p.json)?,
            redirect: to_map(&p.redirect)?,
            headers: headers(&p.headers)?,
        },
        (None, None, Some(ms)) if ms <= MAX_DELAY_MS => HookAction::Delay(Duration::from_millis(ms)),
        (None, None, Some(_)) => return Err(StepError(format!("`hook.delay_ms` is at most {MAX_DELAY_MS}"))),
        _ => {
            return Err(StepError(
                "a hook has exactly one of `respond`, `patch`, `delay_ms`".into(),
            ));
        }
    };
    w.traffic.add_hook(Hook {
        label: format!("{} (step {})", s.at, ctx.step + 1),
        party,
        path,
        when_error: s.when_error.clone(),
        when_status: s.when_status,
        times: s.times,
        action,
    });
    Ok(Resp::default())
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The browser (cookie jar) of a name.
fn browser(ctx: &mut ScenarioCtx<'_>, name: &str) -> Result<reqwest::Client, StepError> {
    if name == "main" {
        return Ok(ctx.http.clone());
    }
    if let Some(c) = ctx.browsers.get(name) {
        return Ok(c.clone());
    }
    let mut marker = reqwest::header::HeaderMap::new();
    marker.insert(
        crate::counterpart::traffic::HARNESS_HEADER,
        reqwest::header::HeaderValue::from_static("1"),
    );
    let c = reqwest::Client::builder()
        .default_headers(marker)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ctx.env.options.request_timeout)
        .cookie_store(true)
        .build()
        .map_err(|e| StepError(format!("cannot build a browser: {e}")))?;
    ctx.browsers.insert(name.to_string(), c.clone());
    Ok(c)
}

/// `browse`.
pub async fn browse(ctx: &mut ScenarioCtx<'_>, s: &BrowseStep) -> Result<Resp, StepError> {
    let w = world(ctx)?;
    let client = w
        .client
        .as_ref()
        .ok_or_else(|| StepError("`browse` needs a client target".into()))?;
    let main = s.browser.clone().unwrap_or_else(|| "main".into());
    let mut http = browser(ctx, &main)?;
    let mut url = match (&s.start, &s.url) {
        (Some(name), None) => {
            let path = crate::world::REFERENCE_RS_REQUESTS
                .iter()
                .find(|(n, ..)| n == name)
                .map(|(_, _, p, _)| *p)
                .ok_or_else(|| {
                    StepError(format!(
                        "`browse.start: {name}`: use read, other-scope or other-resource"
                    ))
                })?;
            let resource = format!("{}{path}", w.rs_base.clone().unwrap_or_default());
            let user = match &s.user {
                Some(u) => ctx.text(&u.0)?,
                None => ctx.rqp.sub.clone(),
            };
            let id_token = match &s.id_token {
                Some(t) => ctx.text(&t.0)?,
                None => String::new(),
            };
            if !id_token.is_empty() {
                ctx.secret(&id_token);
            }
            match (&client.start_url, &client.start_command) {
                (Some(u), _) => u
                    .replace("{resource}", &encode(&resource))
                    .replace("{user}", &encode(&user))
                    .replace("{id_token}", &encode(&id_token)),
                (None, Some(cmd)) => {
                    let mark = w.traffic.mark();
                    let mut resp = start_command(cmd, &resource, &user, &id_token).await?;
                    let observed = ctx.observed(mark, None)?;
                    ctx.record_observed(&observed);
                    let obs: Vec<Value> = observed.iter().map(recorded_value).collect();
                    resp.extra
                        .insert("observed".into(), json!({"count": obs.len(), "requests": obs}));
                    return Ok(resp);
                }
                (None, None) => return Err(StepError("the client profile has no start_url or start_command".into())),
            }
        }
        (None, Some(u)) => ctx.text(&u.0)?,
        _ => return Err(StepError("`browse` needs exactly one of `start` and `url`".into())),
    };
    let claims_endpoint = ctx.env.endpoint("claims_interaction_endpoint").unwrap_or_default();
    let callback_bases: Vec<String> = client
        .registration
        .claims_redirect_uris
        .iter()
        .map(|u| u.split(['?', '#']).next().unwrap_or(u).to_string())
        .collect();
    let as_base = w.as_issuer.clone();
    let mark = w.traffic.mark();
    let mut extra: BTreeMap<String, Value> = BTreeMap::new();
    let mut resp = ctx.send_via(&http, Req::new("GET", url.clone())).await?;
    for _ in 0..MAX_HOPS {
        if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
            break;
        }
        let Some(loc) = resp.header("location").map(str::to_string) else {
            break;
        };
        let next = url::Url::parse(&url)
            .and_then(|b| b.join(&loc))
            .map(|u| u.to_string())
            .unwrap_or(loc);
        let at_as = next.starts_with(&as_base);
        let to_claims =
            at_as && !claims_endpoint.is_empty() && next.starts_with(claims_endpoint.split('?').next().unwrap_or(""));
        let to_callback =
            callback_bases.iter().any(|b| next.starts_with(b.as_str())) || (!at_as && extra.contains_key("redirect"));
        if to_claims && !extra.contains_key("redirect") {
            let r = redirect_of(&next);
            extra.insert("redirect".into(), redirect_json(&r));
            ctx.vars.insert("claims_request".into(), redirect_json(&r));
            resp.redirect = Some(r);
            if s.stop_at_claims.unwrap_or(false) {
                break;
            }
            // The AS's claims form, filled as the requesting party.
            let (r2, at) = super::steps::claims_page(ctx, &http, next.clone(), s.button.as_deref(), &|l: &str| {
                !l.starts_with(&as_base)
            })
            .await?;
            resp = r2;
            url = at;
            continue;
        }
        if to_callback && !extra.contains_key("callback") {
            let mut r = redirect_of(&next);
            if let Some(t) = r.params.get("ticket") {
                let t = t.clone();
                ctx.secret(&t);
            }
            let original = redirect_json(&r);
            ctx.vars.insert("callback".into(), original.clone());
            extra.insert("callback".into(), original);
            if s.stop_at_callback.unwrap_or(false) {
                resp.redirect = Some(r);
                break;
            }
            let mut target = next.clone();
            if !s.tamper.is_empty() {
                let mut u =
                    url::Url::parse(&next).map_err(|e| StepError(format!("bad redirect back `{next}`: {e}")))?;
                let mut q: Vec<(String, String)> = u.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
                for (k, v) in &s.tamper {
                    let v = ctx.text(&v.0)?;
                    q.retain(|(n, _)| n != k);
                    if v != "none" {
                        q.push((k.clone(), v));
                    }
                }
                u.query_pairs_mut().clear().extend_pairs(q);
                target = u.to_string();
                r = redirect_of(&target);
                extra.insert("delivered".into(), redirect_json(&r));
            }
            ctx.vars.insert("callback_url".into(), Value::String(target.clone()));
            if let Some(b) = &s.callback_browser {
                http = browser(ctx, b)?;
            }
            url = target;
            resp = ctx.send_via(&http, Req::new("GET", url.clone())).await?;
            continue;
        }
        url = next;
        resp = ctx.send_via(&http, Req::new("GET", url.clone())).await?;
    }
    let observed = ctx.observed(mark, None)?;
    ctx.record_observed(&observed);
    let obs: Vec<Value> = observed.iter().map(recorded_value).collect();
    extra.insert("observed".into(), json!({"count": obs.len(), "requests": obs}));
    resp.extra.extend(extra);
    Ok(resp)
}

/// Runs a command-started client once; its exit status and stdout are the answer (200 or 500).
async fn start_command(
    cmd: &crate::target::peer::StartCommand,
    resource: &str,
    user: &str,
    id_token: &str,
) -> Result<Resp, StepError> {
    let args: Vec<String> = cmd
        .command
        .iter()
        .map(|a| {
            a.replace("{resource}", resource)
                .replace("{user}", user)
                .replace("{id_token}", id_token)
        })
        .collect();
    let Some((prog, rest)) = args.split_first() else {
        return Err(StepError("`start_command.command` is empty".into()));
    };
    let timeout = Duration::from_secs(cmd.timeout_seconds.unwrap_or(30));
    let run = tokio::process::Command::new(prog)
        .args(rest)
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(timeout, run).await {
        Err(_) => {
            return Err(StepError(format!(
                "the client command did not finish within {} s",
                timeout.as_secs()
            )));
        }
        Ok(Err(e)) => return Err(StepError(format!("cannot run the client command {prog}: {e}"))),
        Ok(Ok(o)) => o,
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok(Resp {
        status: if out.status.success() { 200 } else { 500 },
        json: serde_json::from_str(&text).ok(),
        text,
        ..Resp::default()
    })
}

fn redirect_json(r: &super::Redirect) -> Value {
    let mut m: Map<String, Value> = r
        .params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    m.insert("location".into(), Value::String(r.location.clone()));
    m.insert(
        "repeated".into(),
        Value::Array(r.repeated.iter().map(|x| Value::String(x.clone())).collect()),
    );
    Value::Object(m)
}
