//! A run: load the suites, prepare a [`Session`] (the target or the embedded reference, the
//! counterparts, the identity provider, one [`Env`] per role, the preflight), run the scenarios
//! and assemble the [`Report`]. The CLI, `tests/conformance.rs` and the selftest all go through
//! [`Session::prepare`].

pub mod exit;
pub mod info;
pub mod interrupt;
pub mod isolated;
pub mod listing;
pub mod preflight;
pub mod reference;
mod request;
pub mod selftest;
pub mod shard;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::catalogue::Catalogue;
use crate::counterpart::drivers::ClaimsDrivers;
use crate::counterpart::idp::TestIdp;
use crate::counterpart::{self, Running, StartError};
use crate::engine::{self, Env, RunOptions, WaitClock};
use crate::net::{self, Origin};
use crate::outcome::{Preflight, Problem, REPORT_SCHEMA, Report, RunInfo, ScenarioResult, Verdict};
use crate::profile::{AsAccess, PeerProfile, Profile};
use crate::redact::Redactor;
use crate::suite::{Capability, Scenario};
use crate::uma::Role;

pub use request::{RunError, RunRequest, Sources, load, repo_root, suites_hash};

/// One role of a session, ready to run.
#[derive(Debug)]
pub struct Prepared {
    /// The environment its scenarios share; `None` when the preflight stopped the role.
    pub env: Option<Arc<Env>>,
    /// The preflight's findings.
    pub preflight: Preflight,
    /// The target profile as JSON (secrets still in it: reports pass it through the redactor).
    pub target: serde_json::Value,
    /// The role's selected scenarios.
    pub scenarios: Vec<Scenario>,
    /// For the embedded reference RS or client: a world (target and counterparts) per scenario,
    /// so they run at once; `None`: every scenario shares `env`.
    pub worlds: Option<Arc<isolated::Worlds>>,
}

/// Everything a run needs, started once: per role, the target (or the embedded reference), its
/// counterparts, the preflight and the environment; the identity provider; the redactor.
#[derive(Debug)]
pub struct Session {
    /// The prepared roles.
    pub roles: BTreeMap<Role, Prepared>,
    /// The run's redactor.
    pub redactor: Arc<Redactor>,
    /// The request.
    pub request: RunRequest,
    /// The catalogue.
    pub catalogue: Catalogue,
    idp: Arc<TestIdp>,
    /// Quirks, variants and the run's test CA (`--tls`) of the embedded reference components.
    alterations: counterpart::reference::Alterations,
    /// The target profile turned TLS verification off (every report then says so).
    insecure_tls: bool,
    embedded: Option<counterpart::reference::EmbeddedAs>,
    running: Vec<Running>,
    started: Instant,
    started_at: String,
}

fn selected(req: &RunRequest, scenarios: &[Scenario], role: Role) -> Vec<Scenario> {
    scenarios
        .iter()
        .filter(|s| s.role == role)
        .filter(|s| {
            req.filter
                .as_ref()
                .is_none_or(|f| s.trial_name.contains(f.as_str()) || s.id.contains(f.as_str()))
        })
        .cloned()
        .collect()
}

/// Whether the RS's base URL or the client's start URL accepts connections (within 3 s).
async fn reach_peer(p: &PeerProfile) -> Option<Problem> {
    let (what, url) = match (&p.rs, &p.client) {
        (Some(rs), _) => ("the resource server", rs.base_url.clone()),
        (None, Some(c)) => match &c.start_url {
            Some(u) => ("the client's start URL", u.replace(['{', '}'], "")),
            None => return None,
        },
        (None, None) => return None,
    };
    let parsed = url::Url::parse(&url).ok()?;
    let addr = format!("{}:{}", parsed.host_str()?, parsed.port_or_known_default()?);
    let ok = matches!(
        tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(&addr)).await,
        Ok(Ok(_))
    );
    (!ok).then(|| {
        Problem::error(
            format!("cannot reach {what} at {addr}"),
            format!("start it, or fix the URL in the target profile (now {url})"),
        )
    })
}

