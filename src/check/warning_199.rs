//! `warning-199` (G-RS-04): when the RS cannot get a ticket from the AS it answers with
//! `Warning: 199 - "UMA Authorization Server Unreachable"`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Warning199 {}

impl Evaluate for Warning199 {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let r = input.response;
        let w = r.header_all("warning");
        let ok = w.iter().any(|v| {
            let v = v.to_ascii_lowercase();
            v.trim_start().starts_with("199") && v.contains("uma authorization server unreachable")
        });
        Ok(Evaluation::one(
            "Warning: 199 - \"UMA Authorization Server Unreachable\" when no ticket could be had",
            Some(ok),
            "Warning: 199 - \"UMA Authorization Server Unreachable\"",
            if w.is_empty() {
                format!("HTTP {} without a Warning header", r.status)
            } else {
                format!("HTTP {} Warning: {}", r.status, w.join(" | "))
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};

    #[test]
    fn the_warning_text_is_matched_case_insensitively() {
        let good = Response {
            status: 403,
            headers: vec![(
                "Warning".into(),
                "199 - \"UMA authorization server unreachable\"".into(),
            )],
            ..Response::default()
        };
        assert_eq!(oks(&eval("warning-199", &good, &facts(), &[])), [Some(true)]);
        assert_eq!(
            oks(&eval("warning-199", &Response::default(), &facts(), &[])),
            [Some(false)]
        );
    }
}
