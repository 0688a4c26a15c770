//! `policy`: through the profile's policy adapter.

use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::suite::step::policy::PolicyStep;

impl Run for PolicyStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let rid = ctx.text(&self.resource.0)?;
        let pat = ctx.pat_value(&None).await?.unwrap_or_default();
        crate::engine::adapter::set_policy(ctx, &pat, &rid, self.all, &self.scopes).await
    }
}
