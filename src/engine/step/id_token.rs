//! `id_token`: minted by the harness's identity provider.

use serde_json::Value;

use super::{Run, ScenarioCtx, StepError, tv};
use crate::check::Response;
use crate::counterpart::idp::IdTokenRequest;
use crate::suite::step::id_token::IdTokenStep;
use crate::template::to_text;

impl Run for IdTokenStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let email = match tv(&self.email) {
            Some(v) => match ctx.subst(v)? {
                Value::Null => None,
                other => Some(to_text(&other)),
            },
            None => Some(ctx.rqp.email.clone()),
        };
        let sub = match tv(&self.sub) {
            Some(v) => ctx.text(v)?,
            None => ctx.rqp.sub.clone(),
        };
        let aud = match tv(&self.aud) {
            Some(v) => match ctx.subst(v)? {
                Value::Array(a) => a.iter().map(to_text).collect(),
                other => vec![to_text(&other)],
            },
            None => vec![ctx.env.authz.issuer().to_string()],
        };
        let req = IdTokenRequest {
            sub,
            aud,
            email,
            expires_in: self.expires_in.unwrap_or(300),
            issuer: self.issuer.clone(),
            extra: serde_json::Map::new(),
        };
        let token = if self.forged.unwrap_or(false) {
            ctx.env.idp.mint_forged(&req)
        } else {
            ctx.env.idp.mint(&req)
        }
        .map_err(|e| StepError::unusable(format!("failed to mint an ID token: {e}")))?;
        ctx.secret(&token);
        let name = self.save_as.clone().unwrap_or_else(|| "id_token".into());
        ctx.vars.insert(name, Value::String(token));
        Ok(Response::default())
    }
}
