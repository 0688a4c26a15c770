//! Named checks: computations a data format cannot express, written in Rust and called from
//! scenario files (`checks: [no-store, ticket-rotated: { from: $t1 }]`).
//!
//! Each check is one file here: its typed arguments (checked when the scenario loads, listed in
//! the generated scenario schema) and its evaluation against a [`Response`], with unit tests
//! against hand-built responses. A check knows nothing about how the response was obtained; the
//! engine hands it the response, the facts of the run ([`Facts`]) and the scenario's variables.
//!
//! Adding a check: write `src/check/<name>.rs` with an args struct implementing [`Evaluate`], and
//! add one line to the `checks!` list below (see `src/AGENTS.md`).

mod response;

mod bearer_challenge;
mod claim_token_with_format;
mod client_authenticated;
mod client_challenge;
mod entropy;
mod form_content_type;
mod format_with_claim_token;
mod granted;
mod https_issuer;
mod https_url;
mod inactive_undisclosed;
mod iss;
mod issuer_matches;
mod json_content_type;
mod location_has_id;
mod min_interval;
mod no_access;
mod no_store;
mod not_leaked;
mod not_readable_claims;
mod one_token_method;
mod opaque;
mod pat_bearer;
mod permission_request_form;
mod permission_request_one_owner;
mod permission_request_registered;
mod pkce_advertised;
mod pkce_pair;
mod refused_over_http;
mod requested_scopes;
mod resource_description_form;
mod ticket_rotated;
mod uma_challenge;
mod unpredictable;
mod verifier_format;
mod warning_199;

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use granted::permissions_of;
pub use response::{Redirect, Response};

use crate::template::{TemplateError, Tpl};

/// What a run knows that some checks need.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The issuer of the AS the scenario talks to (the target, or the harness's counterpart AS).
    pub issuer: String,
    /// The profile allows an `http:` issuer (a loopback test deployment).
    pub allow_http: bool,
    /// That AS's discovery document.
    pub metadata: Value,
    /// The harness's counterpart AS, when the target is an RS or a client.
    pub counterpart_issuer: Option<String>,
    /// For a client target: whether it was registered without a secret.
    pub public_client: Option<bool>,
}

/// What a check looks at.
#[derive(Clone, Copy, Debug)]
pub struct CheckInput<'a> {
    /// The response of the step.
    pub response: &'a Response,
    /// The run's facts.
    pub facts: &'a Facts,
    /// The scenario's variables, to fill in arguments.
    pub vars: &'a BTreeMap<String, Value>,
}

impl CheckInput<'_> {
    /// An argument's value with its variables filled in.
    pub fn value(&self, t: &Tpl) -> Result<Value, CheckError> {
        Ok(crate::template::subst(&t.0, self.vars)?)
    }

    /// An argument's value as text.
    pub fn text(&self, t: &Tpl) -> Result<String, CheckError> {
        Ok(crate::template::to_text(&self.value(t)?))
    }

    /// An optional argument's value as text (empty when absent).
    pub fn text_or_empty(&self, t: &Option<Tpl>) -> Result<String, CheckError> {
        t.as_ref().map_or(Ok(String::new()), |t| self.text(t))
    }
}

/// One assertion's outcome, before the engine gives it a requirement and a verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Assertion {
    /// What was checked.
    pub title: String,
    /// Held? `None`: the premise did not happen, so the check is skipped.
    pub ok: Option<bool>,
    /// What the spec expects.
    pub expected: String,
    /// What the target did.
    pub actual: String,
}

