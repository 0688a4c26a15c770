//! `rs_request`: a request to the RS under test; what the RS asked the harness's AS meanwhile
//! comes with the response.

use serde_json::{Value, json};

use super::peer::{recorded_value, world};
use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::engine::http::Req;
use crate::suite::step::rs_request::{RsRequestStep, TokenPlacement};

impl Run for RsRequestStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let s = self;
        let w = world(ctx)?;
        let rs =
            w.rs.as_ref()
                .ok_or_else(|| StepError::unusable("`rs_request` needs an RS target"))?;
        let name = ctx.text(&Value::String(s.request.clone()))?;
        let r = rs.requests.get(&name).ok_or_else(|| {
            StepError::unusable(format!(
                "the target profile has no request `{}` (it has: {})",
                name,
                rs.requests.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let mut url = format!("{}{}", rs.base_url.trim_end_matches('/'), r.path);
        let method = r.method.clone().unwrap_or_else(|| "GET".into());
        let token = match &s.token {
            Some(t) => Some(ctx.text(&t.0)?),
            None => None,
        };
        let place = s.token_in.unwrap_or_default();
        if let Some(t) = &token {
            ctx.secret(t);
            if matches!(place, TokenPlacement::Query | TokenPlacement::Both) {
                url = super::with_query(&url, &[("access_token".into(), t.clone())])?;
            }
        }
        let mut req = Req::new(&method, url);
        if let Some(t) = &token
            && matches!(place, TokenPlacement::Header | TokenPlacement::Both)
        {
            req = req.bearer(t);
        }
        let mark = w.traffic.mark();
        let mut resp = ctx.send(req).await?;
        let observed = ctx.observed(mark, None)?;
        ctx.record_observed(&observed);
        let ch = crate::uma::challenge::describe(resp.header_all("www-authenticate"));
        if let Some(t) = ch.get("ticket").and_then(Value::as_str) {
            let t = t.to_string();
            ctx.secret(&t);
        }
        let obs: Vec<Value> = observed.iter().map(recorded_value).collect();
        resp.extra.insert("challenge".into(), ch);
        resp.extra
            .insert("observed".into(), json!({"count": obs.len(), "requests": obs}));
        Ok(resp)
    }
}
