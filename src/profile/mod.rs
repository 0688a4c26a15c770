//! Target profiles: what is under test (an AS, an RS or a client), how to reach it, the
//! credentials the harness uses, the capabilities claimed, and the adapters for what UMA leaves
//! out of scope (policy set-up, owner approval, claims gathering).
//!
//! [`Profile`] is the file as written, tagged by its `role`; [`AsAccess`] is what the engine needs
//! to act at an authorization server (the AS under test, or the harness's counterpart AS when the
//! target is an RS or a client), with every secret resolved.

pub mod claims;
pub mod env;
pub mod peer;
mod reach;
mod tls;

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Location};
use crate::net;
use crate::suite::{Capability, ClientAuth};
use crate::uma::{ClientId, Role, Secret};

pub use crate::net::is_loopback_host;
pub use claims::{BrowserStep, ClaimsDriver, DriverKind};
pub use env::Environment;
pub use peer::PeerProfile;
pub use reach::{BODY_CAP_BOUNDS, ProfileUris, allowed, check_host, http_policy};
pub use tls::TlsProfile;

/// How a secret is written in a profile: `{ env: NAME }` (recommended) or inline.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SecretSource {
    /// From an environment variable (recommended).
    Env {
        /// The variable's name.
        env: String,
    },
    /// Inline (only for test deployments).
    Inline(String),
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SecretSource;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a secret: `{ env: NAME }` or the value itself")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SecretSource, E> {
                Ok(SecretSource::Inline(s.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SecretSource, A::Error> {
                let mut env = None;
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "env" => env = Some(map.next_value::<String>()?),
                        other => {
                            return Err(serde::de::Error::custom(format!(
                                "unknown key `{other}` in a secret; write `{{ env: NAME }}`"
                            )));
                        }
                    }
                }
                env.map(|env| SecretSource::Env { env })
                    .ok_or_else(|| serde::de::Error::custom("a secret map needs `env: NAME`"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A client the harness acts as.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientProfile {
    /// `client_id` (may be `{ env: NAME }`).
    #[serde(deserialize_with = "env::string")]
    #[schemars(with = "env::EnvOr<String>")]
    pub client_id: String,
    /// The secret (absent for a public client).
    #[serde(default)]
    pub client_secret: Option<SecretSource>,
    /// How it authenticates at the token endpoint (default `basic`, `none` without a secret).
    #[serde(default)]
    pub auth: Option<ClientAuth>,
    /// The scopes it is registered for (RegisteredScopes).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Its registered claims redirection URIs.
    #[serde(default)]
    pub claims_redirect_uris: Vec<String>,
    /// Its registered OAuth redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// How the harness gets a PAT.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatProfile {
    /// `client_credentials` (default) or `static` (a token given in `token`).
    #[serde(default)]
    pub method: Option<String>,
    /// The scope to request (default `uma_protection`).
    #[serde(default)]
    pub scope: Option<String>,
    /// A ready-made PAT for `static`.
    #[serde(default)]
    pub token: Option<SecretSource>,
    /// A ready-made PAT of the second resource owner for `static`.
    #[serde(default)]
    pub token2: Option<SecretSource>,
}

/// The policy set-up adapter.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum PolicyAdapter {
    /// The reference AS's policy and approval API.
    Reference,
    /// A program: the request as JSON on stdin, the answer as JSON on stdout (see
    /// `fixtures/targets/adapters/README.md`).
    Command {
        /// Program and arguments.
        command: Vec<String>,
        /// Seconds before the program is killed (default 10).
        #[serde(default)]
        timeout_seconds: Option<u64>,
    },
    /// The operator sets policies by hand; scenarios that need set-up are skipped.
    Manual {
        /// What the operator prepared, for the report.
        #[serde(default)]
        notes: Option<String>,
    },
}

/// How the harness moves the AS's clock for expiry scenarios (`wait` steps) instead of waiting.
/// Without one, a `wait` really waits.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClockAdapter {
    /// A program, as for the policy adapter: `{"action": "advance-clock", "issuer": …,
    /// "seconds": N}` on stdin, `{"ok": true}` on stdout (see
    /// `fixtures/targets/adapters/README.md`). It moves the AS's clock for every client, so a
    /// scenario that waits runs while no other scenario does.
    Command {
        /// Program and arguments.
        command: Vec<String>,
        /// Seconds before the program is killed (default 10).
        #[serde(default)]
        timeout_seconds: Option<u64>,
    },
}

/// The harness's test identity provider.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpProfile {
    /// Loopback port (0, the default: any free port; fix one only when the target must be
    /// configured with the IdP's issuer ahead of the run). May be `{ env: NAME }`.
    #[serde(default, deserialize_with = "env::port")]
    #[schemars(with = "env::EnvOr<u16>")]
    pub port: u16,
}

