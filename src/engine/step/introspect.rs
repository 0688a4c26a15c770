//! `introspect`: RFC 7662 with the PAT (FedAuthz §5.1).

use super::{Run, ScenarioCtx, StepError, setup};
use crate::check::Response;
use crate::engine::http::Req;
use crate::suite::step::introspect::IntrospectStep;

impl Run for IntrospectStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError> {
        let pat = ctx.pat_value(&self.pat).await?;
        let mut form = vec![("token".to_string(), ctx.text(&self.token.0)?)];
        if let Some(h) = &self.hint {
            form.push(("token_type_hint".into(), h.clone()));
        }
        let mut req = Req::new("POST", ctx.endpoint("introspection_endpoint")?).form(form);
        if let Some(p) = &pat {
            req = req.bearer(p);
        }
        let resp = ctx.send(req).await?;
        let ok = resp.status == 200 && resp.body("active").is_some();
        setup(explicit, ok, "introspecting a token", &resp)?;
        Ok(resp)
    }
}
