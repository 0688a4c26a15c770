//! UMA message schemas (`fixtures/schemas/messages/`), compiled once and embedded in the binary.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::Resp;
use super::expect::Outcome;

macro_rules! schemas {
    ($($name:literal),* $(,)?) => {
        const SOURCES: &[(&str, &str)] = &[
            $( ($name, include_str!(concat!("../../fixtures/schemas/messages/", $name, ".schema.json"))), )*
        ];
    };
}

schemas!(
    "discovery",
    "resource-description",
    "resource-id",
    "resource-list",
    "permission-request",
    "permission-response",
    "token-success",
    "token-error",
    "need-info",
    "request-submitted",
    "introspection",
    "client-registration",
);

fn compiled() -> &'static BTreeMap<&'static str, Result<jsonschema::Validator, String>> {
    static C: OnceLock<BTreeMap<&'static str, Result<jsonschema::Validator, String>>> = OnceLock::new();
    C.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(n, src)| {
                let v = serde_json::from_str::<serde_json::Value>(src)
                    .map_err(|e| e.to_string())
                    .and_then(|s| jsonschema::validator_for(&s).map_err(|e| e.to_string()));
                (*n, v)
            })
            .collect()
    })
}

/// Whether a message schema of this name exists.
pub fn exists(name: &str) -> bool {
    SOURCES.iter().any(|(n, _)| *n == name)
}

/// The schema names.
pub fn names() -> Vec<String> {
    SOURCES.iter().map(|(n, _)| n.to_string()).collect()
}

/// Validates a response body against a message schema.
pub fn validate(name: &str, resp: &Resp) -> Outcome {
    let title = format!("the body validates against the `{name}` schema");
    let Some(json) = &resp.json else {
        return Outcome {
            title,
            ok: Some(false),
            expected: format!("a JSON body matching fixtures/schemas/messages/{name}.schema.json"),
            actual: "no JSON body".into(),
        };
    };
    match compiled().get(name) {
        Some(Ok(v)) => {
            let errors: Vec<String> = v
                .iter_errors(json)
                .take(5)
                .map(|e| format!("{}: {}", e.instance_path(), e))
                .collect();
            Outcome {
                title,
                ok: Some(errors.is_empty()),
                expected: format!("fixtures/schemas/messages/{name}.schema.json"),
                actual: if errors.is_empty() {
                    "valid".into()
                } else {
                    errors.join("; ")
                },
            }
        }
        Some(Err(e)) => Outcome {
            title,
            ok: None,
            expected: String::new(),
            actual: format!("the schema itself does not compile: {e}"),
        },
        None => Outcome {
            title,
            ok: None,
            expected: String::new(),
            actual: format!("no schema `{name}`"),
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_message_schema_compiles() {
        for (n, v) in super::compiled() {
            assert!(v.is_ok(), "{n}: {:?}", v.as_ref().err());
        }
    }
}
