//! Scenarios of the embedded reference RS or client, each in a world of its own.
//!
//! A third-party RS or client target talks to the one counterpart AS (and RS) its profile points
//! it at, so its scenarios take turns: the recorder attributes every request to the scenario
//! that runs, and the hooks a scenario sets are its own (`Counterparts::serial`). The embedded
//! reference RS or client can be started as often as needed, so here every scenario gets its own
//! target, counterpart AS and RS, recorder and hooks: the traffic a scenario judges is its own
//! by construction, and scenarios run at once (at most `jobs`). Each world is the one a whole
//! run used to share, started the same way (same configuration, quirks and variants), so the
//! verdicts are the same.

use std::sync::Arc;
use std::time::Instant;

use super::{RunError, preflight};
use crate::counterpart::idp::TestIdp;
use crate::counterpart::reference::Alterations;
use crate::counterpart::{self, Running};
use crate::engine::{self, Env, Executed};
use crate::net::{self, Origin};
use crate::outcome::{ScenarioResult, Verdict};
use crate::suite::Scenario;
use crate::uma::Role;

/// Starts a world per scenario for an embedded RS or client target.
#[derive(Debug)]
pub struct Worlds {
    role: Role,
    idp: Arc<TestIdp>,
    alterations: Alterations,
    /// The role's environment as the session prepared it (its preflight, capabilities,
    /// options, redactor); each world's environment is this one with its own counterparts.
    template: Arc<Env>,
}

impl Worlds {
    /// Worlds like the one `template` was prepared with.
    pub fn new(role: Role, idp: Arc<TestIdp>, alterations: Alterations, template: Arc<Env>) -> Self {
        Self {
            role,
            idp,
            alterations,
            template,
        }
    }

    /// Starts one world: the target, its counterparts, and the environment of a scenario in it.
    pub async fn start(&self) -> Result<(Arc<Env>, Running), RunError> {
        let (counterparts, authz, running) = match self.role {
            Role::Rs => counterpart::start_for_rs(&self.idp, None, &self.alterations).await?,
            _ => counterpart::start_for_client(&self.idp, None, &self.alterations).await?,
        };
        let mut policy = net::Policy::default();
        for own in std::iter::once(&counterparts.as_issuer).chain(counterparts.rs_base.as_ref()) {
            if let Some(o) = url::Url::parse(own).ok().as_ref().and_then(Origin::of) {
                policy = policy.with_own(o);
            }
        }
        // The run's test CA (`--tls`), as for the role's first world (`Session::own_tls`).
        if let Some(ca) = &self.alterations.tls {
            policy = policy
                .trusting_own(ca.pem())
                .map_err(|e| RunError::Embedded(e.to_string()))?;
        }
        let found = preflight::run(&authz, &policy).await;
        if found.report.blocks() {
            running.shutdown().await;
            return Err(RunError::Embedded(format!(
                "{}: {:?}",
                self.role, found.report.problems
            )));
        }
        let t = &self.template;
        for s in authz.secrets() {
            t.redactor.add_profile_secret(s.secret());
        }
        // Each world registers its target anew: its secrets join the run's redactor too.
        if let Some(c) = &counterparts.client
            && let Some(crate::profile::SecretSource::Inline(s)) = &c.registration.client_secret
        {
            t.redactor.add_profile_secret(s);
        }
        if let Some(rs) = &counterparts.rs
            && let crate::profile::SecretSource::Inline(s) = &rs.as_client.client_secret
        {
            t.redactor.add_profile_secret(s);
        }
        let env = Env {
            role: t.role,
            authz,
            catalogue: t.catalogue.clone(),
            metadata: found.metadata,
            capabilities: t.capabilities.clone(),
            idp: t.idp.clone(),
            options: t.options.clone(),
            counterparts: Some(Arc::new(counterparts)),
            redactor: t.redactor.clone(),
            deviations: t.deviations.clone(),
            net: Arc::new(policy),
            unmet: t.unmet.clone(),
            clock_gate: Default::default(),
            claims: t.claims.clone(),
        };
        Ok((Arc::new(env), running))
    }

    /// Runs one scenario in a world of its own, and stops the world.
    pub async fn run_one(&self, scenario: &Scenario) -> Executed {
        if let Some(skip) = engine::skipped(&self.template, scenario) {
            return skip;
        }
        let started = Instant::now();
        match self.start().await {
            Ok((env, running)) => {
                let mut executed = engine::run_scenario(&env, scenario).await;
                running.shutdown().await;
                // The scenario's time includes starting and stopping its world.
                executed.result.duration_ms = started.elapsed().as_millis() as u64;
                executed
            }
            Err(e) => Executed {
                result: engine::not_run(
                    scenario,
                    Verdict::Error,
                    format!("could not start the scenario's counterparts: {e}"),
                ),
                secrets: Vec::new(),
            },
        }
    }

    /// Runs scenarios at once (at most `jobs`), each in its own world, calling `done` after each.
    pub async fn run_all(
        self: Arc<Self>,
        scenarios: Vec<Scenario>,
        done: impl Fn(Executed) -> ScenarioResult + Send + Sync + 'static,
    ) -> Vec<ScenarioResult> {
        let sem = Arc::new(tokio::sync::Semaphore::new(self.template.options.jobs.max(1)));
        let done = Arc::new(done);
        let mut handles = Vec::new();
        let mut scenarios = scenarios;
        engine::start_order(&self.template, &mut scenarios);
        for s in scenarios {
            let (worlds, sem, done) = (self.clone(), sem.clone(), done.clone());
            let trial = s.clone();
            // Taken in start order (tasks do not start in the order they are spawned).
            let permit = sem.acquire_owned().await.ok();
            let handle = tokio::spawn(async move {
                let _permit = permit;
                done(worlds.run_one(&s).await)
            });
            handles.push((handle, trial));
        }
        let mut out = Vec::new();
        for (h, s) in handles {
            match h.await {
                Ok(r) => out.push(r),
                // A harness bug must show up as an error of that scenario, never as a missing one.
                Err(e) => {
                    let mut r = engine::not_run(
                        &s,
                        Verdict::Error,
                        format!("the harness failed while running the scenario: {e}"),
                    );
                    r.requirements.clear();
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| a.trial.cmp(&b.trial));
        out
    }
}
