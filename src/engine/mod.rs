//! The engine: runs typed scenarios against a target, isolated and concurrent, and turns every
//! assertion into a check with a verdict. It knows scenarios; it knows nothing about report
//! formats.
//!
//! - [`ctx`]: the shared [`Env`] of a run's scenarios and the [`ScenarioCtx`] of one.
//! - [`step`]: one file per step action (`src/engine/step/<action>.rs`).
//! - [`expect`]: expectation blocks and matchers; named checks are in `crate::check`.
//! - [`http`]: sending requests and recording every exchange.
//! - [`adapter`]: the policy, approval adapters (what UMA leaves to the deployment).

pub mod adapter;
mod command;
pub mod ctx;
mod error;
pub mod expect;
pub mod http;
pub mod step;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

pub use ctx::{Env, RunOptions, ScenarioCtx, WaitClock, random_token};
pub use error::StepError;

use crate::outcome::{ScenarioResult, Verdict, scenario_verdict};
use crate::suite::model::Condition;
use crate::suite::{Need, Scenario};
use crate::template;

/// A finished scenario and the secrets it met (for the run's redactor; never written).
#[derive(Debug)]
pub struct Executed {
    /// The result, before redaction.
    pub result: ScenarioResult,
    /// Secret values met while it ran.
    pub secrets: Vec<String>,
}

fn shell(scenario: &Scenario) -> ScenarioResult {
    ScenarioResult {
        id: scenario.id.clone(),
        trial: scenario.trial_name.clone(),
        role: scenario.role,
        area: scenario.area.clone(),
        title: scenario.title.clone(),
        file: scenario.file.clone(),
        requirements: scenario.requirements.clone(),
        verdict: Verdict::Pass,
        reason: None,
        duration_ms: 0,
        choices: BTreeMap::new(),
        checks: Vec::new(),
        exchanges: Vec::new(),
    }
}

/// A scenario that did not run, with the reason (every one of a run the preflight stopped).
pub fn not_run(scenario: &Scenario, verdict: Verdict, reason: impl Into<String>) -> ScenarioResult {
    let mut r = shell(scenario);
    r.verdict = verdict;
    r.reason = Some(reason.into());
    r
}

/// The scenario skipped with the reason when the target lacks what it needs (`None`: it runs).
pub fn skipped(env: &Env, scenario: &Scenario) -> Option<Executed> {
    let unmet: Vec<_> = scenario.needs.iter().filter(|n| !n.met_by(&env.capabilities)).collect();
    if !unmet.is_empty() {
        // A claim the preflight found false on the wire says so; otherwise the need is unclaimed.
        let (found_false, unclaimed): (Vec<&Need>, Vec<&Need>) = unmet
            .iter()
            .copied()
            .partition(|n| !n.absent && env.unmet.contains_key(&n.capability));
        let mut why: Vec<String> = found_false
            .iter()
            .filter_map(|n| env.unmet.get(&n.capability).cloned())
            .collect();
        if !unclaimed.is_empty() {
            let names: Vec<String> = unclaimed.iter().map(ToString::to_string).collect();
            why.push(format!("the target does not claim: {}", names.join(", ")));
        }
        return Some(Executed {
            result: not_run(scenario, Verdict::Skip, why.join("; ")),
            secrets: Vec::new(),
        });
    }
    None
}

