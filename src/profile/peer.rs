//! Profiles of resource-server and client targets. The harness plays the AS (and, for a client,
//! the RS) itself, so these profiles say how to reach the target, what the target is registered as
//! at the harness's AS, and how the target is pointed at the harness's counterparts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ClientProfile, ProfileError, SecretSource, allowed, check_host, env, http_policy};
use crate::net;
use crate::suite::Capability;
use crate::uma::Role;

/// Where the harness's counterparts listen.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterpartBinding {
    /// Loopback port of the harness's AS (0 = any free port; give a fixed one when the target
    /// is configured with a fixed AS address). Its issuer is `http://127.0.0.1:PORT`. May be
    /// `{ env: NAME }`.
    #[serde(default, deserialize_with = "env::port")]
    #[schemars(with = "env::EnvOr<u16>")]
    pub as_port: u16,
    /// Loopback port of the harness's RS (client targets; 0 = any). May be `{ env: NAME }`.
    #[serde(default, deserialize_with = "env::port")]
    #[schemars(with = "env::EnvOr<u16>")]
    pub rs_port: u16,
    /// A path for the harness AS's issuer (`/realms/interop`: Keycloak's layout, for libraries
    /// that build their discovery URL from a server URL and a realm); every endpoint is then
    /// served under it, and discovery is at `{issuer}/.well-known/uma2-configuration`. Default:
    /// none (the issuer is the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(/[A-Za-z0-9._~-]+)+$"))]
    pub as_path: Option<String>,
}

/// A program the harness runs once its counterparts are up, to point the target at them.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupCommand {
    /// Program and arguments; `{as_issuer}` and `{rs_base}` are replaced.
    pub command: Vec<String>,
    /// Seconds before it is killed (default 30).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// One request the RS scenarios send.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RsRequestProfile {
    /// HTTP method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Path below `base_url`.
    pub path: String,
    /// The scope the RS needs for it (documentation for reports).
    #[serde(default)]
    pub scope: Option<String>,
}

/// A resource server under test.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RsTargetProfile {
    /// The RS's base URL (may be `{ env: NAME }`).
    #[serde(deserialize_with = "env::string")]
    #[schemars(with = "env::EnvOr<String>")]
    pub base_url: String,
    /// The RS's client at the harness's AS: it gets its PATs with these credentials (client
    /// credentials grant, scope `uma_protection`).
    pub as_client: RsAsClient,
    /// The requests scenarios send, by name. Required: `read` (a protected resource and scope),
    /// `other-scope` (the same resource, another scope), `other-resource` (another resource).
    /// Optional: `several` (a request that needs permissions on more than one resource; the RS
    /// then claims `several-permissions`).
    pub requests: BTreeMap<String, RsRequestProfile>,
}

/// The RS's registration at the harness's AS.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RsAsClient {
    /// `client_id` (may be `{ env: NAME }`).
    #[serde(deserialize_with = "env::string")]
    #[schemars(with = "env::EnvOr<String>")]
    pub client_id: String,
    /// The secret.
    pub client_secret: SecretSource,
}

/// How the harness starts a client under test.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientTargetProfile {
    /// The start URL, an HTTP GET the harness sends as the requesting party's browser.
    /// `{resource}` (the protected resource URL at the harness's RS), `{user}` (the requesting
    /// party), `{id_token}` (an ID token for the requesting party from the harness's identity
    /// provider, for clients that push claims) and `{access_token}` (an access token of the
    /// client at the harness's AS, for clients that need one to start; see
    /// `access_token_scope`) are replaced, URL-encoded. May be `{ env: NAME }`.
    #[serde(default, deserialize_with = "env::opt_string")]
    #[schemars(with = "Option<env::EnvOr<String>>")]
    pub start_url: Option<String>,
    /// Or a command template run once per `browse` step (a client without a web front end): the
    /// same placeholders, replaced as they are, each argument staying one argument. Exit status 0
    /// is a success; stdout is the answer. Each run is an exchange of the report (method `EXEC`:
    /// the command line, stdout, the exit status and stderr), secrets redacted. Such a client
    /// cannot be sent through a browser, so interactive-claims scenarios are skipped.
    #[serde(default)]
    pub start_command: Option<StartCommand>,
    /// The client's registration at the harness's AS (client id and secret, registered scopes and
    /// claims redirection URIs).
    pub registration: ClientProfile,
    /// Profiles and options the client claims: `profile:icg-pkce`, `profile:icg-iss`.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// How long negative checks wait for a request that must not come, in milliseconds (default
    /// 500, at most 2000).
    #[serde(default)]
    pub quiet_window_ms: Option<u64>,
    /// The scope of the access token `{access_token}` stands for: the harness asks its AS for it
    /// with the client's own credentials (client_credentials grant). Default: the client's
    /// registered scopes.
    #[serde(default)]
    pub access_token_scope: Option<String>,
}

