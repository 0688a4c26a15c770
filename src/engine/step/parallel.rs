//! `parallel`: the copies go out at once; the expectations see a summary of the answers.

use serde_json::{Value, json};

use super::token::token_request;
use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::suite::step::parallel::ParallelStep;

impl Run for ParallelStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let req = token_request(ctx, &self.token)?;
        let resps = ctx.send_all(vec![req; usize::from(self.count)]).await?;
        for r in &resps {
            for k in ["access_token", "refresh_token", "pct"] {
                if let Some(v) = r.body_str(k) {
                    let v = v.to_string();
                    ctx.secret(&v);
                }
            }
        }
        let errors: Vec<Value> = resps
            .iter()
            .map(|r| r.body("error").cloned().unwrap_or(Value::Null))
            .collect();
        let succeeded = resps
            .iter()
            .filter(|r| r.status == 200 && r.body("access_token").is_some())
            .count();
        let not_invalid_grant = resps
            .iter()
            .filter(|r| !(r.status == 400 && r.body_str("error") == Some("invalid_grant")))
            .count();
        Ok(Response::of_json(json!({
            "count": resps.len(),
            "statuses": resps.iter().map(|r| r.status).collect::<Vec<_>>(),
            "errors": errors,
            "succeeded": succeeded,
            "not_invalid_grant": not_invalid_grant,
        })))
    }
}
