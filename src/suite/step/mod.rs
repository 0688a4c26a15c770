//! Steps: one action (`token`, `permission`, `browse`, ...) with its typed arguments, plus the
//! optional `name`, `if`, `expect` and `save`.
//!
//! Each action's arguments live in their own file here; the engine runs them in the file of the
//! same name under `src/engine/step/`. A step is written as a map with exactly one action key:
//!
//! ```yaml
//! - permission: { resource: $r1, scopes: [view] }
//!   expect: { status: 201 }
//!   save: { t1: body.ticket }
//! ```

pub mod approve;
pub mod assert;
pub mod assess;
pub mod browse;
pub mod claims;
pub mod discover;
pub mod hook;
pub mod http;
pub mod id_token;
pub mod introspect;
pub mod parallel;
pub mod pat;
pub mod permission;
pub mod plaintext;
pub mod policy;
pub mod register;
pub mod resource;
pub mod revoke;
pub mod rs_request;
pub mod token;
pub mod traffic;
pub mod wait;

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Conditions, Expectations};

/// What every action's arguments say about themselves, for load-time validation.
pub trait StepArgs {
    /// Variables the step sets when it runs (besides its `save:`).
    fn defines(&self) -> Vec<String> {
        Vec::new()
    }

    /// Variables the step reads implicitly (besides those its arguments name).
    fn uses(&self) -> Vec<String> {
        Vec::new()
    }

    /// Problems a schema cannot express (bounds, exclusive options).
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The keys of a step besides its action.
const STEP_KEYS: &[&str] = &["name", "if", "needs", "expect", "save"];

macro_rules! actions {
    ($( $variant:ident($args:ty) => $key:literal: $doc:literal; )*) => {
        /// A step's action with its typed arguments.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Action {
            $(
                #[doc = $doc]
                $variant($args),
            )*
        }

        impl Action {
            /// Every action key.
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// The key written in scenario files.
            pub fn key(&self) -> &'static str {
                match self { $(Self::$variant(_) => $key,)* }
            }

            /// The arguments' own account of themselves.
            pub fn args(&self) -> &dyn StepArgs {
                match self { $(Self::$variant(a) => a,)* }
            }

            /// The arguments as JSON (to list the variables they name).
            pub fn args_value(&self) -> Value {
                match self { $(Self::$variant(a) => serde_json::to_value(a).unwrap_or(Value::Null),)* }
            }

            fn from_key<'de, A: MapAccess<'de>>(key: &str, map: &mut A) -> Result<Option<Self>, A::Error> {
                Ok(Some(match key {
                    $($key => Self::$variant(map.next_value()?),)*
                    _ => return Ok(None),
                }))
            }

            fn schemas(g: &mut schemars::SchemaGenerator) -> Vec<(&'static str, &'static str, schemars::Schema)> {
                vec![$(($key, $doc, g.subschema_for::<$args>()),)*]
            }
        }
    };
}

actions! {
    Discover(discover::DiscoverStep) => "discover": "Fetch the discovery document.";
    Pat(pat::PatStep) => "pat": "Obtain a protection API access token (PAT) for a resource server of the target profile.";
    Register(register::RegisterStep) => "register": "Register a client dynamically (RFC 7591).";
    Resource(resource::ResourceStep) => "resource": "Use the resource registration endpoint (FedAuthz §3).";
    Policy(policy::PolicyStep) => "policy": "Establish an abstract policy through the target's policy adapter.";
    Permission(permission::PermissionStep) => "permission": "Request a permission ticket (FedAuthz §4).";
    Token(token::TokenStep) => "token": "Call the token endpoint (by default with the UMA grant).";
    Introspect(introspect::IntrospectStep) => "introspect": "Introspect a token (FedAuthz §5, RFC 7662).";
    Revoke(revoke::RevokeStep) => "revoke": "Revoke a token (RFC 7009).";
    Claims(claims::ClaimsStep) => "claims": "Interactive claims gathering through the configured driver (UMA Grant §3.3.2–3.3.3).";
    Approve(approve::ApproveStep) => "approve": "Decide a pending request as the resource owner, through the owner-approval adapter.";
    IdToken(id_token::IdTokenStep) => "id_token": "Mint an ID token from the harness's test identity provider (for `claim_token`).";
    Assess(assess::AssessStep) => "assess": "Run the set-math assessment of a table row end to end (digest §4.3).";
    Wait(wait::WaitStep) => "wait": "Wait a bounded time (at most 30 s).";
    Http(http::HttpStep) => "http": "A raw HTTP request: the escape hatch.";
    Assert(assert::AssertStep) => "assert": "No request: run the expectations against saved variables (`vars` paths).";
    Parallel(parallel::ParallelStep) => "parallel": "The same token request sent several times at once (races such as double redemption).";
    RsRequest(rs_request::RsRequestStep) => "rs_request": "Send a request to the resource server under test (RS targets).";
    Browse(browse::BrowseStep) => "browse": "Act as the requesting party's browser at the client under test (client targets).";
    Traffic(traffic::TrafficStep) => "traffic": "Look at the requests the target made to the harness's counterparts.";
    Hook(hook::HookStep) => "hook": "Change how a counterpart answers, for the rest of the scenario.";
    Plaintext(plaintext::PlaintextStep) => "plaintext": "A token request in plain HTTP to the host and port of the https token endpoint (RFC 6749 §3.2), with made-up credentials.";
}

