//! `min-interval` (G-C-23): a client polling after `request_submitted` waits at least the
//! interval between polls. With fewer than two polls there is nothing to compare: skipped.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::Tpl;

/// Arguments: `requests` (recorded requests, their `at_ms`) or `times` (milliseconds).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MinInterval {
    /// Recorded requests (from a `traffic` step).
    #[serde(default)]
    pub requests: Option<Tpl>,
    /// Or the times of the polls, in milliseconds.
    #[serde(default)]
    pub times: Option<Tpl>,
    /// The shortest acceptable gap in milliseconds.
    #[serde(default)]
    pub min_ms: Option<f64>,
}

impl Evaluate for MinInterval {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let times: Vec<f64> = match (&self.requests, &self.times) {
            (Some(r), _) => input
                .value(r)?
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.get("at_ms").and_then(Value::as_f64))
                        .collect()
                })
                .unwrap_or_default(),
            (None, Some(t)) => input
                .value(t)?
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default(),
            (None, None) => Vec::new(),
        };
        let min = self.min_ms.unwrap_or(0.0);
        let title = "polls are at least the interval apart";
        if times.len() < 2 {
            return Ok(Evaluation::one(
                title,
                None,
                format!("≥ {min} ms between polls"),
                format!("{} poll(s): nothing to compare", times.len()),
            ));
        }
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let shortest = gaps.iter().copied().fold(f64::INFINITY, f64::min);
        Ok(Evaluation::one(
            title,
            Some(shortest >= min),
            format!("≥ {min} ms between polls"),
            format!(
                "gaps of {} ms",
                gaps.iter().map(|g| format!("{g:.0}")).collect::<Vec<_>>().join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn gaps_shorter_than_the_interval_fail_and_one_poll_is_skipped() {
        let r = Response::default();
        let slow = json!([{"at_ms": 0}, {"at_ms": 1000}, {"at_ms": 2100}]);
        let check = "min-interval: { requests: $p, min_ms: 950 }";
        assert_eq!(oks(&eval(check, &r, &facts(), &[("p", slow)])), [Some(true)]);
        let fast = json!([{"at_ms": 0}, {"at_ms": 200}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("p", fast)])), [Some(false)]);
        let one = json!([{"at_ms": 0}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("p", one)])), [None]);
    }
}
