//! `assert`: the expectations look at the variables.

use serde_json::Value;

use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::suite::step::assert::AssertStep;

impl Run for AssertStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        Ok(Response::of_json(Value::Object(ctx.vars.clone().into_iter().collect())))
    }
}
