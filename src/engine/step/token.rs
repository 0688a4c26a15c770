//! `token`: the token endpoint (UMA Grant §3.3.1), by default with the UMA grant.

use serde_json::json;

use super::{Run, ScenarioCtx, StepError, setup};
use crate::check::Response;
use crate::engine::http::Req;
use crate::suite::step::token::TokenStep;
use crate::template::Tpl;
use crate::uma::grant::{ID_TOKEN_FORMAT, UMA_GRANT};

/// The token request a `token` step describes.
pub(super) fn token_request(ctx: &ScenarioCtx<'_>, s: &TokenStep) -> Result<Req, StepError> {
    let actor = ctx.actor(s.client.as_deref())?;
    let grant = s.grant_type.clone().unwrap_or_else(|| UMA_GRANT.into());
    let mut form: Vec<(String, String)> = vec![("grant_type".into(), grant.clone())];
    let add =
        |ctx: &ScenarioCtx<'_>, k: &str, v: &Option<Tpl>, form: &mut Vec<(String, String)>| -> Result<(), StepError> {
            if let Some(t) = v {
                form.push((k.to_string(), ctx.text(&t.0)?));
            }
            Ok(())
        };
    if grant == UMA_GRANT && s.ticket.is_none() && !s.params.contains_key("ticket") {
        form.push(("ticket".into(), ctx.text(&json!("$ticket"))?));
    }
    add(ctx, "ticket", &s.ticket, &mut form)?;
    add(ctx, "scope", &s.scope, &mut form)?;
    add(ctx, "claim_token", &s.claim_token, &mut form)?;
    if s.claim_token.is_some() && s.claim_token_format.is_none() {
        form.push(("claim_token_format".into(), ID_TOKEN_FORMAT.into()));
    }
    add(ctx, "claim_token_format", &s.claim_token_format, &mut form)?;
    add(ctx, "pct", &s.pct, &mut form)?;
    add(ctx, "rpt", &s.rpt, &mut form)?;
    add(ctx, "refresh_token", &s.refresh_token, &mut form)?;
    add(ctx, "code_verifier", &s.code_verifier, &mut form)?;
    for (k, v) in &s.params {
        form.push((k.clone(), ctx.text(&v.0)?));
    }
    let mut req = ctx.authenticated(Req::new("POST", ctx.endpoint("token_endpoint")?), &actor, s.auth, form);
    if let Some(m) = &s.method {
        req.method = m.clone();
    }
    Ok(req)
}

impl Run for TokenStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError> {
        let req = token_request(ctx, self)?;
        let resp = ctx.send(req).await?;
        let ok = resp.status == 200 && resp.body("access_token").is_some();
        setup(explicit, ok, "obtaining a token", &resp)?;
        if resp.status == 200 {
            let name = self.save_as.clone().unwrap_or_else(|| "rpt".into());
            ctx.save_str(&name, resp.body("access_token"));
            ctx.save_str("refresh_token", resp.body("refresh_token"));
            ctx.save_str("pct", resp.body("pct"));
        } else if resp.body("ticket").is_some() {
            ctx.save_str("ticket", resp.body("ticket"));
        }
        Ok(resp)
    }
}
