//! `wait`: bounded; a declared lifetime plus a margin, or a number of seconds.
//!
//! How the time passes depends on the run: against the embedded reference AS nothing sleeps:
//! the scenario's later requests ask the AS to read its clock that much later (its test
//! clock, [`WaitClock::Test`]); a profile with a clock adapter has the adapter move the AS's
//! clock; otherwise the step really waits.

use std::time::Duration;

use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::engine::WaitClock;
use crate::suite::step::wait::{Lifetime, MAX_WAIT, WaitStep};

impl Run for WaitStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let secs = match (&self.seconds, self.lifetime) {
            (Some(t), _) => ctx
                .subst(&t.0)?
                .as_f64()
                .ok_or_else(|| StepError::unusable("`wait.seconds` must be a number"))?,
            (None, Some(l)) => {
                let declared = match l {
                    Lifetime::Ticket => ctx.env.authz.profile.lifetimes.ticket,
                    Lifetime::Rpt => ctx.env.authz.profile.lifetimes.rpt,
                };
                let declared = declared.ok_or_else(|| {
                    StepError::unusable(format!(
                        "the target profile declares no {} lifetime (`lifetimes.{}`)",
                        l.as_str(),
                        l.as_str()
                    ))
                })?;
                declared as f64 + self.plus.unwrap_or(1.0)
            }
            (None, None) => return Err(StepError::unusable("`wait` needs `seconds` or `lifetime`")),
        };
        if !(0.0..=MAX_WAIT).contains(&secs) {
            return Err(StepError::unusable(format!("`wait` of {secs} s: at most {MAX_WAIT} s")));
        }
        match (ctx.env.options.clock, ctx.env.authz.profile.clock.clone()) {
            (WaitClock::Test, _) => ctx.ahead_ms += (secs * 1000.0).ceil() as u64,
            (WaitClock::Real, Some(adapter)) => crate::engine::adapter::advance_clock(ctx, &adapter, secs).await?,
            (WaitClock::Real, None) => tokio::time::sleep(Duration::from_secs_f64(secs)).await,
        }
        Ok(Response::default())
    }
}
