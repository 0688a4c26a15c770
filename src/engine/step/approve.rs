//! `approve`: through the profile's approval adapter.

use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::suite::step::approve::ApproveStep;

impl Run for ApproveStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let rid = ctx.text(&self.resource.0)?;
        let pat = ctx.pat_value(&None).await?.unwrap_or_default();
        crate::engine::adapter::approve(ctx, &pat, &rid, self.decision).await?;
        Ok(Response::default())
    }
}
