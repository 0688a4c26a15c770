//! Matchers: what an expected value may be. A status (a code, several, or a variable), error
//! codes, and a matcher: a literal compared for equality, or a map of typed operators.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::template::Tpl;

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
