//! `traffic`: the target's requests to the counterparts, optionally after the quiet window.

use serde_json::{Value, json};

use super::peer::{recorded_value, world};
use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::suite::step::traffic::TrafficStep;

impl Run for TrafficStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let s = self;
        let w = world(ctx)?;
        if s.quiet.unwrap_or(false) {
            tokio::time::sleep(w.quiet_window).await;
        }
        let mark = match &s.since {
            Some(t) => ctx
                .subst(&t.0)?
                .as_u64()
                .ok_or_else(|| StepError::unusable("`traffic.since` must be a mark (a number saved from `mark`)"))?,
            None => ctx.mark,
        };
        let mut recs = ctx.observed(mark, s.at.as_deref())?;
        if let Some(n) = s.first {
            recs.truncate(n);
        }
        ctx.record_observed(&recs);
        let reqs: Vec<Value> = recs.iter().map(recorded_value).collect();
        // Checks on the traffic point at the last matching request's exchange.
        let exchange = recs.last().and_then(|r| {
            let url_tail = r.path.clone();
            ctx.exchanges
                .iter()
                .rposition(|e| e.observed.is_some() && e.method == r.method && e.url.contains(&url_tail))
        });
        Ok(Response {
            status: 0,
            json: Some(json!({"count": reqs.len(), "requests": reqs, "mark": w.traffic.mark()})),
            exchange,
            ..Response::default()
        })
    }
}
