//! Profile values a vendor sets per environment (the issuer, base URLs, ports, client ids) may be
//! written `{ env: NAME }`, like secrets. Unlike secrets they are resolved while the profile is
//! parsed, so the rest of the harness (and the report) sees plain values, and an unset variable
//! is an error at the line and column where it is named.
//!
//! The fields that accept it deserialize through [`string`], [`opt_string`], [`strings`] and
//! [`port`]; their schema is [`EnvOr`]. The variables are read from an [`Environment`]: the
//! process's, or a map given to [`super::Profile::parse_in`] (tests need no process-global
//! state). Serde's derive cannot hand a context to a field, so the environment of the parse in
//! progress sits in a thread-local for its duration (`serde_saphyr::from_str` runs on the
//! calling thread).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::Deserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

/// How a per-environment value is written: the value itself, or `{ env: NAME }`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "EnvOr_{T}")]
#[expect(
    dead_code,
    reason = "only its schema is used; the values deserialize through the functions here"
)]
pub(crate) enum EnvOr<T> {
    /// From an environment variable, read when the profile loads.
    Env {
        /// The variable's name.
        env: String,
    },
    /// The value itself.
    Value(T),
}

/// Where `{ env: NAME }` values are read from.
#[derive(Clone, Debug, Default)]
pub enum Environment {
    /// The process's environment variables.
    #[default]
    Process,
    /// These variables only.
    Map(BTreeMap<String, String>),
}

impl Environment {
    /// A fixed set of variables.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<String> {
        match self {
            Self::Process => std::env::var(name).ok(),
            Self::Map(m) => m.get(name).cloned(),
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Environment>> = const { RefCell::new(None) };
}

/// Runs `f` (a parse) with `env` as the environment of `{ env: NAME }` values.
pub(super) fn with_environment<R>(env: &Environment, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Environment>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| *c.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(env.clone())));
    f()
}

fn lookup<E: de::Error>(name: &str) -> Result<String, E> {
    let value = CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .map_or_else(|| std::env::var(name).ok(), |e| e.get(name))
    });
    value.ok_or_else(|| {
        E::custom(format!(
            "the environment variable {name} is not set; export it (or write the value itself)"
        ))
    })
}

/// Reads `{ env: NAME }` from a map: the variable's value.
fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(String, String), A::Error> {
    let mut env = None;
    while let Some(k) = map.next_key::<String>()? {
        match k.as_str() {
            "env" => env = Some(map.next_value::<String>()?),
            other => {
                return Err(de::Error::custom(format!(
                    "unknown key `{other}`; a value from the environment is written `{{ env: NAME }}`"
                )));
            }
        }
    }
    let name = env.ok_or_else(|| de::Error::custom("a value from the environment is written `{ env: NAME }`"))?;
    let value = lookup(&name)?;
    Ok((name, value))
}

struct StringV;

impl<'de> Visitor<'de> for StringV {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or `{ env: NAME }`")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<String, E> {
        Ok(s.to_string())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        from_map(map).map(|(_, v)| v)
    }
}

/// A string, or `{ env: NAME }`.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(StringV)
}

/// An optional string, or `{ env: NAME }`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(StringV).map(Some)
}

/// A list whose items are strings or `{ env: NAME }`.
pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct ListV;
    impl<'de> Visitor<'de> for ListV {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings (each may be `{ env: NAME }`)")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            struct Item(String);
            impl<'de> de::Deserialize<'de> for Item {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    string(d).map(Item)
                }
            }
            let mut out = Vec::new();
            while let Some(Item(s)) = seq.next_element()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(ListV)
}

