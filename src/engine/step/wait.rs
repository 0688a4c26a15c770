//! `wait`: bounded.

use std::time::Duration;

use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::suite::step::wait::{MAX_WAIT, WaitStep};

impl Run for WaitStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let secs = ctx
            .subst(&self.seconds.0)?
            .as_f64()
            .ok_or_else(|| StepError::unusable("`wait.seconds` must be a number"))?;
        if !(0.0..=MAX_WAIT).contains(&secs) {
            return Err(StepError::unusable(format!(
                "`wait.seconds` must be between 0 and {MAX_WAIT}"
            )));
        }
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        Ok(Response::default())
    }
}