impl Assertion {
    /// An assertion.
    pub fn new(
        title: impl Into<String>,
        ok: Option<bool>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            ok,
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

/// What a check found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Its assertions.
    pub assertions: Vec<Assertion>,
    /// Behaviours the target chose where the spec allows several: (name, choice).
    pub choices: Vec<(String, String)>,
}

impl Evaluation {
    /// One assertion.
    pub fn one(
        title: impl Into<String>,
        ok: Option<bool>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Self {
            assertions: vec![Assertion::new(title, ok, expected, actual)],
            choices: Vec::new(),
        }
    }
}

/// Why a check could not be evaluated (a harness or scenario problem, never a finding).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    /// An argument names a variable that is not set.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// An argument's value has the wrong shape once its variables are filled in.
    #[error("check `{check}`: {message}")]
    Argument {
        /// The check.
        check: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// A named check's evaluation.
pub trait Evaluate {
    /// Evaluates the check against the input.
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError>;
}

macro_rules! checks {
    ($( $variant:ident($args:ty) => $name:literal, $req:literal; )*) => {
        /// A named check with its typed arguments: a bare name (`no-store`) or a one-key map
        /// (`ticket-rotated: { from: $t1 }`).
        #[derive(Clone, Debug, PartialEq)]
        pub enum Check {
            $(
                #[doc = concat!("`", $name, "` (default requirement ", $req, ").")]
                $variant($args),
            )*
        }

        impl Check {
            /// Every check's name.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The name written in scenario files.
            pub fn name(&self) -> &'static str {
                match self { $(Self::$variant(_) => $name,)* }
            }

            /// The requirement the check cites unless its expectation block says `req:`.
            pub fn default_requirement(&self) -> &'static str {
                match self { $(Self::$variant(_) => $req,)* }
            }

            /// Evaluates the check.
            pub fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
                match self { $(Self::$variant(a) => a.evaluate(input),)* }
            }

            /// The arguments as JSON (for listing the variables a check names).
            pub fn args_value(&self) -> Value {
                match self { $(Self::$variant(a) => serde_json::to_value(a).unwrap_or(Value::Null),)* }
            }

            fn with_args<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<Self, A::Error> {
                match name {
                    $($name => Ok(Self::$variant(map.next_value()?)),)*
                    other => Err(de::Error::custom(unknown(other))),
                }
            }

            fn bare<E: de::Error>(name: &str) -> Result<Self, E> {
                match name {
                    $($name => <$args>::deserialize(empty_map())
                        .map(Self::$variant)
                        .map_err(|e| E::custom(format!("check `{}` needs arguments: {e}", $name))),)*
                    other => Err(E::custom(unknown(other))),
                }
            }

            fn schemas(g: &mut schemars::SchemaGenerator) -> Vec<schemars::Schema> {
                let mut out = Vec::new();
                $(
                    if <$args>::deserialize(empty_map()).is_ok() {
                        out.push(schemars::json_schema!({ "const": $name, "description": concat!("`", $name, "` without arguments (default requirement ", $req, ")") }));
                    }
                    let args = g.subschema_for::<$args>();
                    out.push(schemars::json_schema!({
                        "type": "object",
                        "description": concat!("`", $name, "` (default requirement ", $req, ")"),
                        "properties": { $name: args },
                        "required": [$name],
                        "additionalProperties": false,
                    }));
                )*
                out
            }
        }
    };
}

checks! {
    TicketRotated(ticket_rotated::TicketRotated) => "ticket-rotated", "T-04";
    NoStore(no_store::NoStore) => "no-store", "G-AS-21";
    BearerChallenge(bearer_challenge::BearerChallenge) => "bearer-challenge", "R6750-01";
    IssuerMatches(issuer_matches::IssuerMatches) => "issuer-matches", "R8414-01";
    Entropy(entropy::Entropy) => "entropy", "T-07";
    Unpredictable(unpredictable::Unpredictable) => "unpredictable", "T-07";
    Granted(granted::Granted) => "granted", "G-AS-12";
    Iss(iss::Iss) => "iss", "ISS-02";
    InactiveUndisclosed(inactive_undisclosed::InactiveUndisclosed) => "inactive-undisclosed", "R7662-03";
    ResourceDescriptionForm(resource_description_form::ResourceDescriptionForm) => "resource-description-form", "F-RS-03";
    PatBearer(pat_bearer::PatBearer) => "pat-bearer", "F-RS-04";
    PermissionRequestForm(permission_request_form::PermissionRequestForm) => "permission-request-form", "F-RS-12";
    PermissionRequestRegistered(permission_request_registered::PermissionRequestRegistered) => "permission-request-registered", "F-RS-13";
    PermissionRequestOneOwner(permission_request_one_owner::PermissionRequestOneOwner) => "permission-request-one-owner", "F-RS-14";
    PkceAdvertised(pkce_advertised::PkceAdvertised) => "pkce-advertised", "PKCE-07";
    NotReadableClaims(not_readable_claims::NotReadableClaims) => "not-readable-claims", "G-AS-23";
    LocationHasId(location_has_id::LocationHasId) => "location-has-id", "F-AS-10";
    JsonContentType(json_content_type::JsonContentType) => "json-content-type", "R8414-02";
    ClientChallenge(client_challenge::ClientChallenge) => "client-challenge", "R6749-08";
    HttpsIssuer(https_issuer::HttpsIssuer) => "https-issuer", "R8414-03";
    UmaChallenge(uma_challenge::UmaChallenge) => "uma-challenge", "G-RS-03";
    Warning199(warning_199::Warning199) => "warning-199", "G-RS-04";
    NoAccess(no_access::NoAccess) => "no-access", "G-RS-06";
    MinInterval(min_interval::MinInterval) => "min-interval", "G-C-23";
    NotLeaked(not_leaked::NotLeaked) => "not-leaked", "G-C-40";
    Opaque(opaque::Opaque) => "opaque", "G-C-38";
    PkcePair(pkce_pair::PkcePair) => "pkce-pair", "PKCE-03";
    VerifierFormat(verifier_format::VerifierFormat) => "verifier-format", "R7636-01";
    OneTokenMethod(one_token_method::OneTokenMethod) => "one-token-method", "G-C-42";
    ClientAuthenticated(client_authenticated::ClientAuthenticated) => "client-authenticated", "R6749-12";
    FormContentType(form_content_type::FormContentType) => "form-content-type", "R6749-13";
    ClaimTokenWithFormat(claim_token_with_format::ClaimTokenWithFormat) => "claim-token-with-format", "G-C-12";
    FormatWithClaimToken(format_with_claim_token::FormatWithClaimToken) => "format-with-claim-token", "G-C-13";
    RequestedScopes(requested_scopes::RequestedScopes) => "requested-scopes", "G-C-16";
    HttpsUrl(https_url::HttpsUrl) => "https-url", "F-AS-01";
    RefusedOverHttp(refused_over_http::RefusedOverHttp) => "refused-over-http", "G-ALL-03";
}

