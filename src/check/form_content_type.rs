//! `form-content-type` (R6749-13, RFC 6749 §4.1.3 and Appendix B): the client's token requests
//! carry their parameters as an `application/x-www-form-urlencoded` body. A request that labels
//! its body with another media type (`application/json`, `text/plain`...) is not such a request.
//! A body sent with no `Content-Type` at all is read as the form it is (RFC 9110 §8.3 lets the
//! recipient examine it; real client libraries send none): that is recorded as the client's
//! choice (`form-content-type: absent`), never judged. Skipped when the client sent no request
//! with a body.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::diagnostic::printable;
use crate::template::Tpl;
use crate::uma::grant::{FORM_MEDIA_TYPE as FORM, media_type};

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormContentType {
    /// Recorded requests to a form endpoint (from a `traffic` step).
    pub requests: Tpl,
}

/// How one request labelled its body: `None` when it sent no body.
fn label(r: &Value) -> Option<Result<bool, String>> {
    let method = r.get("method").and_then(Value::as_str).unwrap_or("");
    if !method.eq_ignore_ascii_case("POST") {
        return None;
    }
    match r.get("content_type").and_then(Value::as_str) {
        None => Some(Ok(false)),
        Some(ct) => {
            let media = media_type(ct);
            if media == FORM {
                Some(Ok(true))
            } else {
                Some(Err(printable(&media)))
            }
        }
    }
}

impl Evaluate for FormContentType {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = input.value(&self.requests)?.as_array().cloned().unwrap_or_default();
        let labels: Vec<Result<bool, String>> = reqs.iter().filter_map(label).collect();
        let wrong: Vec<String> = labels.iter().filter_map(|l| l.clone().err()).collect();
        let declared = labels.iter().any(|l| matches!(l, Ok(true)));
        let absent = labels.iter().any(|l| matches!(l, Ok(false)));
        let mut e = Evaluation::one(
            "the client's token requests are form-encoded bodies",
            if labels.is_empty() {
                None
            } else {
                Some(wrong.is_empty())
            },
            format!("Content-Type {FORM}, or none (the body read as the form it is)"),
            if labels.is_empty() {
                "the client sent no token request with a body".to_string()
            } else if wrong.is_empty() {
                match (declared, absent) {
                    (true, true) => "labelled as a form, or not labelled".to_string(),
                    (true, false) => format!("labelled {FORM}"),
                    _ => "no Content-Type (read as a form)".to_string(),
                }
            } else {
                let mut seen = wrong.clone();
                seen.sort();
                seen.dedup();
                format!("labelled {}", seen.join(", "))
            },
        );
        let choice = match (declared, absent) {
            (true, true) => Some("declared+absent"),
            (true, false) => Some("declared"),
            (false, true) => Some("absent"),
            (false, false) => None,
        };
        if let Some(c) = choice {
            e.choices.push(("form-content-type".into(), c.into()));
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    const CHECK: &str = "form-content-type: { requests: $r }";

    fn judge(requests: serde_json::Value) -> Vec<Option<bool>> {
        oks(&eval(CHECK, &Response::default(), &facts(), &[("r", requests)]))
    }

    #[test]
    fn a_form_label_or_none_passes_and_another_media_type_fails() {
        let labelled = json!([{"method": "POST", "content_type": "application/x-www-form-urlencoded; charset=UTF-8"}]);
        assert_eq!(judge(labelled), [Some(true)]);
        let unlabelled = json!([{"method": "POST", "content_type": null}]);
        assert_eq!(judge(unlabelled), [Some(true)]);
        let json_body = json!([{"method": "POST", "content_type": "application/json"}]);
        assert_eq!(judge(json_body), [Some(false)]);
        let mixed = json!([
            {"method": "POST", "content_type": "application/x-www-form-urlencoded"},
            {"method": "POST", "content_type": "text/plain"}
        ]);
        assert_eq!(judge(mixed), [Some(false)]);
    }

    #[test]
    fn no_request_with_a_body_is_skipped() {
        assert_eq!(judge(json!([])), [None]);
        assert_eq!(judge(json!([{"method": "GET", "content_type": null}])), [None]);
    }
}
