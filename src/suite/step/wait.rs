//! `wait`: wait a bounded time (at most 30 s).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// The longest `wait`, in seconds.
pub const MAX_WAIT: f64 = 30.0;

/// `wait`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    /// Seconds (a number or a variable holding one); at most 30.
    pub seconds: Tpl,
}

impl StepArgs for WaitStep {
    fn problems(&self) -> Vec<String> {
        match &self.seconds.0 {
            serde_json::Value::Number(n) if n.as_f64().is_some_and(|s| (0.0..=MAX_WAIT).contains(&s)) => Vec::new(),
            serde_json::Value::Number(n) => vec![format!("`wait.seconds` must be between 0 and {MAX_WAIT}; found {n}")],
            serde_json::Value::String(s) if s.starts_with('$') => Vec::new(),
            other => vec![format!(
                "`wait.seconds` must be a number or a `$variable`; found {other}"
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_wait_is_bounded_and_a_variable_is_checked_when_it_runs() {
        let long: WaitStep = serde_saphyr::from_str("{ seconds: 31 }").unwrap();
        assert_eq!(long.problems().len(), 1);
        let var: WaitStep = serde_saphyr::from_str("{ seconds: $lifetimes.ticket }").unwrap();
        assert!(var.problems().is_empty());
        let text: WaitStep = serde_saphyr::from_str("{ seconds: soon }").unwrap();
        assert_eq!(text.problems().len(), 1);
    }
}
