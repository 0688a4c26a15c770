//! The state of one running scenario, and the shared state of a run's scenarios.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::error::StepError;
use crate::catalogue::{Catalogue, RequirementId, Severity};
use crate::check::Facts;
use crate::counterpart::Counterparts;
use crate::counterpart::idp::TestIdp;
use crate::net::Policy;
use crate::outcome::{CheckKind, CheckResult, Exchange, Verdict};
use crate::profile::{AsAccess, ClientActor};
use crate::redact::Redactor;
use crate::suite::{Capability, Scenario};
use crate::template;
use crate::uma::Role;

/// Run options.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Declarative requirements fail instead of warn.
    pub strict: bool,
    /// Scenarios at once.
    pub jobs: usize,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Upper bound for one scenario.
    pub scenario_timeout: Duration,
    /// How `wait` steps pass time at the AS.
    pub clock: WaitClock,
}

/// How `wait` steps pass time at the AS the scenarios act at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WaitClock {
    /// Really wait, or run the profile's clock adapter (`clock:`) instead.
    #[default]
    Real,
    /// The embedded reference AS's test clock: a `wait` sleeps not; the scenario's later
    /// requests carry the time it has waited (`ScenarioCtx::ahead_ms`), and only they read the
    /// AS's clock that far ahead. Other scenarios running at the same time keep real time.
    Test,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            strict: false,
            jobs: 8,
            request_timeout: Duration::from_secs(10),
            scenario_timeout: Duration::from_secs(60),
            clock: WaitClock::Real,
        }
    }
}

/// Everything the scenarios of one role share in a run.
#[derive(Debug)]
pub struct Env {
    /// The role under test.
    pub role: Role,
    /// The authorization server the scenarios act at: the target, or (RS and client targets)
    /// the harness's counterpart AS.
    pub authz: AsAccess,
    /// The requirement catalogue.
    pub catalogue: Catalogue,
    /// That AS's discovery document.
    pub metadata: Value,
    /// The target's capabilities.
    pub capabilities: BTreeSet<Capability>,
    /// The harness's identity provider.
    pub idp: Arc<TestIdp>,
    /// Options.
    pub options: RunOptions,
    /// The counterparts, when the target is an RS or a client.
    pub counterparts: Option<Arc<Counterparts>>,
    /// The run's redactor: every secret met is added to it.
    pub redactor: Arc<Redactor>,
    /// Set-up deviations already recorded in this run (each is recorded once).
    pub deviations: Arc<std::sync::Mutex<BTreeSet<String>>>,
    /// The guarded path every request of the run goes through.
    pub net: Arc<Policy>,
    /// Capabilities the profile claims that the preflight did not find on the wire, with why
    /// (the skip reason of the scenarios that need them).
    pub unmet: BTreeMap<Capability, String>,
    /// Held shared by every scenario while a clock adapter that moves the target's clock for
    /// everyone is in use, and exclusively by a scenario that waits (so no other scenario's
    /// tickets age under it).
    pub clock_gate: tokio::sync::RwLock<()>,
    /// The claims-gathering drivers (the browser, the manual desk) the scenarios share.
    pub claims: std::sync::Arc<crate::counterpart::drivers::ClaimsDrivers>,
}

impl Env {
    /// Whether `wait` steps of this run move the target's clock for every scenario at once (a
    /// profile's clock adapter), so a scenario that waits must run alone.
    pub fn clock_is_global(&self) -> bool {
        self.options.clock == WaitClock::Real && self.authz.profile.clock.is_some()
    }

    /// A discovery member as a string.
    pub fn endpoint(&self, name: &str) -> Option<String> {
        self.metadata.get(name).and_then(Value::as_str).map(str::to_string)
    }

    /// What the checks need to know about the run.
    pub fn facts(&self) -> Facts {
        Facts {
            issuer: self.authz.issuer().to_string(),
            allow_http: self.authz.profile.allow_http,
            metadata: self.metadata.clone(),
            counterpart_issuer: self.counterparts.as_ref().map(|c| c.as_issuer.clone()),
            public_client: self
                .counterparts
                .as_ref()
                .and_then(|c| c.client.as_ref())
                .map(|c| c.registration.client_secret.is_none()),
        }
    }
}

