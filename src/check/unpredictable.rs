//! `unpredictable` (T-07): values issued in a row show no pattern (counters, shared prefixes
//! with a counting tail).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::{Tpl, to_text};
use crate::uma::entropy;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unpredictable {
    /// The values, in the order they were issued.
    pub values: Tpl,
}

impl Evaluate for Unpredictable {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let vals: Vec<String> = match input.value(&self.values)? {
            Value::Array(a) => a.iter().map(to_text).collect(),
            other => {
                return Err(CheckError::Argument {
                    check: "unpredictable",
                    message: format!("`values` must be a list, got {other}"),
                });
            }
        };
        let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
        let title = "values issued in a row show no pattern";
        Ok(match entropy::predictability(&refs) {
            None => Evaluation::one(
                title,
                Some(true),
                "no pattern",
                format!("{} values, no pattern", vals.len()),
            ),
            Some(why) => Evaluation::one(title, Some(false), "no pattern", why),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn a_counter_is_a_pattern() {
        let r = Response::default();
        let counted = json!(["tkt-0001", "tkt-0002", "tkt-0003", "tkt-0004"]);
        let e = eval("unpredictable: { values: $v }", &r, &facts(), &[("v", counted)]);
        assert_eq!(oks(&e), [Some(false)]);
        let random = json!(["Zk3PqLm9x", "a8Fh2LcQr", "Nw7tYb1Ue", "pD4sGk6Jv"]);
        let e = eval("unpredictable: { values: $v }", &r, &facts(), &[("v", random)]);
        assert_eq!(oks(&e), [Some(true)]);
    }
}
