//! `hook`: how a counterpart answers from now on, at one endpoint, for the rest of the scenario.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// The longest a hook may delay an answer, in milliseconds.
pub const MAX_DELAY_MS: u64 = 15_000;

/// `hook`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookStep {
    /// The endpoint, named as in `traffic.at` (`rs` for every request to the harness's RS).
    pub at: String,
    /// Only when the counterpart's own answer has this `error`.
    #[serde(default)]
    pub when_error: Option<String>,
    /// Only when the counterpart's own answer has this status.
    #[serde(default)]
    pub when_status: Option<u16>,
    /// How many times (default: every time).
    #[serde(default)]
    pub times: Option<u32>,
    /// Answer this instead: `{status, headers, json | text}`.
    #[serde(default)]
    pub respond: Option<HookRespond>,
    /// Change the counterpart's own answer.
    #[serde(default)]
    pub patch: Option<HookPatch>,
    /// Answer this many milliseconds late (at most 15000).
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

/// A scripted answer.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookRespond {
    /// Status (default 200; a number or a variable holding one).
    #[serde(default)]
    pub status: Option<Tpl>,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Tpl>,
    /// A JSON body; a string member `{request.form.ticket}` takes the request's value.
    #[serde(default)]
    pub json: Option<Tpl>,
    /// A text body.
    #[serde(default)]
    pub text: Option<String>,
}

/// Changes to a counterpart's own answer.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookPatch {
    /// Top-level JSON members to set (`null` removes); `{request.form.ticket}` takes the
    /// request's value.
    #[serde(default)]
    pub json: BTreeMap<String, Tpl>,
    /// Query parameters of the `Location` header to set (`null` removes).
    #[serde(default)]
    pub redirect: BTreeMap<String, Tpl>,
    /// Headers to set (an empty string removes).
    #[serde(default)]
    pub headers: BTreeMap<String, Tpl>,
}

impl StepArgs for HookStep {
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let n = usize::from(self.respond.is_some())
            + usize::from(self.patch.is_some())
            + usize::from(self.delay_ms.is_some());
        if n != 1 {
            out.push("a hook has exactly one of `respond`, `patch`, `delay_ms`".into());
        }
        if self.delay_ms.is_some_and(|d| d > MAX_DELAY_MS) {
            out.push(format!("`hook.delay_ms` is at most {MAX_DELAY_MS}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_does_exactly_one_thing_within_bounds() {
        let both: HookStep = serde_saphyr::from_str("{ at: rs, delay_ms: 10, respond: { status: 500 } }").unwrap();
        assert_eq!(both.problems().len(), 1);
        let long: HookStep = serde_saphyr::from_str("{ at: rs, delay_ms: 60000 }").unwrap();
        assert!(long.problems().iter().any(|p| p.contains("at most")));
        let fine: HookStep =
            serde_saphyr::from_str("{ at: token_endpoint, patch: { json: { upgraded: null } } }").unwrap();
        assert!(fine.problems().is_empty());
    }
}