/// One step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// A short label shown in reports.
    pub name: Option<String>,
    /// Run the step only when this holds (every condition of a list).
    pub when: Option<Conditions>,
    /// Run the step only for a target with these capabilities (`not:X`: without X); otherwise
    /// what it would judge is skipped with the reason.
    pub needs: Vec<crate::suite::capability::Need>,
    /// The action.
    pub action: Action,
    /// What the response must look like. Without it, a step has a default set-up expectation
    /// (e.g. a success and `_id` for a resource creation) whose failure makes the scenario `error`.
    pub expect: Option<Expectations>,
    /// Variables to save: name → path (`body.ticket`, `header.location`, `status`,
    /// `redirect.ticket`, `challenge.ticket`, `observed.count`, ...).
    pub save: BTreeMap<String, String>,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Step;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a step: a map with one action key (discover, token, ...) and optional name, if, expect, save",
                )
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                let (mut name, mut when, mut expect, mut save) = (None, None, None, None);
                let mut needs = None;
                let mut action: Option<Action> = None;
                let known: Vec<&str> = Action::KEYS.iter().chain(STEP_KEYS).copied().collect();
                let help = format!(
                    "; a step has one action ({}) and optional {}",
                    Action::KEYS.join(", "),
                    STEP_KEYS.join(", ")
                );
                let seed = crate::diagnostic::KnownKey {
                    known: &known,
                    what: "step key",
                    help: &help,
                };
                while let Some(key) = map.next_key_seed(seed)? {
                    match key.as_str() {
                        "name" => name = Some(map.next_value()?),
                        "if" => when = Some(map.next_value()?),
                        "needs" => needs = Some(map.next_value()?),
                        "expect" => expect = Some(map.next_value()?),
                        "save" => save = Some(map.next_value()?),
                        other => match Action::from_key(other, &mut map)? {
                            Some(a) => {
                                if let Some(first) = &action {
                                    return Err(de::Error::custom(format!(
                                        "a step has exactly one action; found `{}` and `{other}`",
                                        first.key()
                                    )));
                                }
                                action = Some(a);
                            }
                            None => return Err(de::Error::custom(format!("unknown step key `{other}`"))),
                        },
                    }
                }
                let action = action.ok_or_else(|| {
                    de::Error::custom(format!("a step needs an action: one of {}", Action::KEYS.join(", ")))
                })?;
                Ok(Step {
                    name,
                    when,
                    needs: needs.unwrap_or_default(),
                    action,
                    expect,
                    save: save.unwrap_or_default(),
                })
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if let Some(n) = &self.name {
            m.serialize_entry("name", n)?;
        }
        if let Some(w) = &self.when {
            m.serialize_entry("if", w)?;
        }
        if !self.needs.is_empty() {
            m.serialize_entry("needs", &self.needs)?;
        }
        m.serialize_entry(self.action.key(), &self.action.args_value())?;
        if let Some(e) = &self.expect {
            m.serialize_entry("expect", e)?;
        }
        if !self.save.is_empty() {
            m.serialize_entry("save", &self.save)?;
        }
        m.end()
    }
}

impl JsonSchema for Step {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let name = g.subschema_for::<String>();
        let when = g.subschema_for::<Conditions>();
        let needs = g.subschema_for::<Vec<crate::suite::capability::Need>>();
        let expect = g.subschema_for::<Expectations>();
        let save = g.subschema_for::<BTreeMap<String, String>>();
        let alternatives: Vec<Value> = Action::schemas(g)
            .into_iter()
            .map(|(key, doc, schema)| {
                serde_json::json!({
                    "type": "object",
                    "description": doc,
                    "properties": {
                        key: schema,
                        "name": name,
                        "if": when,
                        "needs": needs,
                        "expect": expect,
                        "save": save,
                    },
                    "required": [key],
                    "additionalProperties": false,
                })
            })
            .collect();
        schemars::json_schema!({
            "description": "One step: exactly one action key plus optional `name`, `if`, `expect` and `save`.",
            "oneOf": alternatives,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_reads_its_action_and_its_options() {
        let s: Step = serde_saphyr::from_str(
            "name: n\npermission: { resource: $r1, scopes: [view] }\nexpect: { status: 201 }\nsave: { t1: body.ticket }\n",
        )
        .unwrap();
        assert_eq!(s.action.key(), "permission");
        assert_eq!(s.save["t1"], "body.ticket");
        assert!(s.expect.is_some());
    }

    #[test]
    fn two_actions_or_none_are_refused() {
        let e = serde_saphyr::from_str::<Step>("discover: {}\ntoken: {}\n").unwrap_err();
        assert!(e.to_string().contains("exactly one action"), "{e}");
        let e = serde_saphyr::from_str::<Step>("name: x\n").unwrap_err();
        assert!(e.to_string().contains("needs an action"), "{e}");
    }

    #[test]
    fn a_misspelt_key_gets_a_suggestion() {
        let e = serde_saphyr::from_str::<Step>("discover: {}\nexpct: {}\n").unwrap_err();
        assert!(e.to_string().contains("did you mean `expect`"), "{e}");
    }

    #[test]
    fn the_schema_lists_every_action() {
        let schema = serde_json::to_string(&schemars::schema_for!(Step)).unwrap();
        for key in Action::KEYS {
            assert!(schema.contains(&format!("\"{key}\"")), "{key}");
        }
    }
}
