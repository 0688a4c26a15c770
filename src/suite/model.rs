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

/// An expected HTTP status: one code, several, or a variable holding them.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusMatch {
    /// Accepted codes.
    Codes(Vec<u16>),
    /// A `$variable` holding a code or a list of codes.
    Var(Tpl),
}

fn status_code<E: de::Error>(n: u64) -> Result<u16, E> {
    u16::try_from(n)
        .ok()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| E::custom(format!("`{n}` is not an HTTP status code (100–599)")))
}

impl<'de> Deserialize<'de> for StatusMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StatusMatch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an HTTP status code (100–599), a list of them, or a `$variable`")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<StatusMatch, E> {
                Ok(StatusMatch::Codes(vec![status_code(n)?]))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<StatusMatch, E> {
                self.visit_u64(u64::try_from(n).map_err(|_| E::custom(format!("`{n}` is not an HTTP status code")))?)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StatusMatch, E> {
                if s.starts_with('$') {
                    Ok(StatusMatch::Var(Tpl::new(Value::String(s.to_string()))))
                } else {
                    Err(E::custom(format!(
                        "expected an HTTP status code (100–599), a list of them, or a `$variable`; found `{s}`"
                    )))
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusMatch, A::Error> {
                let mut codes = Vec::new();
                while let Some(n) = seq.next_element::<u64>()? {
                    codes.push(status_code(n)?);
                }
                Ok(StatusMatch::Codes(codes))
            }
        }
        d.deserialize_any(V)
    }
}

/// Expected OAuth `error` codes: one, several, or a variable.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct CodeMatch(pub Tpl);

impl<'de> Deserialize<'de> for CodeMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CodeMatch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error code (a string), a list of them, or a `$variable`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<CodeMatch, E> {
                Ok(CodeMatch(Tpl::new(Value::String(s.to_string()))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CodeMatch, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    v.push(Value::String(s));
                }
                Ok(CodeMatch(Tpl::new(Value::Array(v))))
            }
        }
        d.deserialize_any(V)
    }
}

/// A matcher: a literal (equality after variable substitution) or a map of operators.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Matcher {
    /// Operators, all of which must hold.
    Ops(Box<MatchOps>),
    /// Equality with this value.
    Literal(Tpl),
}

/// A JSON type, for the `type` operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// A string.
    String,
    /// Any number.
    Number,
    /// An integer.
    Integer,
    /// true or false.
    Boolean,
    /// An array.
    Array,
    /// An object.
    Object,
    /// null.
    Null,
}

impl JsonType {
    /// Whether a value is of this type (an integer is also a number).
    pub fn holds(self, v: &Value) -> bool {
        match (self, v) {
            (Self::String, Value::String(_))
            | (Self::Boolean, Value::Bool(_))
            | (Self::Array, Value::Array(_))
            | (Self::Object, Value::Object(_))
            | (Self::Null, Value::Null)
            | (Self::Number, Value::Number(_)) => true,
            (Self::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            _ => false,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Array => "array",
            Self::Object => "object",
            Self::Null => "null",
        }
    }
}

macro_rules! match_ops {
    ($( $field:ident $(as $rename:literal)? : $ty:ty => $doc:literal; )*) => {
        /// Matcher operators; all given must hold.
        #[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct MatchOps {
            $(
                #[doc = $doc]
                #[serde(default, skip_serializing_if = "Option::is_none" $(, rename = $rename)?)]
                pub $field: Option<$ty>,
            )*
        }

        impl MatchOps {
            /// The operator names.
            pub const NAMES: &'static [&'static str] = &[$(match_ops!(@name $field $($rename)?)),*];

            fn set<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
                match key {
                    $(match_ops!(@name $field $($rename)?) => self.$field = Some(map.next_value()?),)*
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown matcher operator `{other}`{}; operators: {}",
                            crate::diagnostic::did_you_mean(other, Self::NAMES.iter().copied()),
                            Self::NAMES.join(", ")
                        )))
                    }
                }
                Ok(())
            }
        }
    };
    (@name $field:ident $rename:literal) => { $rename };
    (@name $field:ident) => { stringify!($field) };
}

