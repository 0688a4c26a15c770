//! Configuration of the reference AS: a YAML file, or the built-in demo configuration.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::core::registration_policy::RegistrationPolicy;
use crate::quirks::Quirks;
use crate::store::Durability;
use crate::types::{ClientSecret, Password};
use crate::variants::{Variant, Variants};

/// The longest lifetime accepted for anything, in seconds (ten years).
pub const MAX_LIFETIME: i64 = 10 * 366 * 86_400;

/// The whole configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The issuer URL. Empty means `http://127.0.0.1:{port}` once the listener is bound.
    pub issuer: String,
    /// Database URL: `sqlite://…`, `sqlite::memory:` or `postgres://…`. Empty means a SQLite
    /// file `uma.db` in the data directory.
    pub database_url: String,
    /// When a write to SQLite is acknowledged: `batched` (default) or `sync` (see
    /// [`Durability`]). PostgreSQL always acknowledges after the commit.
    pub durability: Durability,
    /// Statically configured clients.
    pub clients: Vec<StaticClient>,
    /// End users: resource owners who log in for a PAT, and requesting parties.
    pub users: Vec<User>,
    /// Issuers whose ID tokens are accepted as pushed claim tokens.
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// Lifetimes in seconds.
    pub lifetimes: Lifetimes,
    /// How RPTs are represented.
    pub rpt_format: RptFormat,
    /// What the AS does when some requested scopes can be granted and others cannot (digest
    /// §4.3, outcome O5).
    pub partial_outcome: PartialOutcome,
    /// Whether RFC 7591 dynamic client registration is open to anyone.
    pub open_registration: bool,
    /// The `interval` sent with `request_submitted`, in seconds.
    pub poll_interval: u64,
    /// Whether the PKCE profile is required on the claims interaction endpoint (digest §10.1).
    pub icg_pkce: PkceMode,
    /// Whether the `iss` profile is on (digest §10.2).
    pub icg_iss: bool,
    /// Deliberate violations to commit.
    pub quirks: Quirks,
    /// Conformant alternatives to take (role `as`; see [`Variant`]). Some stand for a setting
    /// above; [`Config::settle`] keeps the two in step.
    pub variants: Variants,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's line and headers (and a keep-alive
    /// connection may stay idle) before its connection is closed, in seconds.
    pub header_read_timeout_secs: u64,
    /// Serve a built-in demo identity provider at `{issuer}/demo-idp` that mints ID tokens on
    /// request, and trust it. For walk-throughs and tests only: anyone can mint any claim.
    pub demo_identity_provider: bool,
    /// Policies given to resources when they are registered: the first rule that covers a
    /// resource (by owner, RS client, `name`, `type`) becomes its policy (see
    /// [`crate::core::registration_policy`]). Empty by default: a new resource has no policy.
    pub registration_policies: Vec<RegistrationPolicy>,
    /// Whether a client that acts for no resource owner may get a plain OAuth access token for
    /// its registered scopes with the `client_credentials` grant (some client libraries start
    /// only with an access token in hand). Off by default: only PATs are issued that way.
    pub client_access_tokens: bool,
    /// What the token endpoint does with a requested scope the client is not pre-registered for
    /// and nothing at hand offers: `refuse` (default; `invalid_scope`) or `ignore` (RFC 6749
    /// §3.3: the AS may ignore requested scope; UMA Grant §3.3.1: a scope the client is not
    /// pre-registered for is not considered anyway).
    pub unknown_scopes: UnknownScopes,
    /// Whether a client registered by RFC 7591 with `uma_protection` in its `scope` acts for a
    /// resource owner of its own (named after its client_id), so that it gets PATs with the
    /// `client_credentials` grant. Off by default: such a client has no owner.
    pub dcr_owners: bool,
    /// Whether the token, introspection and revocation endpoints read a body as a form whatever
    /// media type it declares. Off by default (a body declared as another type is refused with
    /// 400). The harness's counterpart AS turns it on, so that a client whose requests are
    /// mislabelled is judged for that (R6749-13) and the rest of its flow still runs.
    pub lenient_form_labels: bool,
}