impl Session {
    /// Loads the suites and starts everything the request names.
    pub async fn prepare(req: &RunRequest) -> Result<Self, RunError> {
        let started = Instant::now();
        let started_at = jiff::Timestamp::now().to_string();
        let (catalogue, scenarios) = load(req)?;
        let profile = match &req.target {
            Some(path) => Some(Profile::load(path)?),
            None => None,
        };
        let idp_port = match &profile {
            Some(Profile::As(p)) => p.idp.port,
            Some(Profile::Rs(p) | Profile::Client(p)) => p.idp_port,
            None => 0,
        };
        let idp = Arc::new(TestIdp::start(idp_port).await.map_err(|e| StartError::Reference {
            what: "the test identity provider",
            message: e.to_string(),
        })?);
        let roles: Vec<Role> = match &profile {
            Some(p) => vec![p.role()],
            None => Role::ALL
                .into_iter()
                .filter(|r| req.roles.is_empty() || req.roles.contains(r))
                .collect(),
        };
        let kept = shard::select(req, &scenarios, &roles)?;
        let redactor = Arc::new(Redactor::new());
        let mut alterations = req.alterations();
        if req.tls && profile.is_none() {
            alterations.tls = Some(counterpart::reference::RunCa::generate()?);
        }
        let insecure_tls = match &profile {
            Some(Profile::As(p)) => p.tls.insecure_skip_verify,
            Some(Profile::Rs(p) | Profile::Client(p)) => p.tls.insecure_skip_verify,
            None => false,
        };
        let mut session = Self {
            roles: BTreeMap::new(),
            redactor,
            request: req.clone(),
            catalogue,
            idp,
            alterations,
            insecure_tls,
            embedded: None,
            running: Vec::new(),
            started,
            started_at,
        };
        // The roles start one after the other (each is quick); their scenarios run at once.
        for role in roles {
            let scenarios = selected(req, &scenarios, role);
            let scenarios: Vec<Scenario> = scenarios.into_iter().filter(|s| kept.contains(&s.trial_name)).collect();
            let prepared = match (&profile, role) {
                (Some(Profile::As(p)), _) => {
                    let access = AsAccess::from_profile(p.as_ref().clone(), "the target profile")?;
                    session.prepare_as(access, scenarios, WaitClock::Real).await?
                }
                (Some(Profile::Rs(p) | Profile::Client(p)), _) => {
                    session.prepare_peer(role, Some(p), scenarios).await?
                }
                (None, Role::As) => {
                    let embedded = counterpart::reference::start_as(&session.idp, &session.alterations).await?;
                    let access = AsAccess::from_profile(embedded.profile.clone(), "embedded")?;
                    session.embedded = Some(embedded);
                    session.prepare_as(access, scenarios, WaitClock::Test).await?
                }
                (None, _) => session.prepare_peer(role, None, scenarios).await?,
            };
            session.roles.insert(role, prepared);
        }
        Ok(session)
    }

    fn env(
        &self,
        role: Role,
        authz: AsAccess,
        found: &preflight::Found,
        caps: BTreeSet<Capability>,
        policy: Arc<net::Policy>,
    ) -> Env {
        let timeout = policy.timeout();
        for s in authz.secrets() {
            self.redactor.add_profile_secret(s.secret());
        }
        let driver = authz.profile.claims.clone().unwrap_or_default();
        let private_ca = policy.tls().trusts_private_ca();
        Env {
            role,
            authz,
            catalogue: self.catalogue.clone(),
            metadata: found.metadata.clone(),
            capabilities: caps,
            idp: self.idp.clone(),
            options: RunOptions {
                strict: self.request.strict,
                jobs: if driver.one_at_a_time() { 1 } else { self.request.jobs },
                request_timeout: timeout,
                scenario_timeout: driver.scenario_time(RunOptions::default().scenario_timeout),
                ..RunOptions::default()
            },
            counterparts: None,
            redactor: self.redactor.clone(),
            deviations: Default::default(),
            net: policy,
            unmet: found.unmet.clone(),
            clock_gate: Default::default(),
            claims: {
                let drivers = ClaimsDrivers::new(self.request.artifacts.clone());
                drivers.warm(Some(&driver), private_ca);
                std::sync::Arc::new(drivers)
            },
        }
    }