/// The recorded requests an argument names (saved from `traffic` steps), with lists of lists flattened (several `traffic` results at once).
fn flat_requests(input: &CheckInput<'_>, requests: &Tpl, check: &'static str) -> Result<Vec<Value>, CheckError> {
    fn flatten(v: Vec<Value>, out: &mut Vec<Value>) {
        for x in v {
            match x {
                Value::Array(a) => flatten(a, out),
                other => out.push(other),
            }
        }
    }
    let mut out = Vec::new();
    flatten(recorded(input, requests, check)?, &mut out);
    Ok(out)
}

fn recorded(input: &CheckInput<'_>, requests: &Tpl, check: &'static str) -> Result<Vec<Value>, CheckError> {
    match input.value(requests)? {
        Value::Array(a) => Ok(a),
        other => Err(CheckError::Argument {
            check,
            message: format!("`requests` must be a list of recorded requests, got {other}"),
        }),
    }
}

fn empty_map() -> de::value::MapDeserializer<'static, std::iter::Empty<(String, String)>, de::value::Error> {
    de::value::MapDeserializer::new(std::iter::empty())
}

fn unknown(name: &str) -> String {
    format!(
        "unknown check `{name}`{}",
        crate::diagnostic::did_you_mean(name, Check::NAMES.iter().copied())
    )
}

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Check;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a check: a name (`no-store`) or a one-key map (`ticket-rotated: { from: $t1 }`)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Check, E> {
                Check::bare(s)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Check, A::Error> {
                let seed = crate::diagnostic::KnownKey {
                    known: Check::NAMES,
                    what: "check",
                    help: "",
                };
                let name: String = map
                    .next_key_seed(seed)?
                    .ok_or_else(|| de::Error::custom("a check map names one check"))?;
                let check = Check::with_args(&name, &mut map)?;
                if let Some(other) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "one check per list item: `{name}` and `{other}` are in the same map; write `- {name}: …` and `- {other}: …`"
                    )));
                }
                Ok(check)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.name(), &self.args_value())?;
        m.end()
    }
}

impl JsonSchema for Check {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Check".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let alternatives = Check::schemas(g);
        schemars::json_schema!({
            "description": "A named check: a bare name, or a one-key map of the name to its arguments.",
            "oneOf": alternatives,
        })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Hand-built inputs for the checks' unit tests.

    use super::*;

    /// Facts of an AS at `http://as.test`.
    pub(crate) fn facts() -> Facts {
        Facts {
            issuer: "http://as.test".into(),
            allow_http: false,
            metadata: serde_json::json!({"issuer": "http://as.test"}),
            counterpart_issuer: None,
            public_client: Some(false),
        }
    }

    /// Evaluates a check given as YAML against a response, with variables.
    pub(crate) fn eval(yaml: &str, response: &Response, facts: &Facts, vars: &[(&str, Value)]) -> Evaluation {
        let check: Check = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
        let vars: BTreeMap<String, Value> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        check
            .evaluate(&CheckInput {
                response,
                facts,
                vars: &vars,
            })
            .unwrap_or_else(|e| panic!("{yaml}: {e}"))
    }

    /// The verdicts of an evaluation's assertions.
    pub(crate) fn oks(e: &Evaluation) -> Vec<Option<bool>> {
        e.assertions.iter().map(|a| a.ok).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_loads_from_a_bare_name_or_a_map_with_arguments() {
        let c: Check = serde_saphyr::from_str("no-store").unwrap();
        assert_eq!(c.name(), "no-store");
        let c: Check = serde_saphyr::from_str("ticket-rotated: { from: $t1 }").unwrap();
        assert_eq!(c.default_requirement(), "T-04");
    }

    #[test]
    fn an_unknown_check_argument_is_refused_with_its_position() {
        let e = serde_saphyr::from_str::<Vec<Check>>("- ticket-rotated: { frm: $t1 }").unwrap_err();
        assert!(e.to_string().contains("unknown field `frm`"), "{e}");
        assert!(e.location().is_some());
    }

    #[test]
    fn a_check_that_needs_arguments_cannot_be_written_bare() {
        let e = serde_saphyr::from_str::<Check>("ticket-rotated").unwrap_err();
        assert!(e.to_string().contains("needs arguments"), "{e}");
    }

    #[test]
    fn a_misspelt_check_gets_a_suggestion() {
        let e = serde_saphyr::from_str::<Check>("no-stor").unwrap_err();
        assert!(e.to_string().contains("did you mean `no-store`"), "{e}");
    }

    #[test]
    fn the_schema_lists_every_check() {
        let schema = serde_json::to_string(&schemars::schema_for!(Check)).unwrap();
        for name in Check::NAMES {
            assert!(
                schema.contains(&format!("\"{name}\"")),
                "{name} missing from the schema"
            );
        }
    }
}
