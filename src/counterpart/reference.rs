//! The reference implementation as the harness runs it in-process: the reference AS (as the
//! embedded target, or as the counterpart of an RS or client target) trusting the harness's test
//! identity provider, with the profile that describes it.

use std::collections::BTreeMap;
use std::sync::Arc;

use uma_reference_server::config::{StaticClient, TrustedIssuer};
use uma_reference_server::variants::{Variant, Variants};
use uma_reference_server::{Config, Quirk, Quirks, Server};

use super::idp::TestIdp;
use crate::profile::{
    AsProfile, ClaimsDriver, ClientProfile, DriverKind, IdpProfile, Lifetimes, PatProfile, PolicyAdapter, SecretSource,
};
use crate::suite::{Capability, ClientAuth};
use crate::uma::Role;

/// Ticket lifetime of the embedded AS. Its expiry scenarios move its test clock past it rather
/// than wait, so it is short only to keep the `short-lifetimes` capability (at most 10 s); as the
/// AS and RS counterpart it has to outlast a scenario's steps on a loaded machine (at 5 s, a
/// selftest run starved of CPU saw its first ticket expire before the token request, an
/// `invalid_grant` unrelated to the quirk under test).
pub const TICKET_LIFETIME: i64 = 10;
/// RPT lifetime of the embedded AS (as [`TICKET_LIFETIME`]).
pub const RPT_LIFETIME: i64 = 10;

/// Ticket lifetime of the embedded AS when a browser fills its claims page (the
/// `claims-page-script` variant): a browser session takes seconds to open on a busy machine.
pub const BROWSER_TICKET_LIFETIME: i64 = 30;

/// The ticket lifetime of the embedded AS under these alterations.
fn ticket_lifetime(alterations: &Alterations) -> i64 {
    if alterations.variants(Role::As).contains(Variant::ClaimsPageScript) {
        BROWSER_TICKET_LIFETIME
    } else {
        TICKET_LIFETIME
    }
}

/// A running embedded reference AS.
#[derive(Debug)]
pub struct EmbeddedAs {
    /// The server.
    pub server: Server,
    /// Its profile.
    pub profile: AsProfile,
}

fn client(id: &str, secret: &str, scope: &str, owner: Option<&str>, claims: &[&str]) -> StaticClient {
    StaticClient {
        client_id: id.into(),
        client_secret: Some(uma_reference_server::types::ClientSecret::new(secret)),
        redirect_uris: vec![format!("http://127.0.0.1:9/{id}/callback")],
        claims_redirect_uris: claims.iter().map(|s| s.to_string()).collect(),
        scope: scope.into(),
        owner: owner.map(str::to_string),
        client_name: Some(id.into()),
    }
}

/// What the reference components are told to do differently: quirks (deliberate violations)
/// and variants (conformant alternatives), each applied to the component of its role; and
/// whether they serve HTTPS (`run --tls`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alterations {
    /// Quirks.
    pub quirks: Vec<Quirk>,
    /// Variants.
    pub variants: Vec<Variant>,
    /// The run's test CA when the reference components serve HTTPS.
    pub tls: Option<RunCa>,
}

/// The test CA of a run served over TLS (`run --tls`): it issues the certificates of the
/// embedded reference components, and the harness trusts it (and nothing else) for them.
#[derive(Clone, Debug)]
pub struct RunCa(Arc<uma_reference_server::tls::TestCa>);

impl PartialEq for RunCa {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RunCa {}

impl RunCa {
    /// A new CA for one run.
    pub fn generate() -> Result<Self, super::StartError> {
        uma_reference_server::tls::TestCa::generate("uma-conformance run CA (test only)")
            .map(|ca| Self(Arc::new(ca)))
            .map_err(|e| super::StartError::Reference {
                what: "the run's test CA",
                message: e.to_string(),
            })
    }

    /// Its certificate (PEM), which the harness trusts.
    pub fn pem(&self) -> &str {
        self.0.pem()
    }

    /// HTTPS for a reference component on loopback, with a certificate of this CA.
    pub fn server(&self) -> Result<uma_reference_server::tls::ServerTls, super::StartError> {
        let failed = |e: uma_reference_server::tls::TlsError| super::StartError::Reference {
            what: "a TLS certificate of the run's test CA",
            message: e.to_string(),
        };
        uma_reference_server::tls::ServerTls::new(
            &self
                .0
                .server(uma_reference_server::tls::LOOPBACK_NAMES)
                .map_err(failed)?,
            None,
        )
        .map_err(failed)
    }
}

impl Alterations {
    /// The quirks of `role`'s component.
    pub fn quirks(&self, role: Role) -> Quirks {
        self.quirks.iter().copied().filter(|q| q.role() == role).collect()
    }

    /// The variants of `role`'s component.
    pub fn variants(&self, role: Role) -> Variants {
        self.variants.iter().copied().filter(|v| v.role() == role).collect()
    }

