//! The protocol core: UMA logic over plain types, with no HTTP framework in sight.
//!
//! Handlers in [`crate::http`] extract a request into the input types here, call one function,
//! and map its `Result` onto a response. Everything that decides *what* the AS answers lives
//! below this module.

pub mod assessment;
pub mod claims;
pub mod clients;
pub mod demo_idp;
pub mod discovery;
pub mod error;
pub mod grant;
pub mod interaction;
pub mod keys;
pub mod model;
pub mod policy;
pub mod protection;
pub mod registration_policy;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub use error::ProtocolError;

use crate::config::{Config, User};
use crate::quirks::{Quirk, Quirks};
use crate::store::Store;
use crate::variants::Variant;

/// The current time in seconds since the epoch, with an adjustable offset so tests can make
/// tickets and tokens expire without sleeping.
///
/// Two offsets add up: one for the whole server ([`Clock::advance`], for tests that own the
/// server), and one for the request being served ([`Clock::ahead`]). The second is the test
/// clock of the embedded reference: a harness scenario that "waits" for a ticket to expire moves
/// only its own requests' clock forward, so scenarios running at the same time against the same
/// server keep their tickets (see [`TEST_CLOCK_HEADER`]).
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

tokio::task_local! {
    /// How far ahead of real time (milliseconds) the request being served reads the clock.
    static REQUEST_AHEAD_MS: i64;
}

/// The request header that sets [`Clock::ahead`] for one request, in milliseconds, when the
/// server was built with its test clock on (`ServerBuilder::test_clock`; never by default).
pub const TEST_CLOCK_HEADER: &str = "uma-test-clock-ahead-ms";

/// The furthest a request may move its clock ahead: one day.
pub const MAX_AHEAD_MS: i64 = 86_400_000;

impl Clock {
    /// Seconds since the epoch, plus the offsets.
    pub fn now(&self) -> i64 {
        let real_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2))
            .unwrap_or(0);
        let ahead = REQUEST_AHEAD_MS.try_with(|ms| *ms).unwrap_or(0);
        (real_ms + ahead).div_euclid(1000) + self.offset.load(Ordering::Relaxed)
    }

    /// Moves the clock forward by `secs`, for every request.
    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::Relaxed);
    }

    /// Runs `f` (a request's handling) reading the clock `ms` milliseconds ahead of the rest of
    /// the server (clamped to 0..=[`MAX_AHEAD_MS`]).
    pub async fn ahead<F: std::future::Future>(ms: i64, f: F) -> F::Output {
        REQUEST_AHEAD_MS.scope(ms.clamp(0, MAX_AHEAD_MS), f).await
    }
}

/// Everything a request handler needs: configuration, store, keys, clock.
#[derive(Debug)]
pub struct Ctx {
    /// The configuration the AS was started with.
    pub config: Config,
    /// The issuer identifier (no trailing slash).
    pub issuer: String,
    /// Persistent state.
    pub store: Store,
    /// The time source.
    pub clock: Clock,
    /// The RPT signing key.
    pub signer: keys::Signer,
    /// Claim-token verification against trusted issuers.
    pub claim_verifier: claims::ClaimVerifier,
    /// The built-in demo identity provider, if configured.
    pub demo_idp: Option<demo_idp::DemoIdp>,
    users: HashMap<String, User>,
}

/// The context shared by all handlers.
pub type SharedCtx = Arc<Ctx>;

impl Ctx {
    /// Builds the context: loads or creates the signing key and registers the static clients.
    pub async fn new(mut config: Config, issuer: String, store: Store) -> Result<Self, ProtocolError> {
        config
            .settle()
            .map_err(|e| ProtocolError::new(500, "invalid_configuration", Some(e.to_string())))?;
        let clock = Clock::default();
        let signer = keys::Signer::load_or_create(&store, clock.now()).await?;
        let mut claim_verifier = claims::ClaimVerifier::new(&config.trusted_issuers)?;
        let users = config.users.iter().map(|u| (u.username.clone(), u.clone())).collect();
        let mut issuer = issuer.trim_end_matches('/').to_owned();
        if config.variants.contains(Variant::IssuerWithPath) && url::Url::parse(&issuer).is_ok_and(|u| u.path() == "/")
        {
            // Variant issuer-with-path (digest P-07): the AS serves everything under /uma.
            issuer.push_str("/uma");
        }
        let demo_idp = if config.demo_identity_provider {
            let idp = demo_idp::DemoIdp::new(&issuer)?;
            claim_verifier.trust(idp.trusted_issuer())?;
            Some(idp)
        } else {
            None
        };
        let ctx = Self {
            config,
            issuer,
            store,
            clock,
            signer,
            claim_verifier,
            demo_idp,
            users,
        };
        clients::register_static_clients(&ctx).await?;
        Ok(ctx)
    }

    /// Whether a quirk is on.
    pub fn quirk(&self, q: Quirk) -> bool {
        self.config.quirks.has(q)
    }

    /// Whether a variant is taken.
    pub fn variant(&self, v: Variant) -> bool {
        self.config.variants.contains(v)
    }

    /// The quirks that are on.
    pub fn quirks(&self) -> &Quirks {
        &self.config.quirks
    }

    /// A configured user.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// An endpoint URL under the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
