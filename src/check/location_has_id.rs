//! `location-has-id` (F-AS-10): the answer to a resource creation has a `Location` header naming
//! the new resource's `_id`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationHasId {}

impl Evaluate for LocationHasId {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let r = input.response;
        let loc = r.header("location");
        let id = r.body_str("_id");
        let ok = matches!((loc, id), (Some(l), Some(i)) if l.contains(i));
        Ok(Evaluation::one(
            "Location header names the new resource",
            Some(ok),
            "a Location URL containing the `_id`",
            loc.unwrap_or("(no Location header)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn the_location_must_contain_the_id() {
        let good = Response {
            status: 201,
            headers: vec![("Location".into(), "http://as.test/rreg/abc123".into())],
            ..Response::of_json(json!({"_id": "abc123"}))
        };
        assert_eq!(oks(&eval("location-has-id", &good, &facts(), &[])), [Some(true)]);
        let none = Response {
            status: 201,
            ..Response::of_json(json!({"_id": "abc123"}))
        };
        assert_eq!(oks(&eval("location-has-id", &none, &facts(), &[])), [Some(false)]);
    }
}
