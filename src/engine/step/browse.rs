//! `browse`: the requesting party's browser at the client under test, through claims gathering
//! at the harness's AS and back; or a command-started client run once.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::peer::{recorded_value, world};
use super::{Run, ScenarioCtx, StepError};
use crate::check::{Redirect, Response};
use crate::engine::http::Req;
use crate::suite::step::browse::BrowseStep;

/// The most redirects a browse follows.
const MAX_HOPS: usize = 12;

/// An access token of the client under test at the harness's AS, for clients that need one to
/// start (`{access_token}`): the client_credentials grant with the client's own credentials, for
/// `access_token_scope` or its registered scopes. A refusal is a set-up problem, never a finding.
async fn initial_access_token(
    ctx: &mut ScenarioCtx<'_>,
    client: &crate::profile::peer::ClientTargetProfile,
) -> Result<String, StepError> {
    let reg = &client.registration;
    let secret = match &reg.client_secret {
        Some(s) => crate::profile::resolve(s, "client.registration.client_secret", "the target profile")
            .map_err(|e| StepError::unusable(format!("`{{access_token}}`: {e}")))?
            .secret()
            .to_string(),
        None => String::new(),
    };
    let scope = client
        .access_token_scope
        .clone()
        .unwrap_or_else(|| reg.scopes.join(" "));
    let endpoint = ctx
        .env
        .endpoint("token_endpoint")
        .ok_or_else(|| StepError::unusable("`{access_token}`: the harness's AS has no token_endpoint"))?;
    let mut form = vec![("grant_type".to_string(), "client_credentials".to_string())];
    if !scope.is_empty() {
        form.push(("scope".into(), scope));
    }
    let req = Req::new("POST", endpoint).basic(&reg.client_id, &secret).form(form);
    let resp = ctx.send(req).await?;
    match resp.body_str("access_token") {
        Some(t) if resp.status == 200 => {
            let t = t.to_string();
            ctx.secret(&t);
            Ok(t)
        }
        _ => Err(StepError::unusable(format!(
            "`{{access_token}}`: the harness's AS did not give the client an access token ({})",
            resp.status_line()
        ))),
    }
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
    let c = crate::engine::ctx::browser_client(&ctx.env.net, None)?;
    ctx.browsers.insert(name.to_string(), c.clone());
    Ok(c)
}

impl Run for BrowseStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let s = self;
        let w = world(ctx)?;
        let client = w
            .client
            .as_ref()
            .ok_or_else(|| StepError::unusable("`browse` needs a client target"))?;
        let main = s.browser.clone().unwrap_or_else(|| "main".into());
        let mut http = browser(ctx, &main)?;
        let mut url = match (&s.start, &s.url) {
            (Some(name), None) => {
                let path = crate::counterpart::REFERENCE_RS_REQUESTS
                    .iter()
                    .find(|(n, ..)| n == name)
                    .map(|(_, _, p, _)| *p)
                    .ok_or_else(|| {
                        StepError::unusable(format!(
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
                let wants_token = client
                    .start_url
                    .iter()
                    .chain(client.start_command.iter().flat_map(|c| c.command.iter()))
                    .any(|a| a.contains("{access_token}"));
                let access_token = if wants_token {
                    initial_access_token(ctx, client).await?
                } else {
                    String::new()
                };
                match (&client.start_url, &client.start_command) {
                    (Some(u), _) => u
                        .replace("{resource}", &encode(&resource))
                        .replace("{user}", &encode(&user))
                        .replace("{id_token}", &encode(&id_token))
                        .replace("{access_token}", &encode(&access_token)),
                    (None, Some(cmd)) => {
                        let mark = w.traffic.mark();
                        let values = [
                            ("resource", resource.as_str()),
                            ("user", user.as_str()),
                            ("id_token", id_token.as_str()),
                            ("access_token", access_token.as_str()),
                        ];
                        let mut resp = crate::engine::command::run(ctx, cmd, &values).await?;
                        let observed = ctx.observed(mark, None)?;
                        ctx.record_observed(&observed);
                        let obs: Vec<Value> = observed.iter().map(recorded_value).collect();
                        resp.extra
                            .insert("observed".into(), json!({"count": obs.len(), "requests": obs}));
                        return Ok(resp);
                    }
                    (None, None) => {
                        return Err(StepError::unusable(
                            "the client profile has no start_url or start_command",
                        ));
                    }
                }
            }
            (None, Some(u)) => ctx.text(&u.0)?,
            _ => return Err(StepError::unusable("`browse` needs exactly one of `start` and `url`")),
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
            let to_claims = at_as
                && !claims_endpoint.is_empty()
                && next.starts_with(claims_endpoint.split('?').next().unwrap_or(""));
            let to_callback = callback_bases.iter().any(|b| next.starts_with(b.as_str()))
                || (!at_as && extra.contains_key("redirect"));
            if to_claims && !extra.contains_key("redirect") {
                let r = Redirect::parse(&next);
                extra.insert("redirect".into(), r.to_value());
                ctx.vars.insert("claims_request".into(), r.to_value());
                resp.redirect = Some(r);
                if s.stop_at_claims.unwrap_or(false) {
                    break;
                }
                // The AS's claims form, filled as the requesting party.
                let (r2, at) = super::claims_page(ctx, &http, next.clone(), s.button.as_deref(), &|l: &str| {
                    !l.starts_with(&as_base)
                })
                .await?;
                resp = r2;
                url = at;
                continue;
            }
            if to_callback && !extra.contains_key("callback") {
                let mut r = Redirect::parse(&next);
                if let Some(t) = r.params.get("ticket") {
                    let t = t.clone();
                    ctx.secret(&t);
                }
                let original = r.to_value();
                ctx.vars.insert("callback".into(), original.clone());
                extra.insert("callback".into(), original);
                if s.stop_at_callback.unwrap_or(false) {
                    resp.redirect = Some(r);
                    break;
                }
                let mut target = next.clone();
                if !s.tamper.is_empty() {
                    let mut u = url::Url::parse(&next)
                        .map_err(|e| StepError::unusable(format!("bad redirect back `{next}`: {e}")))?;
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
                    r = Redirect::parse(&target);
                    extra.insert("delivered".into(), r.to_value());
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
}
