//! `hook`: a counterpart answers differently for the rest of the scenario.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::peer::world;
use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::counterpart::{Hook, HookAction};
use crate::suite::step::hook::{HookStep, MAX_DELAY_MS};

impl Run for HookStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let s = self;
        let w = world(ctx)?;
        let (party, path) = ctx.peer_endpoint(&s.at)?;
        let to_map = |m: &BTreeMap<String, crate::template::Tpl>| -> Result<Map<String, Value>, StepError> {
            m.iter().map(|(k, v)| Ok((k.clone(), ctx.subst(&v.0)?))).collect()
        };
        let headers = |m: &BTreeMap<String, crate::template::Tpl>| -> Result<Vec<(String, String)>, StepError> {
            m.iter().map(|(k, v)| Ok((k.clone(), ctx.text(&v.0)?))).collect()
        };
        let action = match (&s.respond, &s.patch, s.delay_ms) {
            (Some(r), None, None) => HookAction::Respond {
                status: match &r.status {
                    None => 200,
                    Some(t) => ctx
                        .subst(&t.0)?
                        .as_u64()
                        .and_then(|n| u16::try_from(n).ok())
                        .filter(|n| (100..=599).contains(n))
                        .ok_or_else(|| StepError::unusable("`hook.respond.status` must be an HTTP status (100-599)"))?,
                },
                headers: headers(&r.headers)?,
                body: match (&r.json, &r.text) {
                    (Some(j), _) => Some(ctx.subst(&j.0)?),
                    (None, Some(t)) => Some(Value::String(t.clone())),
                    (None, None) => None,
                },
            },
            (None, Some(p), None) => HookAction::Patch {
                json: to_map(&p.json)?,
                redirect: to_map(&p.redirect)?,
                headers: headers(&p.headers)?,
            },
            (None, None, Some(ms)) if ms <= MAX_DELAY_MS => HookAction::Delay(Duration::from_millis(ms)),
            (None, None, Some(_)) => {
                return Err(StepError::unusable(format!(
                    "`hook.delay_ms` is at most {MAX_DELAY_MS}"
                )));
            }
            _ => {
                return Err(StepError::unusable(
                    "a hook has exactly one of `respond`, `patch`, `delay_ms`",
                ));
            }
        };
        w.traffic.add_hook(Hook {
            label: format!("{} (step {})", s.at, ctx.step + 1),
            party,
            path,
            when_error: s.when_error.clone(),
            when_status: s.when_status,
            times: s.times,
            action,
        });
        Ok(Response::default())
    }
}