/// Token lifetimes the target is configured with (for expiry checks).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifetimes {
    /// Permission ticket lifetime in seconds.
    #[serde(default)]
    pub ticket: Option<u64>,
    /// RPT lifetime in seconds.
    #[serde(default)]
    pub rpt: Option<u64>,
}

/// The profile of an authorization server under test.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AsProfile {
    /// A name for reports.
    pub name: String,
    /// The product under test (shown in every report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The product's version (shown in every report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The role under test.
    pub role: Role,
    /// The AS issuer identifier (may be `{ env: NAME }`).
    #[serde(deserialize_with = "env::string")]
    #[schemars(with = "env::EnvOr<String>")]
    pub issuer: String,
    /// Allow an `http:` issuer (loopback test deployments); TLS checks are then skipped.
    #[serde(default)]
    pub allow_http: bool,
    /// How to reach the AS over TLS: a private CA, a client certificate (see README,
    /// "Deployments").
    #[serde(default, skip_serializing_if = "is_default_tls")]
    pub tls: TlsProfile,
    /// Clients: `rs` (required: the resource server's client, for PATs), `rs2` (another resource
    /// owner), `client` (required: the requesting client), `client2` (another client).
    pub clients: BTreeMap<String, ClientProfile>,
    /// How to get PATs.
    #[serde(default)]
    pub pat: PatProfile,
    /// Capabilities claimed beyond what discovery shows (see `uma-conformance list --capabilities`).
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Policy set-up adapter.
    pub policy: PolicyAdapter,
    /// Clock adapter: how expiry scenarios move the AS's clock instead of waiting (default:
    /// they wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockAdapter>,
    /// Claims-gathering driver.
    #[serde(default)]
    pub claims: Option<ClaimsDriver>,
    /// The harness's identity provider.
    #[serde(default)]
    pub idp: IdpProfile,
    /// Configured lifetimes.
    #[serde(default)]
    pub lifetimes: Lifetimes,
    /// Per-request timeout in seconds (default 10).
    #[serde(default)]
    pub request_timeout_seconds: Option<u64>,
    /// The only origins (`scheme://host[:port]`) the harness may send requests to; default:
    /// loopback hosts. Items may be `{ env: NAME }`.
    #[serde(default, deserialize_with = "env::strings", skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<env::EnvOr<String>>")]
    pub allowed_origins: Vec<String>,
    /// Let the target be remote (not loopback): requests may go to the origins of the URLs this
    /// profile names for the target, and to loopback, nothing else (instead of `allowed_origins`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_remote: bool,
    /// The most bytes of an answer's body the harness reads (default 1048576); the rest is not
    /// read, and the exchange says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1024, max = 268_435_456))]
    pub max_body_bytes: Option<u64>,
    /// The URIs the AS advertises in `uma_profiles_supported` for the harness profiles, when
    /// they differ from the harness's own (see README, "Testing your own AS").
    #[serde(default, skip_serializing_if = "ProfileUris::is_default")]
    pub profile_uris: ProfileUris,
}

fn is_default_tls(t: &TlsProfile) -> bool {
    t == &TlsProfile::default()
}

/// A target profile of any role, as written.
#[derive(Clone, Debug)]
pub enum Profile {
    /// `role: as`.
    As(Box<AsProfile>),
    /// `role: rs`.
    Rs(Box<PeerProfile>),
    /// `role: client`.
    Client(Box<PeerProfile>),
}

impl Profile {
    /// The role under test.
    pub fn role(&self) -> Role {
        match self {
            Self::As(_) => Role::As,
            Self::Rs(_) => Role::Rs,
            Self::Client(_) => Role::Client,
        }
    }