/// A port number, or `{ env: NAME }` holding one.
pub(crate) fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    struct PortV;
    impl<'de> Visitor<'de> for PortV {
        type Value = u16;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a port number (0 to 65535) or `{ env: NAME }`")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<u16, E> {
            u16::try_from(n).map_err(|_| E::custom(format!("{n} is not a port number (0 to 65535)")))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<u16, E> {
            u16::try_from(n).map_err(|_| E::custom(format!("{n} is not a port number (0 to 65535)")))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<u16, E> {
            s.trim()
                .parse()
                .map_err(|_| E::custom(format!("`{s}` is not a port number (0 to 65535)")))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<u16, A::Error> {
            let (name, v) = from_map(map)?;
            v.trim().parse().map_err(|_| {
                de::Error::custom(format!(
                    "the environment variable {name} is `{v}`, not a port number (0 to 65535)"
                ))
            })
        }
    }
    d.deserialize_any(PortV)
}

#[cfg(test)]
mod tests {
    use super::super::{Profile, ProfileError};
    use super::*;

    const AS: &str = "name: x\nrole: as\nissuer: { env: MY_ISSUER }\nallow_http: true\nclients:\n  rs: { client_id: { env: MY_RS_ID }, client_secret: s }\n  client: { client_id: c }\npolicy: { kind: manual }\nidp: { port: { env: MY_IDP_PORT } }\n";

    fn parse(text: &str, pairs: &[(&str, &str)]) -> Result<Profile, ProfileError> {
        Profile::parse_in(text, "my-as.yaml", &Environment::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn the_issuer_client_id_and_idp_port_come_from_the_given_environment() {
        let p = parse(
            AS,
            &[
                ("MY_ISSUER", "http://127.0.0.1:8443"),
                ("MY_RS_ID", "vendor-rs"),
                ("MY_IDP_PORT", "9555"),
            ],
        )
        .unwrap();
        let Profile::As(p) = p else { panic!("an AS profile") };
        assert_eq!(p.issuer, "http://127.0.0.1:8443");
        assert_eq!(p.clients["rs"].client_id, "vendor-rs");
        assert_eq!(p.idp.port, 9555);
    }

    #[test]
    fn an_unset_variable_is_reported_where_it_is_named() {
        let e = parse(AS, &[("MY_RS_ID", "r"), ("MY_IDP_PORT", "1")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("the environment variable MY_ISSUER is not set"), "{e}");
        assert!(e.contains("my-as.yaml:3"), "{e}");
    }

    #[test]
    fn a_port_variable_that_is_no_port_is_refused() {
        let e = parse(
            AS,
            &[
                ("MY_ISSUER", "http://127.0.0.1:1"),
                ("MY_RS_ID", "r"),
                ("MY_IDP_PORT", "http"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("MY_IDP_PORT is `http`, not a port number"), "{e}");
    }

    #[test]
    fn an_issuer_from_the_environment_still_obeys_the_origin_rule() {
        let e = parse(
            AS,
            &[
                ("MY_ISSUER", "http://as.example"),
                ("MY_RS_ID", "r"),
                ("MY_IDP_PORT", "0"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("refusing to send a request to http://as.example"), "{e}");
    }

    #[test]
    fn allowed_origins_admit_a_remote_issuer_and_uma_allow_remote_is_allow_remote() {
        let text = AS.replace(
            "allow_http: true\n",
            "allow_http: true\nallowed_origins: [\"http://as.example\"]\n",
        );
        let env = [
            ("MY_ISSUER", "http://as.example"),
            ("MY_RS_ID", "r"),
            ("MY_IDP_PORT", "0"),
        ];
        assert!(parse(&text, &env).is_ok());
        let mut remote = env.to_vec();
        remote.push(("UMA_ALLOW_REMOTE", "1"));
        let Profile::As(p) = parse(AS, &remote).unwrap() else {
            panic!("an AS profile")
        };
        assert!(p.allow_remote);
    }

    #[test]
    fn a_profile_may_not_give_both_allowed_origins_and_allow_remote() {
        let text = AS.replace(
            "allow_http: true\n",
            "allow_http: true\nallow_remote: true\nallowed_origins: [\"http://127.0.0.1:1\"]\n",
        );
        let env = [
            ("MY_ISSUER", "http://127.0.0.1:1"),
            ("MY_RS_ID", "r"),
            ("MY_IDP_PORT", "0"),
        ];
        let e = parse(&text, &env).unwrap_err().to_string();
        assert!(e.contains("not both"), "{e}");
    }

    #[test]
    fn a_body_cap_out_of_bounds_is_refused() {
        let text = AS.replace("allow_http: true\n", "allow_http: true\nmax_body_bytes: 10\n");
        let env = [
            ("MY_ISSUER", "http://127.0.0.1:1"),
            ("MY_RS_ID", "r"),
            ("MY_IDP_PORT", "0"),
        ];
        let e = parse(&text, &env).unwrap_err().to_string();
        assert!(e.contains("`max_body_bytes: 10` is out of bounds"), "{e}");
    }
}