/// Runs one scenario to its result.
pub async fn run_scenario(env: &Env, scenario: &Scenario) -> Executed {
    let started = Instant::now();
    if let Some(skip) = skipped(env, scenario) {
        return skip;
    }
    // A target with one counterpart (an RS or client target the run shares) runs its scenarios
    // one at a time; a scenario with counterparts of its own does not wait.
    let _serial = match &env.counterparts {
        Some(w) => Some(w.serial.lock().await),
        None => None,
    };
    // A clock adapter moves the target's clock for everyone: a scenario that waits runs alone.
    let global = env.clock_is_global();
    let _alone = if global && waits(scenario) {
        Some(env.clock_gate.write().await)
    } else {
        None
    };
    let _shared = if global && _alone.is_none() {
        Some(env.clock_gate.read().await)
    } else {
        None
    };
    let mut ctx = match ScenarioCtx::new(env, scenario) {
        Ok(c) => c,
        Err(e) => {
            return Executed {
                result: not_run(scenario, Verdict::Error, e.to_string()),
                secrets: Vec::new(),
            };
        }
    };
    let outcome = tokio::time::timeout(env.options.scenario_timeout, run_steps(&mut ctx)).await;
    if let Some(w) = &env.counterparts {
        w.traffic.clear_hooks();
    }
    let reason = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(StepError::Timeout(env.options.scenario_timeout.as_secs()).to_string()),
    };
    if let Some(r) = &reason {
        let loc = ctx.location.clone();
        ctx.record_error("the scenario could not run to its end", format!("{r} (at {loc})"));
    }
    let mut result = shell(scenario);
    result.verdict = scenario_verdict(&ctx.checks);
    // A scenario that judged nothing says why (its first premise that did not happen).
    result.reason = reason.or_else(|| {
        (result.verdict == Verdict::Skip)
            .then(|| {
                ctx.checks
                    .first()
                    .map(|c| format!("nothing to judge: {} ({})", c.expected, c.actual))
            })
            .flatten()
    });
    result.choices = ctx.choices;
    result.checks = ctx.checks;
    result.exchanges = ctx.exchanges;
    result.duration_ms = started.elapsed().as_millis() as u64;
    Executed {
        result,
        secrets: ctx.secrets.into_iter().collect(),
    }
}

/// How long a scenario is expected to wait on something other than the harness's CPU, as a
/// rank: 2 for a polling client (`needs: polling`: the client waits its interval) or a `wait`
/// step that really waits, 1 for a quiet window, 0 otherwise. Scenarios start in decreasing
/// rank ([`start_order`]), so that a run is not as long as its slowest scenario started last.
pub fn waiting_rank(env: &Env, scenario: &Scenario) -> u8 {
    use crate::suite::step::Action;
    let polls = scenario
        .needs
        .iter()
        .any(|n| n.capability == crate::suite::Capability::Polling && !n.absent);
    let sleeps = env.options.clock == WaitClock::Real && waits(scenario);
    if polls || sleeps {
        return 2;
    }
    let quiet = scenario
        .steps
        .iter()
        .any(|s| matches!(&s.step.action, Action::Traffic(t) if t.quiet == Some(true)));
    u8::from(quiet)
}

/// Puts the scenarios in the order they start: the ones that wait longest first (see
/// [`waiting_rank`]), the rest in their given order. Results are sorted by trial afterwards.
pub fn start_order(env: &Env, scenarios: &mut [Scenario]) {
    scenarios.sort_by_key(|s| std::cmp::Reverse(waiting_rank(env, s)));
}

/// Whether a scenario has a `wait` step.
fn waits(scenario: &Scenario) -> bool {
    scenario
        .steps
        .iter()
        .any(|s| matches!(s.step.action, crate::suite::step::Action::Wait(_)))
}

async fn run_steps(ctx: &mut ScenarioCtx<'_>) -> Result<(), StepError> {
    let steps = &ctx.scenario.steps;
    for (i, s) in steps.iter().enumerate() {
        ctx.step = i;
        ctx.location = s.location.to_string();
        let missing: Vec<String> = s
            .step
            .needs
            .iter()
            .filter(|n| !n.met_by(&ctx.env.capabilities))
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() {
            if let Some(exp) = &s.step.expect {
                let why = format!("needs: {}", missing.join(", "));
                for block in exp.blocks() {
                    expect::not_judged(ctx, block, &why, "the target does not claim it", None);
                }
            }
            continue;
        }
        let unmet = s
            .step
            .when
            .iter()
            .flat_map(|w| w.all())
            .find(|c| !condition_holds(c, &ctx.vars));
        if let Some(cond) = unmet {
            // A step whose condition does not hold judges nothing: what it would have judged
            // is skipped, with the condition as the reason (never a silent pass).
            if let Some(exp) = &s.step.expect {
                let why = format!("`if: {}`", describe_condition(cond));
                let found = format!(
                    "`${}` is {}",
                    cond.var,
                    describe_value(template::lookup(&ctx.vars, &cond.var).ok())
                );
                for block in exp.blocks() {
                    expect::not_judged(ctx, block, &why, &found, None);
                }
            }
            continue;
        }
        let resp = step::execute(ctx, &s.step).await?;
        if let Some(exp) = &s.step.expect {
            for block in exp.blocks() {
                expect::evaluate(ctx, block, &resp)?;
            }
        }
        // A path the response lacks leaves its variable unset: a later use of it names the
        // variable, and a block whose premise (`given`) needs it is skipped with the reason.
        let value = resp.as_value();
        for (name, path) in &s.step.save {
            match template::select(&value, &header_path(path)) {
                Some(v) => {
                    ctx.vars.insert(name.clone(), v);
                }
                None => {
                    ctx.vars.remove(name);
                }
            }
        }
    }
    Ok(())
}