    /// Loads a profile file of any role: its `role` picks the format, and every problem is
    /// reported with its `file:line:col`.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        Self::load_in(path, &Environment::Process)
    }

    /// Loads a profile file, reading `{ env: NAME }` values from `env`.
    pub fn load_in(path: &Path, env: &Environment) -> Result<Self, ProfileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            diagnostic: Diagnostic::new(
                Location::file(&shown),
                format!("failed to read the target profile: {e}"),
            ),
        })?;
        Self::parse_in(&text, &shown, env)
    }

    /// Parses profile text, reading `{ env: NAME }` values from the process environment.
    pub fn parse(text: &str, shown: &str) -> Result<Self, ProfileError> {
        Self::parse_in(text, shown, &Environment::Process)
    }

    /// Parses profile text, reading `{ env: NAME }` values from `env`. `UMA_ALLOW_REMOTE` set
    /// there is the same as `allow_remote: true` (for profiles without `allowed_origins`).
    pub fn parse_in(text: &str, shown: &str, env: &Environment) -> Result<Self, ProfileError> {
        let remote = env.get("UMA_ALLOW_REMOTE").is_some();
        let yaml = |e: serde_saphyr::Error| ProfileError {
            diagnostic: Diagnostic::from_yaml(shown, text, &e),
        };
        #[derive(Deserialize)]
        struct RoleOnly {
            role: Role,
        }
        // Read the role alone first; then the whole file as that role's format, so errors keep
        // their positions.
        let role = serde_saphyr::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| serde_json::from_value::<RoleOnly>(v).ok())
            .map(|r| r.role);
        let profile = match role {
            Some(Role::Rs) | Some(Role::Client) => {
                let mut p: PeerProfile = env::with_environment(env, || serde_saphyr::from_str(text)).map_err(yaml)?;
                p.allow_remote |= remote && p.allowed_origins.is_empty();
                p.validate(shown)?;
                if p.role == Role::Rs {
                    Self::Rs(Box::new(p))
                } else {
                    Self::Client(Box::new(p))
                }
            }
            _ => {
                let mut p: AsProfile = env::with_environment(env, || serde_saphyr::from_str(text)).map_err(yaml)?;
                p.allow_remote |= remote && p.allowed_origins.is_empty();
                AsAccess::check(&p, shown)?;
                Self::As(Box::new(p))
            }
        };
        Ok(profile)
    }

    /// The profile as JSON (secrets still in it: pass it through the run's redactor).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Self::As(p) => serde_json::to_value(p),
            Self::Rs(p) | Self::Client(p) => serde_json::to_value(p),
        }
        .unwrap_or_default()
    }
}

/// Any target profile, for the generated schema.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "only its schema is used")]
pub(crate) enum AnyTargetProfile {
    /// `role: as`.
    As(AsProfile),
    /// `role: rs` or `role: client`.
    Peer(PeerProfile),
}

/// A client with its secret resolved.
#[derive(Clone, Debug)]
pub struct ClientActor {
    /// `client_id`.
    pub client_id: ClientId,
    /// The secret.
    pub secret: Option<Secret>,
    /// Authentication method.
    pub auth: ClientAuth,
    /// Registered scopes.
    pub scopes: Vec<String>,
    /// Claims redirection URIs.
    pub claims_redirect_uris: Vec<String>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
}

impl ClientActor {
    /// The actor as a scenario variable: `client_id`, `scopes`, `claims_redirect_uris`,
    /// `redirect_uris` (never its secret).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({"client_id": self.client_id, "scopes": self.scopes,
            "claims_redirect_uris": self.claims_redirect_uris, "redirect_uris": self.redirect_uris})
    }
}

/// How the harness acts at an authorization server (the AS under test, or its own counterpart
/// AS): the profile with every secret resolved.
#[derive(Clone, Debug)]
pub struct AsAccess {
    /// The profile as written (secrets unresolved).
    pub profile: AsProfile,
    /// Client actors by name.
    pub clients: BTreeMap<String, ClientActor>,
    /// Static PATs, if any.
    pub static_pats: BTreeMap<String, Secret>,
    /// Every secret value, for redaction.
    pub secrets: Vec<Secret>,
}

/// A problem with a target profile.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{diagnostic}")]
pub struct ProfileError {
    /// Where and what.
    pub diagnostic: Diagnostic,
}

impl ProfileError {
    pub(super) fn at(location: &str, message: String) -> Self {
        Self {
            diagnostic: Diagnostic::new(Location::file(location), message),
        }
    }
}

/// Resolves a secret: inline, or from the environment variable it names.
pub fn resolve(src: &SecretSource, what: &str, location: &str) -> Result<Secret, ProfileError> {
    match src {
        SecretSource::Inline(v) => Ok(Secret::new(v.clone())),
        SecretSource::Env { env } => std::env::var(env).map(Secret::new).map_err(|_| {
            ProfileError::at(
                location,
                format!("{what} comes from the environment variable {env}, which is not set; export it"),
            )
        }),
    }
}