    /// The capabilities a component of `role` claims, given what it claims by default: the
    /// variants of that role take some away (no PCT, no upgrade...) or add some (JWT RPTs).
    pub fn capabilities(&self, role: Role, defaults: &[Capability]) -> Vec<Capability> {
        let variants = self.variants(role);
        let withdrawn: Vec<&str> = variants.iter().flat_map(Variant::withdraws).collect();
        let mut caps: Vec<Capability> = defaults
            .iter()
            .copied()
            .filter(|c| !withdrawn.contains(&c.as_str()))
            .collect();
        for added in variants.iter().flat_map(Variant::adds) {
            if let Ok(c) = added.parse::<Capability>()
                && !caps.contains(&c)
            {
                caps.push(c);
            }
        }
        caps
    }
}

/// The configuration of the embedded reference AS (with `quirks` and `variants` of role `as`).
pub fn config(idp: &TestIdp, alterations: &Alterations) -> Config {
    let mut c = Config::demo();
    c.clients = vec![
        client(
            "harness-rs",
            "harness-rs-secret",
            "uma_protection",
            Some("owner-a"),
            &[],
        ),
        client(
            "harness-rs2",
            "harness-rs2-secret",
            "uma_protection",
            Some("owner-b"),
            &[],
        ),
        client(
            "harness-client",
            "harness-client-secret",
            "view download",
            None,
            &["http://127.0.0.1:9/harness-client/claims"],
        ),
        client(
            "harness-client2",
            "harness-client2-secret",
            "view download",
            None,
            &["http://127.0.0.1:9/harness-client2/claims"],
        ),
    ];
    c.trusted_issuers = vec![TrustedIssuer {
        issuer: idp.issuer().to_string(),
        jwks_uri: Some(idp.jwks_uri()),
        jwks: None,
        audiences: Vec::new(),
    }];
    c.lifetimes.ticket = ticket_lifetime(alterations);
    c.lifetimes.rpt = RPT_LIFETIME;
    c.quirks = alterations.quirks(Role::As);
    c.variants = alterations.variants(Role::As);
    c
}

fn cp(id: &str, secret: &str, scopes: &[&str], claims: &[&str]) -> ClientProfile {
    ClientProfile {
        client_id: id.into(),
        client_secret: Some(SecretSource::Inline(secret.into())),
        auth: Some(ClientAuth::Basic),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        claims_redirect_uris: claims.iter().map(|s| s.to_string()).collect(),
        redirect_uris: vec![format!("http://127.0.0.1:9/{id}/callback")],
    }
}

/// The product name reports give the embedded reference implementation (built with, and
/// versioned as, this harness).
pub const REFERENCE_PRODUCT: &str = "uma-reference-server";

/// The target profile of an embedded AS at `issuer` (the same shape as `fixtures/targets/reference.yaml`).
pub fn profile(issuer: &str) -> AsProfile {
    let mut clients = BTreeMap::new();
    clients.insert("rs".into(), cp("harness-rs", "harness-rs-secret", &[], &[]));
    clients.insert("rs2".into(), cp("harness-rs2", "harness-rs2-secret", &[], &[]));
    clients.insert(
        "client".into(),
        cp(
            "harness-client",
            "harness-client-secret",
            &["view", "download"],
            &["http://127.0.0.1:9/harness-client/claims"],
        ),
    );
    clients.insert(
        "client2".into(),
        cp(
            "harness-client2",
            "harness-client2-secret",
            &["view", "download"],
            &["http://127.0.0.1:9/harness-client2/claims"],
        ),
    );
    AsProfile {
        name: "reference AS (embedded)".into(),
        product: Some(REFERENCE_PRODUCT.into()),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        role: Role::As,
        issuer: issuer.to_string(),
        allow_http: true,
        tls: Default::default(),
        clients,
        pat: PatProfile::default(),
        capabilities: AS_CAPABILITIES.to_vec(),
        policy: PolicyAdapter::Reference,
        clock: None,
        claims: Some(ClaimsDriver {
            driver: DriverKind::Form,
            fill: [("email".to_string(), "{email}".to_string())].into_iter().collect(),
            ..ClaimsDriver::default()
        }),
        idp: IdpProfile::default(),
        lifetimes: Lifetimes {
            ticket: Some(TICKET_LIFETIME as u64),
            rpt: Some(RPT_LIFETIME as u64),
        },
        request_timeout_seconds: None,
        allowed_origins: Vec::new(),
        allow_remote: false,
        max_body_bytes: None,
        profile_uris: Default::default(),
    }
}

/// What the reference AS claims beyond what its discovery document shows.
const AS_CAPABILITIES: &[Capability] = &[
    Capability::ClaimsPushing,
    Capability::Pct,
    Capability::RptUpgrade,
    Capability::Refresh,
    Capability::RequestSubmitted,
];

/// Starts the embedded reference AS (in-memory store, any free loopback port, its test clock
/// on: scenarios that wait move only their own requests' clock), altered.
pub async fn start_as(idp: &TestIdp, alterations: &Alterations) -> Result<EmbeddedAs, super::StartError> {
    let mut builder = Server::builder(config(idp, alterations))
        .memory()
        .test_clock(true)
        .port(0);
    if let Some(ca) = &alterations.tls {
        builder = builder.tls(ca.server()?);
    }
    let server = builder.start().await.map_err(|e| super::StartError::Reference {
        what: "the embedded reference AS",
        message: e.to_string(),
    })?;
    let mut profile = profile(server.issuer());
    profile.capabilities = alterations.capabilities(Role::As, AS_CAPABILITIES);
    // Only a browser can fill a claims page built by script.
    if alterations.variants(Role::As).contains(Variant::ClaimsPageScript)
        && let Some(claims) = &mut profile.claims
    {
        claims.driver = DriverKind::Browser;
    }
    profile.lifetimes.ticket = Some(ticket_lifetime(alterations) as u64);
    // Over TLS the embedded AS is judged as a production deployment: no plain HTTP allowed.
    profile.allow_http = alterations.tls.is_none();
    Ok(EmbeddedAs { server, profile })
}