    /// The guarded path's policy, trusting the run's own test CA (`--tls`) too.
    fn own_tls(&self, policy: net::Policy) -> Result<net::Policy, RunError> {
        match &self.alterations.tls {
            Some(ca) => policy
                .trusting_own(ca.pem())
                .map_err(|e| RunError::Embedded(e.to_string())),
            None => Ok(policy),
        }
    }

    async fn prepare_as(
        &self,
        authz: AsAccess,
        scenarios: Vec<Scenario>,
        clock: WaitClock,
    ) -> Result<Prepared, RunError> {
        let policy = Arc::new(self.own_tls(authz.http_policy()?)?);
        let found = preflight::run(&authz, &policy).await;
        let target = serde_json::to_value(&authz.profile).unwrap_or_default();
        let env = (!found.report.blocks()).then(|| {
            let caps = found.capabilities.clone();
            let mut env = self.env(Role::As, authz, &found, caps, policy);
            env.options.clock = clock;
            Arc::new(env)
        });
        Ok(Prepared {
            env,
            preflight: found.report,
            target,
            scenarios,
            worlds: None,
        })
    }

    async fn prepare_peer(
        &mut self,
        role: Role,
        profile: Option<&PeerProfile>,
        scenarios: Vec<Scenario>,
    ) -> Result<Prepared, RunError> {
        let target = match profile {
            Some(p) => serde_json::to_value(p).unwrap_or_default(),
            None => serde_json::json!({
                "name": format!("reference {role} (embedded)"),
                "role": role,
                "product": counterpart::reference::REFERENCE_PRODUCT,
                "version": env!("CARGO_PKG_VERSION"),
            }),
        };
        let started = match role {
            Role::Rs => counterpart::start_for_rs(&self.idp, profile, &self.alterations).await,
            _ => counterpart::start_for_client(&self.idp, profile, &self.alterations).await,
        };
        let (counterparts, authz, running) = match started {
            Ok(x) => x,
            Err(e) if profile.is_some() => {
                // A third-party target that cannot be reached or set up is a configuration
                // problem, reported by the preflight, never a failure.
                return Ok(Prepared {
                    env: None,
                    preflight: Preflight {
                        problems: vec![Problem::error(
                            e.to_string(),
                            "check the target profile (`setup`, ports, credentials) and that the target runs",
                        )],
                        ..Preflight::default()
                    },
                    target,
                    scenarios,
                    worlds: None,
                });
            }
            Err(e) => return Err(e.into()),
        };
        self.running.push(running);
        // The target's rule, plus the harness's own counterparts (their origins are the harness's).
        let mut policy = match profile {
            Some(p) => p.http_policy()?,
            None => net::Policy::default(),
        };
        for own in std::iter::once(&counterparts.as_issuer).chain(counterparts.rs_base.as_ref()) {
            if let Some(o) = url::Url::parse(own).ok().as_ref().and_then(Origin::of) {
                policy = policy.with_own(o);
            }
        }
        let policy = Arc::new(self.own_tls(policy)?);
        let mut found = preflight::run(&authz, &policy).await;
        if profile.is_none() && found.report.blocks() {
            return Err(RunError::Embedded(format!("{role}: {:?}", found.report.problems)));
        }
        if let Some(p) = profile
            && let Some(problem) = reach_peer(p).await
        {
            found.report.problems.push(problem);
        }
        // An RS or client target's capabilities are its own claims, never the counterpart AS's
        // (which offers everything).
        let mut caps: BTreeSet<Capability> = BTreeSet::new();
        if let Some(c) = &counterparts.client {
            caps.extend(c.capabilities.iter().copied());
            if c.start_url.is_some() {
                caps.insert(Capability::BrowserClient);
            }
        }
        if let Some(rs) = &counterparts.rs
            && rs.requests.contains_key("several")
        {
            caps.insert(Capability::SeveralPermissions);
        }
        found.report.capabilities = caps.iter().map(|c| c.to_string()).collect();
        let env = if found.report.blocks() {
            None
        } else {
            if let Some(c) = &counterparts.client
                && let Some(crate::profile::SecretSource::Inline(s)) = &c.registration.client_secret
            {
                self.redactor.add_profile_secret(s);
            }
            if let Some(rs) = &counterparts.rs
                && let crate::profile::SecretSource::Inline(s) = &rs.as_client.client_secret
            {
                self.redactor.add_profile_secret(s);
            }
            let mut env = self.env(role, authz, &found, caps, policy);
            env.counterparts = Some(Arc::new(counterparts));
            Some(Arc::new(env))
        };
        // The embedded RS or client can be started again for every scenario; a third-party
        // target has the one counterpart its profile points it at.
        let worlds = match (&env, profile) {
            (Some(env), None) => Some(Arc::new(isolated::Worlds::new(
                role,
                self.idp.clone(),
                self.request.alterations(),
                env.clone(),
            ))),
            _ => None,
        };
        Ok(Prepared {
            env,
            preflight: found.report,
            target,
            scenarios,
            worlds,
        })
    }