fn header_path(path: &str) -> String {
    match path.strip_prefix("header.") {
        Some(h) => format!("header.{}", h.to_ascii_lowercase()),
        None => path.to_string(),
    }
}

fn describe_condition(c: &Condition) -> String {
    let mut parts = vec![format!("var: {}", c.var)];
    if let Some(set) = c.set {
        parts.push(format!("set: {set}"));
    }
    if let Some(is) = &c.is {
        parts.push(format!("is: {}", is.0));
    }
    if let Some(not) = &c.is_not {
        parts.push(format!("is_not: {}", not.0));
    }
    format!("{{{}}}", parts.join(", "))
}

/// Whether a variable is set, without its value (it may be a token).
fn describe_value(v: Option<Value>) -> String {
    match v {
        None => "not set".into(),
        Some(_) => "set, to another value".into(),
    }
}

fn condition_holds(c: &Condition, vars: &BTreeMap<String, Value>) -> bool {
    let v = template::lookup(vars, &c.var).ok();
    // `is` and `is_not` may name variables too; one that is not set compares as absent.
    let resolve = |x: &Option<crate::template::Tpl>| x.as_ref().map(|x| template::subst(&x.0, vars).ok());
    let (is, is_not) = (resolve(&c.is), resolve(&c.is_not));
    if let Some(set) = c.set
        && set != v.is_some()
    {
        return false;
    }
    if let Some(is) = is
        && v != is
    {
        return false;
    }
    if let Some(not) = is_not
        && v == not
    {
        return false;
    }
    true
}

/// Runs scenarios concurrently (at most `jobs` at once), calling `done` after each.
pub async fn run_all(
    env: Arc<Env>,
    scenarios: Vec<Scenario>,
    done: impl Fn(Executed) -> ScenarioResult + Send + Sync + 'static,
) -> Vec<ScenarioResult> {
    let sem = Arc::new(tokio::sync::Semaphore::new(env.options.jobs.max(1)));
    let done = Arc::new(done);
    let mut handles = Vec::new();
    let mut scenarios = scenarios;
    start_order(&env, &mut scenarios);
    for s in scenarios {
        let env = env.clone();
        let sem = sem.clone();
        let done = done.clone();
        let shell = shell(&s);
        // The permit is taken here, in start order, not inside the task: tasks start in whatever
        // order the runtime polls them, and with `jobs: 1` the order must be the start order (what a
        // scenario sees of the AS's traffic so far depends on the scenarios before it).
        let permit = sem.acquire_owned().await.ok();
        let handle = tokio::spawn(async move {
            let _permit = permit;
            let r = run_scenario(&env, &s).await;
            done(r)
        });
        handles.push((handle, shell));
    }
    let mut out = Vec::new();
    for (h, mut shell) in handles {
        match h.await {
            Ok(r) => out.push(r),
            // A harness bug must show up as an error of that scenario, never as a missing one.
            Err(e) => {
                shell.verdict = Verdict::Error;
                shell.requirements.clear();
                shell.reason = Some(format!("the harness failed while running the scenario: {e}"));
                out.push(shell);
            }
        }
    }
    out.sort_by(|a, b| a.trial.cmp(&b.trial));
    out
}
