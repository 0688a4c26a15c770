//! `json-content-type` (R8414-02): the body is JSON and labelled `application/json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonContentType {}

impl Evaluate for JsonContentType {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let r = input.response;
        let ct = r.header("content-type").unwrap_or("");
        let ok = ct.to_ascii_lowercase().starts_with("application/json") && r.json.is_some();
        Ok(Evaluation::one(
            "a JSON body with Content-Type application/json",
            Some(ok),
            "application/json",
            if ct.is_empty() { "(no Content-Type)" } else { ct },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn json_with_parameters_passes_and_text_fails() {
        let good = Response {
            headers: vec![("content-type".into(), "Application/JSON; charset=utf-8".into())],
            ..Response::of_json(json!({}))
        };
        assert_eq!(oks(&eval("json-content-type", &good, &facts(), &[])), [Some(true)]);
        let text = Response {
            headers: vec![("content-type".into(), "text/plain".into())],
            ..Response::of_json(json!({}))
        };
        assert_eq!(oks(&eval("json-content-type", &text, &facts(), &[])), [Some(false)]);
    }
}