    /// Every selected scenario with the environment it runs in (`None`: its role did not pass
    /// the preflight).
    pub fn scenarios(&self) -> impl Iterator<Item = (&Scenario, Option<&Arc<Env>>)> {
        self.roles
            .values()
            .flat_map(|p| p.scenarios.iter().map(move |s| (s, p.env.as_ref())))
    }

    /// Runs one scenario and returns its redacted result.
    pub async fn run_one(&self, scenario: &Scenario) -> ScenarioResult {
        let prepared = self.roles.get(&scenario.role);
        let executed = match (
            prepared.and_then(|p| p.worlds.as_ref()),
            prepared.and_then(|p| p.env.as_ref()),
        ) {
            (Some(w), Some(_)) => w.run_one(scenario).await,
            (None, Some(env)) => engine::run_scenario(env, scenario).await,
            (_, None) => {
                return engine::not_run(
                    scenario,
                    Verdict::Error,
                    "not run: the preflight found configuration errors",
                );
            }
        };
        self.redactor.scenario(&executed.result, &executed.secrets)
    }

    /// Runs every selected scenario (the roles at once) and returns the report; `progress` sees
    /// each scenario, redacted, as it finishes. Stops every server the session started.
    pub async fn run(mut self, progress: impl Fn(&ScenarioResult) + Send + Sync + 'static) -> Report {
        let progress: Arc<dyn Fn(&ScenarioResult) + Send + Sync> = Arc::new(progress);
        let mut runs = Vec::new();
        for (role, prepared) in std::mem::take(&mut self.roles) {
            let redactor = self.redactor.clone();
            let progress = progress.clone();
            runs.push(tokio::spawn(async move {
                let done = move |e: engine::Executed| {
                    let r = redactor.scenario(&e.result, &e.secrets);
                    progress(&r);
                    r
                };
                let scenarios = match (&prepared.env, &prepared.worlds) {
                    (Some(_), Some(worlds)) => worlds.clone().run_all(prepared.scenarios.clone(), done).await,
                    (Some(env), None) => engine::run_all(env.clone(), prepared.scenarios.clone(), done).await,
                    (None, _) => {
                        let why = prepared
                            .preflight
                            .problems
                            .iter()
                            .find(|p| p.severity == crate::outcome::Severity::Error)
                            .map(|p| p.what.clone())
                            .unwrap_or_default();
                        prepared
                            .scenarios
                            .iter()
                            .map(|s| {
                                engine::not_run(
                                    s,
                                    Verdict::Error,
                                    format!("not run: the preflight found a configuration error: {why}"),
                                )
                            })
                            .collect()
                    }
                };
                (role, prepared, scenarios)
            }));
        }
        let mut finished = Vec::new();
        for r in runs {
            // A role's task ends only by returning: its scenarios catch their own panics.
            if let Ok(done) = r.await {
                finished.push(done);
            }
        }
        let report = self.assemble(finished);
        self.shutdown().await;
        report
    }