match_ops! {
    optional: bool => "Absence is fine: the other operators apply only to a value that is there.";
    present: bool => "Present (true) or absent (false).";
    eq: Tpl => "Equal to.";
    ne: Tpl => "Not equal to.";
    one_of: Tpl => "One of these values.";
    contains: Tpl => "A string containing this substring, or an array containing this element.";
    not_contains: Tpl => "The opposite of `contains`.";
    json_type as "type": JsonType => "JSON type: string, number, integer, boolean, array, object, null.";
    set: Tpl => "An array with the same elements as this one, in any order.";
    subset_of: Tpl => "An array whose elements all appear in this one.";
    starts_with: Tpl => "A string starting with this prefix.";
    len: usize => "The length of a string or array.";
    min: f64 => "A number at least this large.";
    max: f64 => "A number at most this large.";
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Matcher;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value to compare with, or a map of matcher operators")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Matcher, E> {
                Ok(Matcher::Literal(Tpl::new(Value::Bool(v))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Matcher, E> {
                Ok(Matcher::Literal(Tpl::new(Value::from(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Matcher, E> {
                Ok(Matcher::Literal(Tpl::new(Value::from(v))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Matcher, E> {
                Ok(Matcher::Literal(Tpl::new(Value::from(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Matcher, E> {
                Ok(Matcher::Literal(Tpl::new(Value::String(v.to_string()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Matcher, E> {
                Ok(Matcher::Literal(Tpl::new(Value::Null)))
            }
            fn visit_none<E: de::Error>(self) -> Result<Matcher, E> {
                Ok(Matcher::Literal(Tpl::new(Value::Null)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Matcher, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<Value>()? {
                    v.push(x);
                }
                Ok(Matcher::Literal(Tpl::new(Value::Array(v))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Matcher, A::Error> {
                let Some(first) = map.next_key::<String>()? else {
                    return Ok(Matcher::Literal(Tpl::new(Value::Object(Default::default()))));
                };
                if MatchOps::NAMES.contains(&first.as_str()) {
                    // A map whose first key is an operator is a map of operators: every key
                    // must be one, with a value of the operator's type.
                    let mut ops = MatchOps::default();
                    ops.set(&first, &mut map)?;
                    let help = format!("; operators: {}", MatchOps::NAMES.join(", "));
                    let seed = crate::diagnostic::KnownKey {
                        known: MatchOps::NAMES,
                        what: "matcher operator",
                        help: &help,
                    };
                    while let Some(k) = map.next_key_seed(seed)? {
                        ops.set(&k, &mut map)?;
                    }
                    return Ok(Matcher::Ops(Box::new(ops)));
                }
                let mut obj = serde_json::Map::new();
                obj.insert(first, map.next_value::<Value>()?);
                while let Some(k) = map.next_key::<String>()? {
                    obj.insert(k, map.next_value::<Value>()?);
                }
                Ok(Matcher::Literal(Tpl::new(Value::Object(obj))))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_must_be_a_code_a_list_or_a_variable() {
        assert_eq!(
            serde_saphyr::from_str::<StatusMatch>("201").unwrap(),
            StatusMatch::Codes(vec![201])
        );
        assert_eq!(
            serde_saphyr::from_str::<StatusMatch>("[200, 204]").unwrap(),
            StatusMatch::Codes(vec![200, 204])
        );
        assert!(matches!(
            serde_saphyr::from_str::<StatusMatch>("$s").unwrap(),
            StatusMatch::Var(_)
        ));
        let e = serde_saphyr::from_str::<StatusMatch>("two hundred").unwrap_err();
        assert!(e.to_string().contains("found `two hundred`"), "{e}");
        assert!(serde_saphyr::from_str::<StatusMatch>("999").is_err());
    }

    #[test]
    fn a_map_of_operators_is_typed_and_a_plain_map_is_a_literal() {
        let m: Matcher = serde_saphyr::from_str("{ present: true, len: 3 }").unwrap();
        assert!(matches!(&m, Matcher::Ops(o) if o.present == Some(true) && o.len == Some(3)));
        let m: Matcher = serde_saphyr::from_str("{ active: false }").unwrap();
        assert!(matches!(&m, Matcher::Literal(t) if t.0 == serde_json::json!({"active": false})));
        let e = serde_saphyr::from_str::<Matcher>("{ present: yes-please }").unwrap_err();
        assert!(e.location().is_some(), "{e}");
        let e = serde_saphyr::from_str::<Matcher>("{ present: true, presnt: false }").unwrap_err();
        assert!(e.to_string().contains("did you mean `present`"), "{e}");
    }
}
