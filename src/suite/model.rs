//! The scenario file format: one scenario per YAML file under `suites/<role>/<area>/`.
//!
//! The JSON Schema in `fixtures/schemas/scenario.schema.json` is generated from these types
//! (`uma-conformance schemas`); a test checks that the committed copy is current. Every value is
//! typed when the file loads, so a wrong type, an unknown check argument or a misspelt key is
//! reported with its `file:line:col` before anything is sent.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::matcher::{CodeMatch, JsonType, MatchOps, Matcher, StatusMatch};

use super::capability::Need;
use super::step::Step;
use crate::catalogue::RequirementId;
use crate::check::Check;
use crate::template::Tpl;

/// One scenario file.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Identifier: the path below `suites/` without `.yaml`, e.g. `as/ticket/need-info-rotates`.
    pub id: String,
    /// One line saying what the scenario shows.
    pub title: String,
    /// Longer notes: why, which reading of the spec, which behaviours are accepted.
    #[serde(default)]
    pub description: Option<String>,
    /// Every requirement ID (from `fixtures/requirements.yaml`) this scenario's checks cite.
    pub requirements: Vec<RequirementId>,
    /// Capabilities the target must have (or, `not:X`, must not claim); without them the
    /// scenario is skipped with the reason.
    #[serde(default)]
    pub needs: Vec<Need>,
    /// Fragment files (relative to this file) whose steps run first, in order.
    #[serde(default)]
    pub include: Vec<String>,
    /// A table: the scenario runs once per row, with the row's members as variables (and the
    /// whole row as `$case`). Each row needs a unique `name`.
    #[serde(default)]
    pub cases: Vec<BTreeMap<String, Value>>,
    /// The steps, in order.
    pub steps: Vec<Located<Step>>,
}

/// A fragment included by scenarios: shared set-up steps.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FragmentFile {
    /// What the fragment sets up.
    pub title: String,
    /// Capabilities every scenario including it needs.
    #[serde(default)]
    pub needs: Vec<Need>,
    /// The steps.
    pub steps: Vec<Located<Step>>,
}

/// A value with the line and column where it starts in its YAML file.
#[derive(Clone, Debug)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Self {
            value: s.value,
            line: s.referenced.line(),
            column: s.referenced.column(),
        })
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A condition on a variable.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The variable name (without `$`).
    pub var: String,
    /// The variable must equal this value (which may be a `$variable`).
    #[serde(default)]
    pub is: Option<Tpl>,
    /// The variable must differ from this value (which may be a `$variable`).
    #[serde(default)]
    pub is_not: Option<Tpl>,
    /// The variable must be set (true) or unset (false).
    #[serde(default)]
    pub set: Option<bool>,
}

/// A step's `if:`: one condition, or a list that must all hold.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Conditions {
    /// One condition.
    One(Condition),
    /// Every one of these.
    All(Vec<Condition>),
}