    fn assemble(&self, finished: Vec<(Role, Prepared, Vec<ScenarioResult>)>) -> Report {
        let req = &self.request;
        let mut report = Report {
            schema: REPORT_SCHEMA.into(),
            run: RunInfo {
                harness: "uma-conformance".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                started_at: self.started_at.clone(),
                duration_ms: 0,
                strict: req.strict,
                gate_profiles: req.gate_profiles,
                jobs: req.jobs,
                filter: req.filter.clone(),
                suites_hash: suites_hash(&req.suites),
                quirks: req.quirks.iter().map(|q| q.name().to_string()).collect(),
                variants: req.variants.iter().map(|v| v.name().to_string()).collect(),
                catalogue_hash: info::file_hash(&req.catalogue),
                shard: req.shard.map(|s| s.to_string()),
                tested: None,
                insecure_tls: self.insecure_tls.then(|| net::INSECURE_WARNING.to_string()),
            },
            ..Report::default()
        };
        if let [(_, prepared, _)] = finished.as_slice() {
            report.target = self.redactor.json(&prepared.target);
            report.preflight = prepared.preflight.clone();
            report.scenarios = finished.into_iter().flat_map(|(_, _, s)| s).collect();
        } else {
            let mut targets = serde_json::Map::new();
            for (role, prepared, scenarios) in finished {
                targets.insert(role.as_str().into(), self.redactor.json(&prepared.target));
                if role == Role::As {
                    report.preflight.reachable = prepared.preflight.reachable;
                    report.preflight.discovery_url = prepared.preflight.discovery_url.clone();
                    report.preflight.capabilities = prepared.preflight.capabilities.clone();
                }
                report
                    .preflight
                    .problems
                    .extend(prepared.preflight.problems.into_iter().map(|mut p| {
                        p.what = format!("{role}: {}", p.what);
                        p
                    }));
                report.scenarios.extend(scenarios);
            }
            report.target =
                serde_json::json!({"name": "reference implementation (embedded): AS, RS and client", "roles": targets});
        }
        report.run.tested = info::tested_of(&report.target);
        for p in &mut report.preflight.problems {
            p.what = self.redactor.text(&p.what);
        }
        report.scenarios.sort_by(|a, b| a.trial.cmp(&b.trial));
        report.run.duration_ms = self.started.elapsed().as_millis() as u64;
        report.summarise();
        report
    }

    /// Stops every server the session started.
    pub async fn shutdown(mut self) {
        for r in std::mem::take(&mut self.running) {
            r.shutdown().await;
        }
        if let Some(e) = self.embedded.take() {
            e.server.shutdown().await;
        }
    }
}

/// Runs the suites and returns the report; `progress` sees each scenario (redacted) as it
/// finishes. Without a target, every role runs against the embedded reference implementation
/// (the AS suite against the reference AS, the RS suite against the reference RS, the client
/// suite against the reference client), the three at once.
pub async fn run_with(
    req: &RunRequest,
    progress: impl Fn(&ScenarioResult) + Send + Sync + 'static,
) -> Result<(Report, Arc<Redactor>), RunError> {
    let session = Session::prepare(req).await?;
    let redactor = session.redactor.clone();
    Ok((session.run(progress).await, redactor))
}

/// Runs without progress output.
pub async fn run(req: &RunRequest) -> Result<Report, RunError> {
    run_with(req, |_| {}).await.map(|(r, _)| r)
}

/// Validates a target profile of any role (for `validate`).
pub fn validate_target(path: &Path) -> Result<(), RunError> {
    Profile::load(path).map(|_| ()).map_err(RunError::from)
}