impl AsAccess {
    /// Resolves an AS profile.
    pub fn from_profile(profile: AsProfile, location: &str) -> Result<Self, ProfileError> {
        Self::check(&profile, location)?;
        Self::resolve(profile, location)
    }

    /// Checks what the schema cannot (the issuer, the required clients, the PAT method, the
    /// claims driver) without resolving any secret.
    pub fn check(profile: &AsProfile, location: &str) -> Result<(), ProfileError> {
        let bad = |message: String| ProfileError::at(location, message);
        let issuer = url::Url::parse(&profile.issuer).map_err(|e| bad(format!("`issuer` is not a URL: {e}")))?;
        match issuer.scheme() {
            "https" => {}
            "http" if profile.allow_http => {}
            "http" => {
                return Err(bad(
                    "`issuer` uses http: UMA needs TLS (FedAuthz §1.3); set `allow_http: true` for a loopback test \
                     deployment"
                        .into(),
                ));
            }
            s => return Err(bad(format!("`issuer` has scheme {s}; use https"))),
        }
        let allowed = allowed(
            &profile.allowed_origins,
            profile.allow_remote,
            &[&profile.issuer],
            location,
        )?;
        check_host("issuer", &profile.issuer, location, &allowed)?;
        http_policy(
            allowed,
            profile.max_body_bytes,
            profile.request_timeout_seconds,
            location,
        )?;
        profile.tls.check(location)?;
        for (name, uri) in [
            ("icg-pkce", &profile.profile_uris.icg_pkce),
            ("icg-iss", &profile.profile_uris.icg_iss),
        ] {
            if let Some(u) = uri
                && url::Url::parse(u).is_err()
            {
                return Err(bad(format!("`profile_uris.{name}` is not a URI: {u}")));
            }
        }
        for required in ["rs", "client"] {
            if !profile.clients.contains_key(required) {
                return Err(bad(format!("`clients.{required}` is required")));
            }
        }
        match profile.pat.method.as_deref() {
            None | Some("client_credentials") => {}
            Some("static") if profile.pat.token.is_some() => {}
            Some("static") => return Err(bad("`pat.method: static` needs `pat.token`".into())),
            Some(m) => {
                return Err(bad(format!(
                    "`pat.method: {m}` is unknown; use client_credentials or static"
                )));
            }
        }
        if let Some(d) = &profile.claims {
            d.check(location)?;
        }
        Ok(())
    }

    /// Resolves the profile's secrets (from the environment where it says so).
    fn resolve(profile: AsProfile, location: &str) -> Result<Self, ProfileError> {
        let mut secrets = Vec::new();
        let mut clients = BTreeMap::new();
        for (name, c) in &profile.clients {
            let secret = match &c.client_secret {
                Some(s) => Some(resolve(s, &format!("clients.{name}.client_secret"), location)?),
                None => None,
            };
            if let Some(s) = &secret {
                secrets.push(s.clone());
            }
            let auth = c.auth.unwrap_or(if secret.is_some() {
                ClientAuth::Basic
            } else {
                ClientAuth::None
            });
            clients.insert(
                name.clone(),
                ClientActor {
                    client_id: ClientId::new(&c.client_id),
                    secret,
                    auth,
                    scopes: c.scopes.clone(),
                    claims_redirect_uris: c.claims_redirect_uris.clone(),
                    redirect_uris: c.redirect_uris.clone(),
                },
            );
        }
        let mut static_pats = BTreeMap::new();
        if profile.pat.method.as_deref() == Some("static")
            && let Some(t) = &profile.pat.token
        {
            let s = resolve(t, "pat.token", location)?;
            secrets.push(s.clone());
            static_pats.insert("rs".to_string(), s);
            if let Some(t2) = &profile.pat.token2 {
                let s = resolve(t2, "pat.token2", location)?;
                secrets.push(s.clone());
                static_pats.insert("rs2".to_string(), s);
            }
        }
        Ok(Self {
            profile,
            clients,
            static_pats,
            secrets,
        })
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.profile.issuer
    }

    /// The guarded path's policy for this AS (checked when the profile loaded).
    pub fn http_policy(&self) -> Result<net::Policy, ProfileError> {
        let p = &self.profile;
        let allowed = allowed(&p.allowed_origins, p.allow_remote, &[&p.issuer], &p.name)?;
        Ok(http_policy(allowed, p.max_body_bytes, p.request_timeout_seconds, &p.name)?.with_tls(p.tls.load(&p.name)?))
    }

    /// Every secret of the profile (for the run's redactor).
    pub fn secrets(&self) -> &[Secret] {
        &self.secrets
    }
}