impl Conditions {
    /// The conditions.
    pub fn all(&self) -> &[Condition] {
        match self {
            Self::One(c) => std::slice::from_ref(c),
            Self::All(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for Conditions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Conditions;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a condition `{ var, is, is_not, set }`, or a list of them that must all hold")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Conditions, A::Error> {
                Condition::deserialize(de::value::MapAccessDeserializer::new(map)).map(Conditions::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Conditions, A::Error> {
                let mut v = Vec::new();
                while let Some(c) = seq.next_element::<Condition>()? {
                    v.push(c);
                }
                Ok(Conditions::All(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// How the client authenticates at the token, revocation or introspection endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// Form body (`client_secret_post`).
    Post,
    /// `client_id` only.
    None,
    /// Basic and form body at once (RFC 6749 §2.3: must be refused).
    Both,
    /// Basic with a wrong secret.
    WrongSecret,
}

/// One expectation block, or several (each citing its own requirement).
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Expectations {
    /// One block.
    One(Box<Expect>),
    /// Several blocks.
    Many(Vec<Expect>),
}

impl Expectations {
    /// The blocks.
    pub fn blocks(&self) -> Vec<&Expect> {
        match self {
            Self::One(e) => vec![e.as_ref()],
            Self::Many(v) => v.iter().collect(),
        }
    }
}

impl<'de> Deserialize<'de> for Expectations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Expectations;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an expectation block (a map) or a list of them")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Expectations, A::Error> {
                Expect::deserialize(de::value::MapAccessDeserializer::new(map)).map(|e| Expectations::One(Box::new(e)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Expectations, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = seq.next_element::<Expect>()? {
                    v.push(e);
                }
                Ok(Expectations::Many(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// What one response must look like; every assertion becomes one check citing `req`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The requirement the assertions of this block check (default: the scenario's only one).
    #[serde(default)]
    pub req: Option<RequirementId>,
    /// The premise: paths into the JSON body (as in `json`), `redirect.<param>`,
    /// `header.<name>` or `vars.<variable>` → matcher. When one does not hold, the block judges nothing: its
    /// requirements get a `skip` with the reason (the behaviour the block judges did not happen,
    /// e.g. the client never polled a second time).
    #[serde(default)]
    pub given: BTreeMap<String, Matcher>,
    /// The HTTP status: one code, a list of accepted codes, or a `$variable`.
    #[serde(default)]
    pub status: Option<StatusMatch>,
    /// The `error` member of a JSON body: one code or a list of accepted codes.
    #[serde(default)]
    pub error: Option<CodeMatch>,
    /// Response headers (case-insensitive names) → matcher.
    #[serde(default)]
    pub headers: BTreeMap<String, Matcher>,
    /// Paths into the JSON body (`ticket`, `permissions[0].resource_id`, `` for the root) → matcher.
    #[serde(default)]
    pub json: BTreeMap<String, Matcher>,
    /// Query parameters of a claims redirect back (`ticket`, `state`, `iss`, `error`) → matcher.
    #[serde(default)]
    pub redirect: BTreeMap<String, Matcher>,
    /// Saved variables (`name` or `name.path`) → matcher.
    #[serde(default)]
    pub vars: BTreeMap<String, Matcher>,
    /// The name of a message schema under `fixtures/schemas/messages/` the body must validate against.
    #[serde(default)]
    pub schema: Option<String>,
    /// Named checks written in Rust: `- ticket-rotated: { from: $t1 }` or `- no-store`.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Alternatives, each a block without `req`: the first that holds is the target's choice.
    #[serde(default)]
    pub one_of: Vec<Alternative>,
    /// Record the chosen alternative in the report under this name, and save it as a variable.
    #[serde(default)]
    pub choice: Option<String>,
}

impl Expect {
    /// Whether the block has assertions besides named checks (they need a requirement).
    pub fn has_plain_assertions(&self) -> bool {
        self.status.is_some()
            || self.error.is_some()
            || !self.headers.is_empty()
            || !self.json.is_empty()
            || !self.redirect.is_empty()
            || !self.vars.is_empty()
            || self.schema.is_some()
            || !self.one_of.is_empty()
    }
}

/// A named alternative of `one_of`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// The name recorded as the target's choice.
    pub name: String,
    /// Status.
    #[serde(default)]
    pub status: Option<StatusMatch>,
    /// `error`.
    #[serde(default)]
    pub error: Option<CodeMatch>,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Matcher>,
    /// JSON paths.
    #[serde(default)]
    pub json: BTreeMap<String, Matcher>,
    /// Redirect parameters.
    #[serde(default)]
    pub redirect: BTreeMap<String, Matcher>,
    /// Message schema.
    #[serde(default)]
    pub schema: Option<String>,
    /// Named checks.
    #[serde(default)]
    pub checks: Vec<Check>,
}

impl Alternative {
    /// The alternative as an expectation block citing `req`.
    pub fn to_expect(&self, req: Option<RequirementId>) -> Expect {
        Expect {
            req,
            given: BTreeMap::new(),
            status: self.status.clone(),
            error: self.error.clone(),
            headers: self.headers.clone(),
            json: self.json.clone(),
            redirect: self.redirect.clone(),
            vars: BTreeMap::new(),
            schema: self.schema.clone(),
            checks: self.checks.clone(),
            one_of: Vec::new(),
            choice: None,
        }
    }
}
