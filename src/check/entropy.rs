//! `entropy` (T-07): a value (ticket, PCT, state) is long and random enough to be unguessable.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::Tpl;
use crate::uma::entropy;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entropy {
    /// The value.
    pub value: Tpl,
    /// The least acceptable estimate in bits (default 128).
    #[serde(default)]
    pub min_bits: Option<f64>,
}

impl Evaluate for Entropy {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let v = input.text(&self.value)?;
        let min = self.min_bits.unwrap_or(128.0);
        let bits = entropy::estimate_bits(&v);
        Ok(Evaluation::one(
            "the value is long and random enough to be unguessable",
            Some(bits >= min),
            format!("≥ {min} bits"),
            format!("at most {bits:.0} bits ({} characters)", v.chars().count()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn a_short_or_patterned_value_fails_and_a_random_one_passes() {
        let r = Response::default();
        let random = json!("hG7kPq2Zx9LmW4vB8nR1tY6cJ3dF5sA0eQ-uI_oK");
        assert_eq!(
            oks(&eval("entropy: { value: $v }", &r, &facts(), &[("v", random)])),
            [Some(true)]
        );
        let short = json!("ticket-1");
        assert_eq!(
            oks(&eval("entropy: { value: $v }", &r, &facts(), &[("v", short)])),
            [Some(false)]
        );
    }
}