/// What the token endpoint does with requested scopes it cannot place (`unknown_scopes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownScopes {
    /// `invalid_scope` (default).
    #[default]
    Refuse,
    /// Left out of the request, as if not sent.
    Ignore,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            database_url: String::new(),
            durability: Durability::default(),
            clients: Vec::new(),
            users: Vec::new(),
            trusted_issuers: Vec::new(),
            lifetimes: Lifetimes::default(),
            rpt_format: RptFormat::Opaque,
            partial_outcome: PartialOutcome::Error,
            open_registration: true,
            poll_interval: 1,
            icg_pkce: PkceMode::Required,
            icg_iss: true,
            quirks: Quirks::none(),
            variants: Variants::none(),
            max_body_bytes: 64 * 1024,
            header_read_timeout_secs: crate::serving::HEADER_READ_TIMEOUT.as_secs(),
            demo_identity_provider: false,
            registration_policies: Vec::new(),
            client_access_tokens: false,
            unknown_scopes: UnknownScopes::Refuse,
            dcr_owners: false,
            lenient_form_labels: false,
        }
    }
}

/// Settles one setting against the variants that stand for it (see [`Config::settle`]).
fn twin<T: Copy + PartialEq + Serialize>(
    key: &str,
    setting: &mut T,
    default: T,
    written: bool,
    variants: &mut Variants,
    pairs: &[(Variant, T)],
) -> Result<(), ConfigError> {
    let show = |v: T| {
        let v = serde_json::to_value(v).unwrap_or_default();
        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
    };
    let mut implied: Option<(Variant, T)> = None;
    for (variant, value) in pairs.iter().filter(|(v, _)| variants.contains(*v)) {
        match implied {
            Some((first, other)) if other != *value => {
                return Err(ConfigError::Invalid(format!(
                    "variants `{first}` and `{variant}` contradict each other: {key}: {} against {key}: {}",
                    show(other),
                    show(*value)
                )));
            }
            Some(_) => {}
            None => implied = Some((*variant, *value)),
        }
    }
    match implied {
        Some((variant, value)) if *setting != value && (*setting != default || written) => {
            Err(ConfigError::Invalid(format!(
                "`{key}: {}` contradicts the variant `{variant}`, which means `{key}: {}`",
                show(*setting),
                show(value)
            )))
        }
        Some((_, value)) => {
            *setting = value;
            Ok(())
        }
        None => {
            if *setting != default
                && let Some((variant, _)) = pairs.iter().find(|(_, v)| v == setting)
            {
                variants.insert(*variant);
            }
            Ok(())
        }
    }
}

/// A client known from configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticClient {
    /// Its `client_id`.
    pub client_id: String,
    /// Its secret; absent for a public client.
    #[serde(default)]
    pub client_secret: Option<ClientSecret>,
    /// RFC 6749 redirect URIs (authorization code flow for PATs).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// UMA claims redirection URIs.
    #[serde(default)]
    pub claims_redirect_uris: Vec<String>,
    /// The client's pre-registered scopes (RegisteredScopes, set A), space separated.
    #[serde(default)]
    pub scope: String,
    /// For a resource server acting for an organisational resource owner: the owner its
    /// `client_credentials` PATs stand for.
    #[serde(default)]
    pub owner: Option<String>,
    /// A human-readable name.
    #[serde(default)]
    pub client_name: Option<String>,
}

/// An end user.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Login name; also the resource owner id.
    pub username: String,
    /// Password for the login form.
    pub password: Password,
}

/// An identity provider whose ID tokens the AS accepts as claim tokens.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// The `iss` value its tokens carry.
    pub issuer: String,
    /// Where its JWKS is published.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Its JWKS inline, instead of a URL.
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Audiences accepted besides the AS issuer and the presenting client's id.
    #[serde(default)]
    pub audiences: Vec<String>,
}

