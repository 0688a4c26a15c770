//! `no-store` (G-AS-21): a response carrying tokens has `Cache-Control: no-store`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoStore {}

impl Evaluate for NoStore {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let cc = input.response.header("cache-control").unwrap_or("");
        let ok = cc.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-store"));
        Ok(Evaluation::one(
            "Cache-Control: no-store on a response carrying tokens",
            Some(ok),
            "no-store",
            if cc.is_empty() { "(absent)" } else { cc },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};

    fn with_cc(v: &str) -> Response {
        Response {
            headers: vec![("Cache-Control".into(), v.into())],
            ..Response::default()
        }
    }

    #[test]
    fn no_store_among_other_directives_passes_in_any_case() {
        assert_eq!(
            oks(&eval("no-store", &with_cc("private, No-Store"), &facts(), &[])),
            [Some(true)]
        );
        assert_eq!(
            oks(&eval("no-store", &with_cc("no-cache"), &facts(), &[])),
            [Some(false)]
        );
        assert_eq!(
            oks(&eval("no-store", &Response::default(), &facts(), &[])),
            [Some(false)]
        );
    }
}
