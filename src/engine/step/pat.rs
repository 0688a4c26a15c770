//! `pat`.

use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::suite::step::pat::PatStep;

impl Run for PatStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError> {
        ctx.obtain_pat(self.rs(), &self.variable(), self.scope.as_deref(), explicit)
            .await
    }
}
