//! Target profiles: what is under test, how to reach it, the credentials the harness uses, the
//! capabilities claimed, and the adapters for what UMA leaves out of scope (policy set-up,
//! owner approval, claims gathering).

pub mod adapter;
pub mod peer;
pub mod preflight;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalogue::Role;
use crate::suite::model::ClientAuth;

/// The abstract policies scenarios may name (DESIGN §5).
pub const POLICIES: &[&str] = &["open", "deny", "claim-email", "owner-approval"];

/// A secret: never printed; given inline or, better, as `{ env: NAME }`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }
    /// The value, for the one place that sends it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// How a secret is written in a profile.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
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

/// A client the harness acts as.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientProfile {
    /// `client_id`.
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

/// The claims-gathering driver.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimsDriver {
    /// `form` (follow redirects and fill the claims form over HTTP).
    pub driver: String,
    /// Form field → value; `{email}` and `{sub}` stand for the requesting party's.
    #[serde(default)]
    pub fill: BTreeMap<String, String>,
    /// The submit button value that shares the claims (default `submit`).
    #[serde(default)]
    pub submit: Option<String>,
}

/// The harness's test identity provider.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpProfile {
    /// Loopback port (0 = any; give a fixed one when the target must be configured to trust it).
    #[serde(default)]
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

/// A target profile file.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetProfile {
    /// A name for reports.
    pub name: String,
    /// The role under test.
    pub role: Role,
    /// The AS issuer identifier.
    pub issuer: String,
    /// Allow an `http:` issuer (loopback test deployments); TLS checks are then skipped.
    #[serde(default)]
    pub allow_http: bool,
    /// Clients: `rs` (required: the resource server's client, for PATs), `rs2` (another resource
    /// owner), `client` (required: the requesting client), `client2` (another client).
    pub clients: BTreeMap<String, ClientProfile>,
    /// How to get PATs.
    #[serde(default)]
    pub pat: PatProfile,
    /// Capabilities claimed beyond what discovery shows (see `uma-conformance list --capabilities`).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Policy set-up adapter.
    pub policy: PolicyAdapter,
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
}

/// Any target profile, for the generated schema: an AS profile or an RS / client profile.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AnyTargetProfile {
    /// `role: as`.
    As(Box<TargetProfile>),
    /// `role: rs` or `role: client`.
    Peer(Box<peer::PeerProfile>),
}

/// A client with its secret resolved.
#[derive(Clone, Debug)]
pub struct ClientActor {
    /// `client_id`.
    pub client_id: String,
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

/// A loaded profile with secrets resolved.
#[derive(Clone, Debug)]
pub struct Target {
    /// The profile as written (secrets unresolved).
    pub profile: TargetProfile,
    /// Client actors by name.
    pub clients: BTreeMap<String, ClientActor>,
    /// Static PATs, if any.
    pub static_pats: BTreeMap<String, Secret>,
    /// Every secret value, for redaction.
    pub secrets: Vec<Secret>,
}

/// A problem with a target profile.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ProfileError {
    /// File (and line).
    pub location: String,
    /// What and how to fix it.
    pub message: String,
}

fn resolve(src: &SecretSource, what: &str, location: &str) -> Result<Secret, ProfileError> {
    match src {
        SecretSource::Inline(v) => Ok(Secret::new(v.clone())),
        SecretSource::Env { env } => std::env::var(env).map(Secret::new).map_err(|_| ProfileError {
            location: location.to_string(),
            message: format!("{what} comes from the environment variable {env}, which is not set; export it"),
        }),
    }
}

impl Target {
    /// Loads and validates a profile file.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let location = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            location: location.clone(),
            message: format!("cannot read the target profile: {e}"),
        })?;
        let profile: TargetProfile = serde_saphyr::from_str(&text).map_err(|e| ProfileError {
            location: location.clone(),
            message: e.to_string(),
        })?;
        Self::from_profile(profile, &location)
    }

    /// Resolves a profile.
    pub fn from_profile(profile: TargetProfile, location: &str) -> Result<Self, ProfileError> {
        let bad = |message: String| ProfileError {
            location: location.to_string(),
            message,
        };
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
        if let Some(host) = issuer.host_str()
            && !crate::is_loopback_host(host)
            && std::env::var("UMA_ALLOW_REMOTE").is_err()
        {
            return Err(bad(format!(
                "`issuer` host {host} is not a loopback address; this build only targets 127.0.0.1 and ::1 \
                 (set UMA_ALLOW_REMOTE=1 to override)"
            )));
        }
        for required in ["rs", "client"] {
            if !profile.clients.contains_key(required) {
                return Err(bad(format!("`clients.{required}` is required")));
            }
        }
        for c in &profile.capabilities {
            if !crate::suite::CAPABILITIES.iter().any(|(n, _)| n == c) {
                return Err(bad(format!(
                    "unknown capability `{c}`; known: {}",
                    crate::suite::CAPABILITIES
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
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
                    client_id: c.client_id.clone(),
                    secret,
                    auth,
                    scopes: c.scopes.clone(),
                    claims_redirect_uris: c.claims_redirect_uris.clone(),
                    redirect_uris: c.redirect_uris.clone(),
                },
            );
        }
        let mut static_pats = BTreeMap::new();
        if profile.pat.method.as_deref() == Some("static") {
            let t = profile
                .pat
                .token
                .as_ref()
                .ok_or_else(|| bad("`pat.method: static` needs `pat.token`".into()))?;
            let s = resolve(t, "pat.token", location)?;
            secrets.push(s.clone());
            static_pats.insert("rs".to_string(), s);
            if let Some(t2) = &profile.pat.token2 {
                let s = resolve(t2, "pat.token2", location)?;
                secrets.push(s.clone());
                static_pats.insert("rs2".to_string(), s);
            }
        } else if let Some(m) = &profile.pat.method
            && m != "client_credentials"
        {
            return Err(bad(format!(
                "`pat.method: {m}` is unknown; use client_credentials or static"
            )));
        }
        if let Some(d) = &profile.claims
            && d.driver != "form"
        {
            return Err(bad(format!(
                "`claims.driver: {}` is not available in this build; use `form`",
                d.driver
            )));
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

    /// The profile as JSON with every secret replaced, for reports.
    pub fn redacted_profile(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.profile).unwrap_or_default();
        if let Some(clients) = v.get_mut("clients").and_then(|c| c.as_object_mut()) {
            for c in clients.values_mut() {
                if let Some(s) = c.get_mut("client_secret")
                    && s.is_string()
                {
                    *s = serde_json::Value::String("[redacted]".into());
                }
            }
        }
        if let Some(p) = v.get_mut("pat").and_then(|p| p.as_object_mut()) {
            for k in ["token", "token2"] {
                if let Some(s) = p.get_mut(k)
                    && s.is_string()
                {
                    *s = serde_json::Value::String("[redacted]".into());
                }
            }
        }
        v
    }
}