/// Lifetimes in seconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lifetimes {
    /// Permission tickets.
    pub ticket: i64,
    /// RPTs.
    pub rpt: i64,
    /// PATs.
    pub pat: i64,
    /// Refresh tokens.
    pub refresh_token: i64,
    /// PCTs.
    pub pct: i64,
    /// Authorization codes.
    pub code: i64,
    /// Interactive claims-gathering sessions.
    pub interaction: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            ticket: 300,
            rpt: 3600,
            pat: 86_400,
            refresh_token: 30 * 86_400,
            pct: 30 * 86_400,
            code: 60,
            interaction: 600,
        }
    }
}

/// RPT representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RptFormat {
    /// A random reference token (default).
    Opaque,
    /// A JWT signed with ES256; the key is published at `jwks_uri`.
    Jwt,
}

/// The AS's answer when some requested scopes pass policy and others do not (outcome O5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartialOutcome {
    /// The error the unmet policies call for: `need_info` if claims could satisfy them,
    /// `request_submitted` if the owner can approve, `request_denied` otherwise (default).
    Error,
    /// An RPT holding the scopes that passed, if any passed; otherwise as `error`.
    Partial,
    /// Always `request_denied`.
    Deny,
}

/// PKCE on the claims interaction endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PkceMode {
    /// A `code_challenge` is required (default).
    Required,
    /// A `code_challenge` is bound if sent.
    Optional,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read configuration file {path}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid configuration.
    #[error("invalid configuration in {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What serde-saphyr said, with line and column.
        message: String,
    },
    /// The configuration parsed but is inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads a YAML configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Self::from_file_with(path, &[])
    }

    /// Loads a YAML configuration file and takes `variants` besides those it lists (the
    /// command line's `--variant`), settling them against the settings the file writes.
    pub fn from_file_with(path: &Path, variants: &[Variant]) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml_with(&text, &path.display().to_string(), variants)
    }

    /// Parses YAML configuration text; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        Self::from_yaml_with(text, origin, &[])
    }

    /// [`Config::from_yaml`], taking `variants` besides those the text lists.
    pub fn from_yaml_with(text: &str, origin: &str, variants: &[Variant]) -> Result<Self, ConfigError> {
        let mut config: Config = serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        // The keys written in the file: a setting written there, even at its default value,
        // must agree with the variants that stand for it.
        let written: std::collections::BTreeSet<String> =
            serde_saphyr::from_str::<std::collections::BTreeMap<String, serde::de::IgnoredAny>>(text)
                .map(|m| m.into_keys().collect())
                .unwrap_or_default();
        for v in variants {
            config.variants.insert(*v);
        }
        config.settle_written(&written)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks cross-field rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(v) = self.variants.iter().find(|v| v.role() != crate::role::Role::As) {
            return Err(ConfigError::Invalid(format!(
                "variant `{v}` belongs to the {} role, not the authorization server",
                v.role()
            )));
        }
        self.variants.check().map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for c in &self.clients {
            if c.client_id.is_empty() {
                return Err(ConfigError::Invalid("a client has an empty client_id".into()));
            }
            if !seen.insert(&c.client_id) {
                return Err(ConfigError::Invalid(format!(
                    "client `{}` is listed twice",
                    c.client_id
                )));
            }
            for uri in c.redirect_uris.iter().chain(&c.claims_redirect_uris) {
                crate::core::clients::validate_redirect_uri(uri).map_err(|why| {
                    ConfigError::Invalid(format!("client `{}`: redirect URI `{uri}` {why}", c.client_id))
                })?;
            }
        }
        for t in &self.trusted_issuers {
            if t.jwks_uri.is_none() && t.jwks.is_none() {
                return Err(ConfigError::Invalid(format!(
                    "trusted issuer `{}` needs jwks_uri or jwks",
                    t.issuer
                )));
            }
        }
        for (name, v) in [
            ("ticket", self.lifetimes.ticket),
            ("rpt", self.lifetimes.rpt),
            ("pat", self.lifetimes.pat),
            ("refresh_token", self.lifetimes.refresh_token),
            ("pct", self.lifetimes.pct),
            ("code", self.lifetimes.code),
            ("interaction", self.lifetimes.interaction),
        ] {
            if v <= 0 || v > MAX_LIFETIME {
                return Err(ConfigError::Invalid(format!(
                    "lifetimes.{name} must be between 1 and {MAX_LIFETIME} seconds (ten years)"
                )));
            }
        }
        for (i, rule) in self.registration_policies.iter().enumerate() {
            rule.validate()
                .map_err(|why| ConfigError::Invalid(format!("registration_policies[{i}]: {why}")))?;
        }
        if !(1..=3600).contains(&self.header_read_timeout_secs) {
            return Err(ConfigError::Invalid(
                "header_read_timeout_secs must be between 1 and 3600".into(),
            ));
        }
        Ok(())
    }

    /// Brings the settings that a variant stands for (`partial_outcome`, `rpt_format`,
    /// `icg_pkce`, `icg_iss`) and [`Config::variants`] in step, both ways: a variant sets its
    /// setting, and a setting away from its default takes the variant that names it. A setting
    /// away from its default that a variant contradicts, two variants that exclude each other,
    /// and a variant of another role are refused. Idempotent; [`crate::Ctx::new`] calls it, so a
    /// configuration built in code is settled too (there a setting at its default value yields
    /// to a variant; in a file, a setting written out must agree with the variants).
    pub fn settle(&mut self) -> Result<(), ConfigError> {
        self.settle_written(&std::collections::BTreeSet::new())
    }

    /// [`Config::settle`], where `written` are the top-level keys a configuration file wrote.
    fn settle_written(&mut self, written: &std::collections::BTreeSet<String>) -> Result<(), ConfigError> {
        if let Some(v) = self.variants.iter().find(|v| v.role() != crate::role::Role::As) {
            return Err(ConfigError::Invalid(format!(
                "variant `{v}` belongs to the {} role, not the authorization server",
                v.role()
            )));
        }
        self.variants.check().map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let d = Config::default();
        let w = |k: &str| written.contains(k);
        twin(
            "partial_outcome",
            &mut self.partial_outcome,
            d.partial_outcome,
            w("partial_outcome"),
            &mut self.variants,
            &[
                (Variant::PartialOutcomePartial, PartialOutcome::Partial),
                (Variant::PartialOutcomeDeny, PartialOutcome::Deny),
                (Variant::PartialRptListsUngranted, PartialOutcome::Partial),
            ],
        )?;
        twin(
            "rpt_format",
            &mut self.rpt_format,
            d.rpt_format,
            w("rpt_format"),
            &mut self.variants,
            &[(Variant::JwtRpt, RptFormat::Jwt)],
        )?;
        twin(
            "icg_pkce",
            &mut self.icg_pkce,
            d.icg_pkce,
            w("icg_pkce"),
            &mut self.variants,
            &[(Variant::IcgPkceOptional, PkceMode::Optional)],
        )?;
        twin(
            "icg_iss",
            &mut self.icg_iss,
            d.icg_iss,
            w("icg_iss"),
            &mut self.variants,
            &[(Variant::NoIcgIss, false)],
        )?;
        // A setting may have added a variant that excludes one already there.
        self.variants.check().map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The names of the shipped configurations (`--profile NAME`).
    pub const PROFILES: &[&str] = &["interop"];

    /// A shipped configuration by name (`--profile NAME`): `interop`, the reference AS as a
    /// standing counterpart for an interop event (`reference-server/profiles/interop.yaml`).
    pub fn profile(name: &str, variants: &[Variant]) -> Result<Self, ConfigError> {
        match name {
            "interop" => Self::from_yaml_with(
                include_str!("../profiles/interop.yaml"),
                "profile interop (reference-server/profiles/interop.yaml)",
                variants,
            ),
            other => Err(ConfigError::Invalid(format!(
                "unknown profile `{other}` (known: {})",
                Self::PROFILES.join(", ")
            ))),
        }
    }

    /// The demo configuration used when no file is given: an organisational owner with a
    /// resource server client, a web client, and two users.
    pub fn demo() -> Self {
        Self {
            clients: vec![
                StaticClient {
                    client_id: "demo-rs".into(),
                    client_secret: Some(ClientSecret::new("demo-rs-secret")),
                    redirect_uris: vec!["http://127.0.0.1:9/rs/callback".into()],
                    claims_redirect_uris: Vec::new(),
                    scope: "uma_protection".into(),
                    owner: Some("photoz-inc".into()),
                    client_name: Some("Demo resource server".into()),
                },
                StaticClient {
                    client_id: "demo-client".into(),
                    client_secret: Some(ClientSecret::new("demo-client-secret")),
                    redirect_uris: vec!["http://127.0.0.1:9/client/callback".into()],
                    claims_redirect_uris: vec!["http://127.0.0.1:9/client/claims".into()],
                    scope: "view download".into(),
                    owner: None,
                    client_name: Some("Demo client".into()),
                },
            ],
            users: vec![
                User {
                    username: "alice".into(),
                    password: Password::new("alice-password"),
                },
                User {
                    username: "bob".into(),
                    password: Password::new("bob-password"),
                },
            ],
            demo_identity_provider: true,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_configuration_is_valid() {
        Config::demo().validate().unwrap();
    }

    #[test]
    fn an_unknown_key_is_reported_with_its_location() {
        let err = Config::from_yaml("issuer: x\nclientz: []\n", "t.yaml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("t.yaml"), "{msg}");
        assert!(msg.contains("clientz"), "{msg}");
    }

    #[test]
    fn debug_output_of_the_configuration_shows_no_secret() {
        let shown = format!("{:?}", Config::demo());
        assert!(
            !shown.contains("demo-rs-secret") && !shown.contains("alice-password"),
            "{shown}"
        );
        assert!(shown.contains("ClientSecret([redacted])"));
    }

    #[test]
    fn lifetimes_beyond_ten_years_are_rejected() {
        let err = Config::from_yaml("lifetimes: {rpt: 999999999999}\n", "t.yaml").unwrap_err();
        assert!(err.to_string().contains("lifetimes.rpt"), "{err}");
    }

    #[test]
    fn durability_is_read_by_name_and_defaults_to_batched() {
        // Act
        let sync = Config::from_yaml("durability: sync\n", "t.yaml").unwrap();
        let default = Config::from_yaml("issuer: x\n", "t.yaml").unwrap();
        let unknown = Config::from_yaml("durability: eventually\n", "t.yaml");

        // Assert
        assert_eq!(sync.durability, Durability::Sync);
        assert_eq!(default.durability, Durability::Batched);
        assert!(unknown.is_err());
    }

    #[test]
    fn a_header_read_timeout_outside_one_second_to_an_hour_is_rejected() {
        // Act
        let zero = Config::from_yaml("header_read_timeout_secs: 0\n", "t.yaml");
        let five = Config::from_yaml("header_read_timeout_secs: 5\n", "t.yaml").unwrap();

        // Assert
        assert!(zero.unwrap_err().to_string().contains("header_read_timeout_secs"));
        assert_eq!(five.header_read_timeout_secs, 5);
        assert_eq!(Config::default().header_read_timeout_secs, 10);
    }

    #[test]
    fn a_variant_sets_the_setting_it_stands_for() {
        let c = Config::from_yaml("variants: [partial-outcome-partial, jwt-rpt, no-icg-iss]\n", "t.yaml").unwrap();
        assert_eq!(c.partial_outcome, PartialOutcome::Partial);
        assert_eq!(c.rpt_format, RptFormat::Jwt);
        assert!(!c.icg_iss);
    }

    #[test]
    fn a_setting_away_from_its_default_takes_the_variant_that_names_it() {
        let c = Config::from_yaml("partial_outcome: deny\nicg_pkce: optional\n", "t.yaml").unwrap();
        assert!(c.variants.contains(Variant::PartialOutcomeDeny));
        assert!(c.variants.contains(Variant::IcgPkceOptional));
        let mut again = c.clone();
        again.settle().unwrap();
        assert_eq!(again.variants, c.variants, "settling is idempotent");
    }

    #[test]
    fn a_setting_written_out_against_a_variant_is_refused() {
        for yaml in [
            "partial_outcome: deny\nvariants: [partial-outcome-partial]\n",
            "partial_outcome: error\nvariants: [partial-outcome-partial]\n",
            "rpt_format: opaque\nvariants: [jwt-rpt]\n",
            "icg_iss: true\nvariants: [no-icg-iss]\n",
        ] {
            let err = Config::from_yaml(yaml, "t.yaml").unwrap_err().to_string();
            assert!(err.contains("contradicts the variant"), "{yaml}: {err}");
        }
    }

    #[test]
    fn variants_that_exclude_each_other_or_belong_to_another_role_are_refused() {
        let err = Config::from_yaml("variants: [no-pct, pct-always]\n", "t.yaml").unwrap_err();
        assert!(err.to_string().contains("cannot be combined"), "{err}");
        let err = Config::from_yaml("rpt_format: jwt\nvariants: [upgrade-in-place]\n", "t.yaml").unwrap_err();
        assert!(err.to_string().contains("`upgrade-in-place`"), "{err}");
        let err = Config::from_yaml("variants: [rs-challenge-403]\n", "t.yaml").unwrap_err();
        assert!(err.to_string().contains("rs role"), "{err}");
        assert!(Config::from_yaml("variants: [nope]\n", "t.yaml").is_err());
    }

    #[test]
    fn a_configuration_built_in_code_is_settled_the_same_way() {
        let mut c = Config::demo();
        c.variants.insert(Variant::PartialOutcomeDeny);
        c.settle().unwrap();
        assert_eq!(c.partial_outcome, PartialOutcome::Deny);
        let mut c = Config::demo();
        c.partial_outcome = PartialOutcome::Partial;
        c.variants.insert(Variant::PartialOutcomeDeny);
        assert!(c.settle().is_err());
    }

    #[test]
    fn the_interop_profile_loads_and_turns_the_interop_settings_on() {
        let c = Config::profile("interop", &[]).unwrap();
        assert!(c.dcr_owners && c.client_access_tokens && c.demo_identity_provider);
        assert_eq!(c.unknown_scopes, UnknownScopes::Ignore);
        assert_eq!(c.registration_policies.len(), 4);
        assert!(
            Config::profile("nope", &[])
                .unwrap_err()
                .to_string()
                .contains("interop")
        );
    }

    #[test]
    fn the_interop_settings_are_off_by_default() {
        let c = Config::default();
        assert!(!c.dcr_owners && !c.client_access_tokens && c.registration_policies.is_empty());
        assert_eq!(c.unknown_scopes, UnknownScopes::Refuse);
        let d = Config::demo();
        assert!(!d.dcr_owners && !d.client_access_tokens && d.registration_policies.is_empty());
    }

    #[test]
    fn a_registration_policy_without_a_policy_is_refused_with_its_index() {
        let err = Config::from_yaml(
            "registration_policies: [{ default: { type: open } }, { owner: x }]\n",
            "t.yaml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("registration_policies[1]"), "{err}");
    }

    #[test]
    fn quirks_are_read_by_name() {
        let c = Config::from_yaml("quirks: [ticket-reusable]\n", "t.yaml").unwrap();
        assert!(c.quirks.has(crate::quirks::Quirk::TicketReusable));
        assert!(Config::from_yaml("quirks: [nope]\n", "t.yaml").is_err());
    }
}