/// A client started by a command.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCommand {
    /// Program and arguments, with `{resource}`, `{user}`, `{id_token}`, `{access_token}`.
    pub command: Vec<String>,
    /// Seconds before it is killed (default 30).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// A target profile whose role is `rs` or `client`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerProfile {
    /// A name for reports.
    pub name: String,
    /// The product under test (shown in every report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The product's version (shown in every report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `rs` or `client`.
    pub role: Role,
    /// The resource server (role `rs`).
    #[serde(default)]
    pub rs: Option<RsTargetProfile>,
    /// The client (role `client`).
    #[serde(default)]
    pub client: Option<ClientTargetProfile>,
    /// Where the harness's counterparts listen.
    #[serde(default)]
    pub counterpart: CounterpartBinding,
    /// Points the target at the counterparts once they are up.
    #[serde(default)]
    pub setup: Option<SetupCommand>,
    /// Loopback port of the harness's identity provider (0, the default: any free port). May
    /// be `{ env: NAME }`.
    #[serde(default, deserialize_with = "env::port")]
    #[schemars(with = "env::EnvOr<u16>")]
    pub idp_port: u16,
    /// Per-request timeout in seconds (default 10).
    #[serde(default)]
    pub request_timeout_seconds: Option<u64>,
    /// The only origins (`scheme://host[:port]`) the harness may send requests to besides its
    /// own counterparts; default: loopback hosts. Items may be `{ env: NAME }`.
    #[serde(default, deserialize_with = "env::strings", skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<env::EnvOr<String>>")]
    pub allowed_origins: Vec<String>,
    /// Let the target be remote (not loopback): requests may go to the origins of the URLs this
    /// profile names for the target, and to loopback, nothing else (instead of `allowed_origins`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_remote: bool,
    /// The most bytes of an answer's body the harness reads (default 1048576).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1024, max = 268_435_456))]
    pub max_body_bytes: Option<u64>,
    /// How to reach the target over TLS: a private CA, a client certificate (see README,
    /// "Deployments").
    #[serde(default, skip_serializing_if = "super::is_default_tls")]
    pub tls: super::TlsProfile,
}

impl PeerProfile {
    /// The guarded path's policy for this target (checked when the profile loaded); the
    /// harness's own counterparts are added by the caller.
    pub fn http_policy(&self) -> Result<net::Policy, ProfileError> {
        let allowed = allowed(
            &self.allowed_origins,
            self.allow_remote,
            &self.target_urls(),
            &self.name,
        )?;
        Ok(
            http_policy(allowed, self.max_body_bytes, self.request_timeout_seconds, &self.name)?
                .with_tls(self.tls.load(&self.name)?),
        )
    }
}

/// A path of one or more segments of unreserved characters (RFC 3986 §2.3), without a trailing
/// slash: safe to append to an origin and to nest the AS's routes under.
fn valid_issuer_path(path: &str) -> bool {
    path.len() <= 200
        && path.strip_prefix('/').is_some_and(|rest| {
            rest.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
            })
        })
}

/// The most a negative check waits.
pub const MAX_QUIET_WINDOW_MS: u64 = 2000;

impl PeerProfile {
    /// The URLs of the target this profile names (whose origins `allow_remote` allows).
    fn target_urls(&self) -> Vec<&str> {
        let rs = self.rs.as_ref().map(|r| r.base_url.as_str());
        let client = self.client.as_ref().and_then(|c| c.start_url.as_deref());
        rs.into_iter().chain(client).collect()
    }

    /// Checks the parts the schema cannot.
    pub fn validate(&self, location: &str) -> Result<(), ProfileError> {
        let bad = |message: String| ProfileError::at(location, message);
        let allowed = allowed(&self.allowed_origins, self.allow_remote, &self.target_urls(), location)?;
        http_policy(
            allowed.clone(),
            self.max_body_bytes,
            self.request_timeout_seconds,
            location,
        )?;
        self.tls.check(location)?;
        if let Some(path) = &self.counterpart.as_path
            && !valid_issuer_path(path)
        {
            return Err(bad(format!(
                "`counterpart.as_path` must be a path such as /realms/interop (segments of letters, digits, `.`, `_`, `~`, `-`), not {path:?}"
            )));
        }
        let url_ok = |field: &str, u: &str| check_host(field, u, location, &allowed);
        match self.role {
            Role::As => {
                return Err(bad(
                    "an `as` profile has `issuer`, `clients` and `policy`; this one has neither".into(),
                ));
            }
            Role::Rs => {
                let rs = self
                    .rs
                    .as_ref()
                    .ok_or_else(|| bad("role `rs` needs an `rs:` section".into()))?;
                url_ok("rs.base_url", &rs.base_url)?;
                for need in ["read", "other-scope", "other-resource"] {
                    if !rs.requests.contains_key(need) {
                        return Err(bad(format!(
                            "`rs.requests.{need}` is required (see fixtures/targets/example-rs.yaml)"
                        )));
                    }
                }
            }
            Role::Client => {
                let c = self
                    .client
                    .as_ref()
                    .ok_or_else(|| bad("role `client` needs a `client:` section".into()))?;
                match (&c.start_url, &c.start_command) {
                    (Some(u), None) => {
                        url_ok("client.start_url", u)?;
                        if !u.contains("{resource}") {
                            return Err(bad("`client.start_url` must contain `{resource}`".into()));
                        }
                    }
                    (None, Some(cmd)) => {
                        if cmd.command.is_empty() || !cmd.command.iter().any(|a| a.contains("{resource}")) {
                            return Err(bad(
                                "`client.start_command.command` must be a program and arguments, one containing `{resource}`".into(),
                            ));
                        }
                    }
                    _ => {
                        return Err(bad(
                            "a client profile has exactly one of `start_url` and `start_command`".into(),
                        ));
                    }
                }
                if c.quiet_window_ms.is_some_and(|w| w > MAX_QUIET_WINDOW_MS) {
                    return Err(bad(format!(
                        "`client.quiet_window_ms` is at most {MAX_QUIET_WINDOW_MS}"
                    )));
                }
            }
        }
        Ok(())
    }
}
