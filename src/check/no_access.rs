//! `no-access` (G-RS-06): the RS does not serve the request (no 2xx).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoAccess {}

impl Evaluate for NoAccess {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let status = input.response.status;
        Ok(Evaluation::one(
            "no access: the RS does not serve the request",
            Some(!(200..300).contains(&status)),
            "no 2xx",
            format!("HTTP {status}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};

    #[test]
    fn any_2xx_is_access() {
        let ok = Response {
            status: 204,
            ..Response::default()
        };
        assert_eq!(oks(&eval("no-access", &ok, &facts(), &[])), [Some(false)]);
        let denied = Response {
            status: 401,
            ..Response::default()
        };
        assert_eq!(oks(&eval("no-access", &denied, &facts(), &[])), [Some(true)]);
    }
}
