//! `wait`: wait a bounded time (at most 30 s): a number of seconds, or a lifetime the profile
//! declares plus a margin (expiry checks wait as long as the target says its tickets or RPTs live).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// The longest `wait`, in seconds.
pub const MAX_WAIT: f64 = 30.0;

/// A lifetime the target profile declares (`lifetimes:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lifetime {
    /// The permission ticket lifetime.
    Ticket,
    /// The RPT lifetime.
    Rpt,
}

impl Lifetime {
    /// Its name in profiles.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ticket => "ticket",
            Self::Rpt => "rpt",
        }
    }
}

/// `wait`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    /// Seconds (a number or a variable holding one); at most 30.
    #[serde(default)]
    pub seconds: Option<Tpl>,
    /// Or: the declared lifetime of tickets or RPTs ...
    #[serde(default)]
    pub lifetime: Option<Lifetime>,
    /// ... plus this many seconds (default 1).
    #[serde(default)]
    pub plus: Option<f64>,
}

impl StepArgs for WaitStep {
    fn problems(&self) -> Vec<String> {
        match (&self.seconds, self.lifetime) {
            (Some(_), Some(_)) | (None, None) => vec!["`wait` takes exactly one of `seconds` and `lifetime`".into()],
            (None, Some(_)) => match self.plus {
                Some(p) if !(0.0..=MAX_WAIT).contains(&p) => {
                    vec![format!("`wait.plus` must be between 0 and {MAX_WAIT}; found {p}")]
                }
                _ => Vec::new(),
            },
            (Some(t), None) => match &t.0 {
                serde_json::Value::Number(n) if n.as_f64().is_some_and(|s| (0.0..=MAX_WAIT).contains(&s)) => Vec::new(),
                serde_json::Value::Number(n) => {
                    vec![format!("`wait.seconds` must be between 0 and {MAX_WAIT}; found {n}")]
                }
                serde_json::Value::String(s) if s.starts_with('$') => Vec::new(),
                other => vec![format!(
                    "`wait.seconds` must be a number or a `$variable`; found {other}"
                )],
            },
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

    #[test]
    fn a_wait_is_seconds_or_a_lifetime_not_both() {
        let life: WaitStep = serde_saphyr::from_str("{ lifetime: ticket, plus: 1 }").unwrap();
        assert!(life.problems().is_empty());
        let both: WaitStep = serde_saphyr::from_str("{ lifetime: rpt, seconds: 2 }").unwrap();
        assert_eq!(both.problems().len(), 1);
        assert_eq!(WaitStep::default().problems().len(), 1);
    }
}