/// The requesting party of a scenario.
#[derive(Clone, Debug)]
pub struct RequestingParty {
    /// Email claim.
    pub email: String,
    /// Subject.
    pub sub: String,
}

/// The state of one running scenario. Scenarios share nothing but the [`Env`].
#[derive(Debug)]
pub struct ScenarioCtx<'e> {
    /// Shared run state.
    pub env: &'e Env,
    /// The scenario.
    pub scenario: &'e Scenario,
    /// The run's facts, for checks.
    pub facts: Facts,
    /// Variables.
    pub vars: BTreeMap<String, Value>,
    /// The HTTP client (own cookie jar and pool).
    pub http: reqwest::Client,
    /// The cookie jar.
    pub jar: Arc<reqwest_cookie_store::CookieStoreMutex>,
    /// Client actors (profile clients plus registered ones).
    pub clients: BTreeMap<String, ClientActor>,
    /// Exchanges.
    pub exchanges: Vec<Exchange>,
    /// Checks.
    pub checks: Vec<CheckResult>,
    /// Choices among conformant behaviours.
    pub choices: BTreeMap<String, String>,
    /// Current step index.
    pub step: usize,
    /// Current step location (`file:line:col`).
    pub location: String,
    /// The requesting party.
    pub rqp: RequestingParty,
    /// Secrets met in this scenario (tokens, tickets), for redaction.
    pub secrets: BTreeSet<String>,
    /// Where this scenario's traffic starts in the counterparts' recorder (RS and client targets).
    pub mark: u64,
    /// Other browsers (cookie jars) of a client scenario, by name.
    pub browsers: BTreeMap<String, reqwest::Client>,
    /// Target requests already added to `exchanges`.
    pub observed_seen: BTreeSet<u64>,
    /// Milliseconds this scenario has waited on the AS's test clock ([`WaitClock::Test`]): its
    /// requests ask the AS to read its clock that far ahead.
    pub ahead_ms: u64,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let rng = aws_lc_rs::rand::SystemRandom::new();
    // A failure leaves zeros: the values are tags and `state`s of the harness, not its secrets.
    let _ = aws_lc_rs::rand::SecureRandom::fill(&rng, &mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A fresh random token (for `state`, subjects).
pub fn random_token() -> String {
    random_hex(16)
}

/// A browser-like HTTP client of the guarded path (`crate::net`): no redirects followed, the
/// harness marker header, bounded time. Requests sent with it go through `ScenarioCtx::send` or
/// `send_via`, which check the origin and cap the body.
pub fn browser_client(
    policy: &crate::net::Policy,
    jar: Option<Arc<reqwest_cookie_store::CookieStoreMutex>>,
) -> Result<reqwest::Client, StepError> {
    let b = policy.client_builder().pool_max_idle_per_host(4);
    let b = match jar {
        Some(j) => b.cookie_provider(j),
        None => b.cookie_store(true),
    };
    b.build()
        .map_err(|e| StepError::unusable(format!("failed to build the HTTP client: {e}")))
}

impl<'e> ScenarioCtx<'e> {
    /// A fresh context with the built-in variables set.
    pub fn new(env: &'e Env, scenario: &'e Scenario) -> Result<Self, StepError> {
        let jar = Arc::new(reqwest_cookie_store::CookieStoreMutex::default());
        let http = browser_client(&env.net, Some(jar.clone()))?;
        let tag = random_hex(4);
        let mut vars = BTreeMap::new();
        vars.insert("issuer".into(), Value::String(env.authz.issuer().to_string()));
        vars.insert("meta".into(), env.metadata.clone());
        let rqp = RequestingParty {
            email: format!("rqp-{tag}@example.test"),
            sub: format!("rqp-{tag}"),
        };
        vars.insert("rqp".into(), serde_json::json!({"email": rqp.email, "sub": rqp.sub}));
        vars.insert("run".into(), Value::String(tag));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        vars.insert("now".into(), Value::from(now));
        vars.insert("past".into(), Value::from(now - 600));
        vars.insert("future".into(), Value::from(now + 3600));
        for (name, c) in &env.authz.clients {
            vars.insert(name.clone(), c.to_value());
        }
        let uris = &env.authz.profile.profile_uris;
        vars.insert(
            "uma_profiles".into(),
            serde_json::json!({"icg_pkce": uris.icg_pkce(), "icg_iss": uris.icg_iss()}),
        );
        let lifetimes = &env.authz.profile.lifetimes;
        vars.insert(
            "lifetimes".into(),
            serde_json::json!({"ticket": lifetimes.ticket, "rpt": lifetimes.rpt}),
        );
        if let Some(w) = &env.counterparts {
            vars.insert("rs_ids".into(), serde_json::to_value(&w.rs_ids).unwrap_or_default());
            vars.insert("as_issuer".into(), Value::String(w.as_issuer.clone()));
            if let Some(c) = &w.client {
                vars.insert(
                    "target_client".into(),
                    serde_json::json!({"client_id": c.registration.client_id, "scopes": c.registration.scopes,
                        "claims_redirect_uris": c.registration.claims_redirect_uris}),
                );
            }
        }
        if let Some((_, case)) = &scenario.case {
            // A row's values may name built-in variables (`$past`, `${run}`).
            let resolved: Vec<(String, Value)> = case
                .iter()
                .map(|(k, v)| (k.clone(), template::subst(v, &vars).unwrap_or_else(|_| v.clone())))
                .collect();
            vars.extend(resolved);
            vars.insert("case".into(), Value::Object(case.clone().into_iter().collect()));
        }
        Ok(Self {
            env,
            scenario,
            facts: env.facts(),
            vars,
            http,
            jar,
            clients: env.authz.clients.clone(),
            exchanges: Vec::new(),
            checks: Vec::new(),
            choices: BTreeMap::new(),
            step: 0,
            location: scenario.file.clone(),
            rqp,
            secrets: BTreeSet::new(),
            mark: env.counterparts.as_ref().map_or(0, |w| w.traffic.mark()),
            browsers: BTreeMap::new(),
            observed_seen: BTreeSet::new(),
            ahead_ms: 0,
        })
    }

    /// Substitutes variables.
    pub fn subst(&self, v: &Value) -> Result<Value, StepError> {
        Ok(template::subst(v, &self.vars)?)
    }

    /// Substitutes and renders as a string.
    pub fn text(&self, v: &Value) -> Result<String, StepError> {
        Ok(template::to_text(&self.subst(v)?))
    }

    /// Remembers a secret value for redaction (this scenario's and the run's).
    pub fn secret(&mut self, v: &str) {
        if v.len() >= crate::redact::MIN_SECRET_LEN {
            self.secrets.insert(v.to_string());
            self.env.redactor.add(v);
        }
    }

    /// Records one check of `requirement`. `ok: None` = skipped (the premise did not happen).
    pub fn record(
        &mut self,
        requirement: &RequirementId,
        title: impl Into<String>,
        ok: Option<bool>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        exchange: Option<usize>,
    ) {
        let req = self.env.catalogue.get(requirement.as_str());
        let kind = if req.is_some_and(|r| r.is_profile()) {
            CheckKind::Profile
        } else {
            CheckKind::Uma
        };
        let verdict = match ok {
            None => Verdict::Skip,
            Some(true) => Verdict::Pass,
            Some(false) => match req.map(|r| r.keyword.severity(self.env.options.strict)) {
                Some(Severity::Fail) | None => Verdict::Fail,
                Some(Severity::Warn) => Verdict::Warn,
                Some(Severity::Info) => Verdict::Skip,
            },
        };
        self.checks.push(CheckResult {
            requirement: Some(requirement.clone()),
            kind,
            title: title.into(),
            verdict,
            expected: expected.into(),
            actual: actual.into(),
            location: self.location.clone(),
            step: self.step,
            exchange,
        });
    }

    /// Records that the harness could not test: an `error` without a requirement.
    pub fn record_error(&mut self, title: impl Into<String>, detail: impl Into<String>) {
        self.checks.push(CheckResult {
            requirement: None,
            kind: CheckKind::Harness,
            title: title.into(),
            verdict: Verdict::Error,
            expected: String::new(),
            actual: detail.into(),
            location: self.location.clone(),
            step: self.step,
            exchange: self.exchanges.len().checked_sub(1),
        });
    }
}
