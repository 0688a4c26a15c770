//! `claims`: one pass through the claims interaction endpoint (UMA Grant §3.3.2), with `state`
//! and, under the ICG+PKCE profile, a PKCE challenge; the form is filled as the requesting party
//! and the redirect back is the response.

use std::collections::BTreeMap;

use serde_json::Value;

use super::browser::{FormFill, follow, is_redirect, submit_claims_form};
use super::drivers::{self, Ask};
use super::{Run, ScenarioCtx, StepError, setup, tv, with_query};
use crate::check::{Redirect, Response};
use crate::engine::http::Req;
use crate::profile::DriverKind;
use crate::suite::Capability;
use crate::suite::step::claims::{ClaimsStep, PkceMode};
use crate::template::Tpl;

impl Run for ClaimsStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError> {
        let s = self;
        let actor = ctx.actor(s.client.as_deref())?;
        let endpoint = match tv(&s.endpoint) {
            Some(v) => ctx.text(v)?,
            None => ctx.endpoint("claims_interaction_endpoint")?,
        };
        let mut params: Vec<(String, String)> = Vec::new();
        let opt =
            |ctx: &ScenarioCtx<'_>, v: &Option<Tpl>, default: Option<String>| -> Result<Option<String>, StepError> {
                match v {
                    Some(t) => {
                        let s = ctx.text(&t.0)?;
                        Ok(if s == "none" { None } else { Some(s) })
                    }
                    None => Ok(default),
                }
            };
        if let Some(id) = opt(ctx, &s.client_id, Some(actor.client_id.to_string()))? {
            params.push(("client_id".into(), id));
        }
        params.push(("ticket".into(), ctx.text(&s.ticket.0)?));
        let redirect_uri = opt(ctx, &s.redirect_uri, actor.claims_redirect_uris.first().cloned())?;
        if let Some(r) = &redirect_uri {
            params.push(("claims_redirect_uri".into(), r.clone()));
        }
        let state = opt(ctx, &s.state, Some(crate::engine::random_token()))?;
        if let Some(st) = &state {
            params.push(("state".into(), st.clone()));
            ctx.vars.insert("state".into(), Value::String(st.clone()));
        }
        let pkce = s
            .pkce
            .unwrap_or(if ctx.env.capabilities.contains(&Capability::ProfileIcgPkce) {
                PkceMode::S256
            } else {
                PkceMode::None
            });
        match pkce {
            PkceMode::None => {}
            PkceMode::S256 | PkceMode::Plain => {
                let verifier = match &s.code_verifier {
                    Some(v) => ctx.text(&v.0)?,
                    None => crate::uma::pkce::generate_verifier(),
                };
                let (challenge, method) = match pkce {
                    PkceMode::S256 => (crate::uma::pkce::s256_challenge(&verifier), "S256"),
                    _ => (verifier.clone(), "plain"),
                };
                params.push(("code_challenge".into(), challenge));
                params.push(("code_challenge_method".into(), method.into()));
                ctx.secret(&verifier);
                ctx.vars.insert("code_verifier".into(), Value::String(verifier));
            }
        }
        let back = redirect_uri
            .clone()
            .or_else(|| actor.claims_redirect_uris.first().cloned())
            .unwrap_or_default();
        // Arrived back: the Location is the claims redirection URI, whatever query or fragment the
        // target put on it (a fragment, rightly or wrongly placed, must not hide the arrival).
        let back_base = back.split(['?', '#']).next().unwrap_or(&back).to_string();
        let arrived = |loc: &str| !back_base.is_empty() && loc.starts_with(&back_base);
        let start = with_query(&endpoint, &params)?;
        let first_only = s.first_only.unwrap_or(false);
        let driver = ctx.env.authz.profile.claims.clone().unwrap_or_default();
        // The browser and the person open the claims URL themselves (a second visit would find
        // the ticket taken by the first); the harness asks itself only for the first answer.
        let by_driver = driver.driver != DriverKind::Form && !first_only;
        let mut url = start.clone();
        let mut resp = if by_driver {
            Response::default()
        } else {
            ctx.send(Req::new("GET", url.clone())).await?
        };
        if !first_only && !by_driver {
            (resp, url) = follow(ctx, resp, url, &arrived).await?;
        }
        if (resp.status == 200 || by_driver) && !first_only {
            let mut fill = BTreeMap::new();
            for (k, v) in &s.fill {
                fill.insert(k.clone(), ctx.text(&v.0)?);
            }
            let csrf_token = match &s.csrf_token {
                Some(t) => Some(ctx.text(&t.0)?),
                None => None,
            };
            if by_driver {
                let mut set_fields: Vec<(String, String)> = fill.into_iter().collect();
                set_fields.extend(csrf_token.map(|t| ("csrf_token".to_string(), t)));
                let ask = Ask {
                    start,
                    back: back_base.clone(),
                    button: s
                        .button
                        .clone()
                        .or_else(|| driver.submit.clone())
                        .unwrap_or_else(|| "submit".into()),
                    set_fields,
                    drop_cookies: s.drop_cookies.unwrap_or(false),
                };
                resp = match driver.driver {
                    DriverKind::Manual => drivers::manual(ctx, &driver, ask).await?,
                    _ => drivers::browser(ctx, &driver, ask).await?,
                };
            } else {
                let how = FormFill {
                    fill,
                    csrf_token,
                    drop_cookies: s.drop_cookies.unwrap_or(false),
                    button: s.button.as_deref(),
                };
                let http = ctx.http.clone();
                match submit_claims_form(ctx, &http, &resp, &url, how, &arrived).await? {
                    Some((r, _)) => resp = r,
                    None if scripted(&resp.text) => {
                        return Err(StepError::unusable(
                            "the claims page has no HTML form but runs scripts: its form is probably built by \
                             JavaScript, which the form driver cannot run; use `claims: { driver: browser }` (see \
                             README, \"Deployments\")",
                        ));
                    }
                    None => {
                        setup(explicit, false, "finding the claims form", &resp)?;
                        return Ok(resp);
                    }
                }
            }
        }
        if !by_driver {
            let back_redirect = resp
                .header("location")
                .filter(|l| arrived(l) && is_redirect(resp.status))
                .map(Redirect::parse);
            resp.redirect = back_redirect;
        }
        if let Some(st) = &state {
            ctx.secret(st);
        }
        let ok = resp.redirect.as_ref().is_some_and(|r| r.params.contains_key("ticket"));
        setup(explicit, ok, "gathering claims interactively", &resp)?;
        if let Some(r) = &resp.redirect {
            if let Some(t) = r.params.get("ticket") {
                let t = t.clone();
                ctx.secret(&t);
                ctx.vars.insert("ticket".into(), Value::String(t));
            }
            let v = resp.as_value();
            ctx.vars.insert("redirect".into(), v["redirect"].clone());
        }
        Ok(resp)
    }
}

/// Whether a page runs scripts (a `<script` element, case-insensitively).
fn scripted(html: &str) -> bool {
    html.to_ascii_lowercase().contains("<script")
}
