//! `requested-scopes` (G-C-16): the scopes a client asks for at the token endpoint are among
//! those it is registered for, as a space-separated list. Skipped when it asks for none.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation, recorded};
use crate::template::{Tpl, to_text};

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestedScopes {
    /// Recorded token requests (from a `traffic` step).
    pub requests: Tpl,
    /// The scopes the client is registered for (e.g. `$target_client.scopes`).
    pub registered: Tpl,
}

impl Evaluate for RequestedScopes {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = recorded(input, &self.requests, "requested-scopes")?;
        let registered: BTreeSet<String> = match input.value(&self.registered)? {
            Value::Array(a) => a.iter().map(to_text).collect(),
            Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
            other => {
                return Err(CheckError::Argument {
                    check: "requested-scopes",
                    message: format!("`registered` must be a list of scopes, got {other}"),
                });
            }
        };
        let asked: Vec<String> = reqs
            .iter()
            .filter_map(|r| r.pointer("/form/scope").and_then(Value::as_str).map(str::to_string))
            .collect();
        let mut unregistered = BTreeSet::new();
        let mut malformed = false;
        for scope in &asked {
            malformed |= scope.contains(',') || scope.contains('+');
            for s in scope.split(' ').filter(|s| !s.is_empty()) {
                if !registered.contains(s) {
                    unregistered.insert(s.to_string());
                }
            }
        }
        Ok(Evaluation::one(
            "the client asks only for scopes it is registered for, space-separated",
            if asked.is_empty() {
                None
            } else {
                Some(unregistered.is_empty() && !malformed)
            },
            format!(
                "a space-separated subset of [{}]",
                registered.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            if asked.is_empty() {
                "no scope parameter sent".to_string()
            } else if unregistered.is_empty() && !malformed {
                format!("asked for: {}", asked.join(" | "))
            } else {
                format!(
                    "asked for: {}{}",
                    asked.join(" | "),
                    if unregistered.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (not registered: {})",
                            unregistered.into_iter().collect::<Vec<_>>().join(", ")
                        )
                    }
                )
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn openid_from_a_client_registered_for_view_and_download_fails() {
        let check = "requested-scopes: { requests: $r, registered: [view, download] }";
        let r = Response::default();
        let openid = json!([{"form": {"scope": "openid view"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", openid)])), [Some(false)]);
        let fine = json!([{"form": {"scope": "view download"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", fine)])), [Some(true)]);
        let commas = json!([{"form": {"scope": "view,download"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", commas)])), [Some(false)]);
        let none = json!([{"form": {"ticket": "t"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", none)])), [None]);
    }
}
