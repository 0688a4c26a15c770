//! UMA message schemas (`fixtures/schemas/messages/`), compiled once and embedded in the binary.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

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

/// Why a body does not match a message schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// No schema of that name (scenario files are checked for this when they load).
    #[error("no message schema `{0}`")]
    Unknown(String),
    /// The schema itself does not compile (a harness bug).
    #[error("the message schema `{name}` does not compile: {message}")]
    Broken {
        /// The schema.
        name: String,
        /// The compiler's message.
        message: String,
    },
    /// The body breaks the schema: the first violations, each with its JSON pointer.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// Validates a JSON body against a message schema.
pub fn validate(name: &str, json: &Value) -> Result<(), MessageError> {
    match compiled().get(name) {
        Some(Ok(v)) => {
            let errors: Vec<String> = v
                .iter_errors(json)
                .take(5)
                .map(|e| format!("{}: {}", e.instance_path(), e))
                .collect();
            if errors.is_empty() {
                Ok(())
            } else {
                Err(MessageError::Invalid(errors))
            }
        }
        Some(Err(e)) => Err(MessageError::Broken {
            name: name.to_string(),
            message: e.clone(),
        }),
        None => Err(MessageError::Unknown(name.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_schema_compiles() {
        for (n, v) in compiled() {
            assert!(v.is_ok(), "{n}: {:?}", v.as_ref().err());
        }
    }

    #[test]
    fn a_body_that_breaks_a_schema_names_the_member() {
        let e = validate("permission-response", &serde_json::json!({"ticket": 5})).unwrap_err();
        assert!(
            matches!(&e, MessageError::Invalid(v) if v.iter().any(|m| m.contains("/ticket"))),
            "{e}"
        );
        assert_eq!(
            validate("no-such", &serde_json::json!({})),
            Err(MessageError::Unknown("no-such".into()))
        );
    }
}
