//! `revoke`: RFC 7009.

use super::{Run, ScenarioCtx, StepError, setup};
use crate::check::Response;
use crate::engine::http::Req;
use crate::suite::step::revoke::RevokeStep;

impl Run for RevokeStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError> {
        let actor = ctx.actor(self.client.as_deref())?;
        let mut form = vec![("token".to_string(), ctx.text(&self.token.0)?)];
        if let Some(h) = &self.hint {
            form.push(("token_type_hint".into(), h.clone()));
        }
        let req = ctx.authenticated(
            Req::new("POST", ctx.endpoint("revocation_endpoint")?),
            &actor,
            self.auth,
            form,
        );
        let resp = ctx.send(req).await?;
        setup(explicit, resp.status == 200, "revoking a token", &resp)?;
        Ok(resp)
    }
}
