//! The engine: runs scenarios against a target, isolated and concurrent, and turns every
//! assertion into a check with a verdict. Knows scenarios; knows nothing about report formats.

pub mod assess;
pub mod checks;
pub mod expect;
pub mod http;
pub mod peer;
pub mod schemas;
pub mod steps;
pub mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::catalogue::{Catalogue, Severity};
use crate::report::{CheckReport, Exchange, ScenarioReport, Verdict, scenario_verdict};
use crate::suite::Scenario;
use crate::target::{ClientActor, Target};
use crate::uma::idp::TestIdp;

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
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            strict: false,
            jobs: 8,
            request_timeout: Duration::from_secs(10),
            scenario_timeout: Duration::from_secs(60),
        }
    }
}

/// Everything shared by the scenarios of one run.
#[derive(Debug)]
pub struct Env {
    /// The target.
    pub target: Target,
    /// The requirement catalogue.
    pub catalogue: Catalogue,
    /// The target's discovery document.
    pub metadata: Value,
    /// Capabilities of the target.
    pub capabilities: BTreeSet<String>,
    /// The harness's identity provider.
    pub idp: Arc<TestIdp>,
    /// Options.
    pub options: RunOptions,
    /// The counterparts and the target, when the target is an RS or a client.
    pub peer: Option<Arc<crate::world::PeerWorld>>,
}

impl Env {
    /// A discovery member as a string.
    pub fn endpoint(&self, name: &str) -> Option<String> {
        self.metadata.get(name).and_then(Value::as_str).map(str::to_string)
    }
}

/// A response as the checks see it.
#[derive(Clone, Debug, Default)]
pub struct Resp {
    /// Status (0 when there was no HTTP response, e.g. an adapter step).
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub text: String,
    /// Body JSON, if it parsed.
    pub json: Option<Value>,
    /// For a claims step: the final `Location` and its query parameters.
    pub redirect: Option<Redirect>,
    /// The exchange index.
    pub exchange: Option<usize>,
    /// More members of the response value (`challenge`, `observed`, `callback`...).
    pub extra: BTreeMap<String, Value>,
}

/// A redirect back to the client.
#[derive(Clone, Debug, Default)]
pub struct Redirect {
    /// The full `Location`.
    pub location: String,
    /// Query parameters (a repeated parameter keeps its first value; `repeated` lists it).
    pub params: BTreeMap<String, String>,
    /// Parameters that appeared more than once.
    pub repeated: Vec<String>,
}

impl Resp {
    /// A header value (case-insensitive), the first one.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// All values of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    /// A member of the JSON body.
    pub fn body(&self, path: &str) -> Option<&Value> {
        self.json.as_ref().and_then(|j| vars::get_path(j, path))
    }
    /// The response as one JSON value (`status`, `header`, `body`, `redirect`) for `save` paths.
    pub fn as_value(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (k, v) in &self.headers {
            headers
                .entry(k.to_ascii_lowercase())
                .or_insert_with(|| Value::String(v.clone()));
        }
        let redirect = self.redirect.as_ref().map(|r| {
            let mut m: serde_json::Map<String, Value> = r
                .params
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            m.insert("location".into(), Value::String(r.location.clone()));
            Value::Object(m)
        });
        let mut v = serde_json::json!({
            "status": self.status,
            "header": headers,
            "body": self.json.clone().unwrap_or_else(|| Value::String(self.text.clone())),
            "redirect": redirect.unwrap_or(Value::Null),
        });
        if let Some(o) = v.as_object_mut() {
            for (k, x) in &self.extra {
                o.insert(k.clone(), x.clone());
            }
        }
        v
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

/// A harness-side problem that stops a scenario (never a spec failure).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StepError(pub String);

/// The state of one running scenario. Scenarios share nothing but the [`Env`].
#[derive(Debug)]
pub struct ScenarioCtx<'e> {
    /// Shared run state.
    pub env: &'e Env,
    /// The scenario.
    pub scenario: &'e Scenario,
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
    pub checks: Vec<CheckReport>,
    /// Choices among conformant behaviours.
    pub choices: BTreeMap<String, String>,
    /// Current step index.
    pub step: usize,
    /// Current step location.
    pub location: String,
    /// The requesting party.
    pub rqp: RequestingParty,
    /// Secrets met during the run (tokens, tickets), for redaction.
    pub secrets: BTreeSet<String>,
    /// Where this scenario's traffic starts in the counterparts' recorder (RS and client targets).
    pub mark: u64,
    /// Other browsers (cookie jars) of a client scenario, by name.
    pub browsers: BTreeMap<String, reqwest::Client>,
    /// Target requests already added to `exchanges`.
    pub observed_seen: BTreeSet<u64>,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let _ = aws_lc_rs::rand::SecureRandom::fill(&rng, &mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A fresh random token (for `state`, subjects).
pub fn random_token() -> String {
    random_hex(16)
}

impl<'e> ScenarioCtx<'e> {
    fn new(env: &'e Env, scenario: &'e Scenario) -> Result<Self, StepError> {
        let jar = Arc::new(reqwest_cookie_store::CookieStoreMutex::default());
        let mut marker = reqwest::header::HeaderMap::new();
        marker.insert(
            crate::counterpart::traffic::HARNESS_HEADER,
            reqwest::header::HeaderValue::from_static("1"),
        );
        let http = reqwest::Client::builder()
            .default_headers(marker)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(env.options.request_timeout)
            .connect_timeout(env.options.request_timeout)
            .cookie_provider(jar.clone())
            .pool_max_idle_per_host(4)
            .build()
            .map_err(|e| StepError(format!("cannot build the HTTP client: {e}")))?;
        let tag = random_hex(4);
        let mut vars = BTreeMap::new();
        vars.insert("issuer".into(), Value::String(env.target.issuer().to_string()));
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
        // Epoch seconds: now, ten minutes ago, an hour ahead (for hooked introspection answers).
        vars.insert("now".into(), Value::from(now));
        vars.insert("past".into(), Value::from(now - 600));
        vars.insert("future".into(), Value::from(now + 3600));
        for (name, c) in &env.target.clients {
            vars.insert(
                name.clone(),
                serde_json::json!({"client_id": c.client_id, "scopes": c.scopes,
                    "claims_redirect_uris": c.claims_redirect_uris, "redirect_uris": c.redirect_uris}),
            );
        }
        vars.insert(
            "lifetimes".into(),
            serde_json::json!({"ticket": env.target.profile.lifetimes.ticket, "rpt": env.target.profile.lifetimes.rpt}),
        );
        if let Some(w) = &env.peer {
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
            // A row's values may name variables known at the start (`$past`, `${run}`).
            let resolved: Vec<(String, Value)> = case
                .iter()
                .map(|(k, v)| (k.clone(), vars::subst(v, &vars).unwrap_or_else(|_| v.clone())))
                .collect();
            for (k, v) in resolved {
                vars.insert(k, v);
            }
            vars.insert("case".into(), Value::Object(case.clone().into_iter().collect()));
        }
        Ok(Self {
            env,
            scenario,
            vars,
            http,
            jar,
            clients: env.target.clients.clone(),
            exchanges: Vec::new(),
            checks: Vec::new(),
            choices: BTreeMap::new(),
            step: 0,
            location: scenario.file.clone(),
            rqp,
            secrets: BTreeSet::new(),
            mark: env.peer.as_ref().map_or(0, |w| w.traffic.mark()),
            browsers: BTreeMap::new(),
            observed_seen: BTreeSet::new(),
        })
    }

    /// Substitutes variables.
    pub fn subst(&self, v: &Value) -> Result<Value, StepError> {
        vars::subst(v, &self.vars).map_err(StepError)
    }

    /// Substitutes and renders as a string.
    pub fn text(&self, v: &Value) -> Result<String, StepError> {
        Ok(vars::to_text(&self.subst(v)?))
    }

    /// Remembers a secret value for redaction.
    pub fn secret(&mut self, v: &str) {
        if v.len() >= 6 {
            self.secrets.insert(v.to_string());
        }
    }

    /// Records one check. `ok: None` = skipped (not applicable).
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        requirement: &str,
        title: impl Into<String>,
        ok: Option<bool>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        exchange: Option<usize>,
    ) {
        let req = self.env.catalogue.get(requirement);
        let kind = if req.is_some_and(|r| r.is_profile()) {
            "profile"
        } else {
            "uma"
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
        self.checks.push(CheckReport {
            requirement: requirement.to_string(),
            kind: kind.to_string(),
            title: title.into(),
            verdict,
            expected: expected.into(),
            actual: actual.into(),
            location: self.location.clone(),
            step: self.step,
            exchange,
        });
    }

    /// Records a harness error (a set-up step that did not work, an unset variable).
    pub fn record_error(&mut self, requirement: &str, title: impl Into<String>, detail: impl Into<String>) {
        self.checks.push(CheckReport {
            requirement: requirement.to_string(),
            kind: "uma".into(),
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

fn missing_capabilities(env: &Env, scenario: &Scenario) -> Vec<String> {
    scenario
        .needs
        .iter()
        .filter(|n| match n.strip_prefix("not:") {
            // `not:X`: the scenario is for targets that do not claim X.
            Some(x) => env.capabilities.contains(x),
            None => !env.capabilities.contains(*n),
        })
        .cloned()
        .collect()
}

/// Runs one scenario to its report.
pub async fn run_scenario(env: &Env, scenario: &Scenario) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport {
        id: scenario.id.clone(),
        trial: scenario.trial_name.clone(),
        role: scenario.role.as_str().to_string(),
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
    };
    let missing = missing_capabilities(env, scenario);
    if !missing.is_empty() {
        report.verdict = Verdict::Skip;
        report.reason = Some(format!("the target does not claim: {}", missing.join(", ")));
        return report;
    }
    // RS and client targets talk to one counterpart: their scenarios run one at a time.
    let _serial = match &env.peer {
        Some(w) => Some(w.serial.lock().await),
        None => None,
    };
    let mut ctx = match ScenarioCtx::new(env, scenario) {
        Ok(c) => c,
        Err(e) => {
            report.verdict = Verdict::Error;
            report.reason = Some(e.0);
            return report;
        }
    };
    let outcome = tokio::time::timeout(env.options.scenario_timeout, run_steps(&mut ctx)).await;
    if let Some(w) = &env.peer {
        w.traffic.clear_hooks();
    }
    let reason = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.0),
        Err(_) => Some(format!(
            "the scenario did not finish within {} s",
            env.options.scenario_timeout.as_secs()
        )),
    };
    if let Some(r) = &reason {
        let first = scenario.requirements.first().cloned().unwrap_or_default();
        let loc = ctx.location.clone();
        ctx.record_error(
            &first,
            "the scenario could not run to its end",
            format!("{r} (at {loc})"),
        );
    }
    report.reason = reason;
    report.verdict = scenario_verdict(&ctx.checks);
    report.choices = ctx.choices;
    report.checks = ctx.checks;
    report.exchanges = ctx.exchanges;
    report.duration_ms = started.elapsed().as_millis() as u64;
    let secrets: Vec<String> = ctx.secrets.into_iter().collect();
    crate::report::redact::redact_scenario(&mut report, &secrets, &env.target.secrets);
    report
}

async fn run_steps(ctx: &mut ScenarioCtx<'_>) -> Result<(), StepError> {
    let steps = &ctx.scenario.steps;
    for (i, s) in steps.iter().enumerate() {
        ctx.step = i;
        ctx.location = s.location();
        if let Some(cond) = &s.step.when
            && !condition_holds(cond, &ctx.vars)
        {
            continue;
        }
        let resp = steps::execute(ctx, &s.step).await?;
        let explicit = s.step.expect.is_some();
        if let Some(exp) = &s.step.expect {
            for block in exp.blocks() {
                expect::evaluate(ctx, block, &resp).await?;
            }
        }
        let value = resp.as_value();
        for (name, path) in &s.step.save {
            if let Some(v) = vars::get_path(&value, &header_path(path)) {
                ctx.vars.insert(name.clone(), v.clone());
            } else if !explicit {
                return Err(StepError(format!(
                    "`save: {name}: {path}`: the response has no `{path}`"
                )));
            } else {
                ctx.vars.remove(name);
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

fn condition_holds(c: &crate::suite::model::Condition, vars: &BTreeMap<String, Value>) -> bool {
    let v = vars::lookup(vars, &c.var).ok();
    // `is` and `is_not` may name variables too; one that is not set compares as absent.
    let resolve = |x: &Option<Value>| x.as_ref().map(|x| vars::subst(x, vars).ok());
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

/// Runs scenarios concurrently (at most `jobs` at once), calling `progress` after each.
pub async fn run_all(
    env: Arc<Env>,
    scenarios: Vec<Scenario>,
    progress: impl Fn(&ScenarioReport) + Send + Sync + 'static,
) -> Vec<ScenarioReport> {
    let sem = Arc::new(tokio::sync::Semaphore::new(env.options.jobs.max(1)));
    let progress = Arc::new(progress);
    let mut handles = Vec::new();
    let mut names = Vec::new();
    for s in scenarios {
        names.push((
            s.id.clone(),
            s.trial_name.clone(),
            s.role,
            s.area.clone(),
            s.title.clone(),
            s.file.clone(),
        ));
        let env = env.clone();
        let sem = sem.clone();
        let progress = progress.clone();
        handles.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            let r = run_scenario(&env, &s).await;
            progress(&r);
            r
        }));
    }
    let mut out = Vec::new();
    for (h, (id, trial, role, area, title, file)) in handles.into_iter().zip(names) {
        match h.await {
            Ok(r) => out.push(r),
            // A harness bug must show up as an error of that scenario, never as a missing one.
            Err(e) => out.push(ScenarioReport {
                id,
                trial,
                role: role.as_str().to_string(),
                area,
                title,
                file,
                requirements: Vec::new(),
                verdict: Verdict::Error,
                reason: Some(format!("the harness failed while running the scenario: {e}")),
                duration_ms: 0,
                choices: BTreeMap::new(),
                checks: Vec::new(),
                exchanges: Vec::new(),
            }),
        }
    }
    out.sort_by(|a, b| a.trial.cmp(&b.trial));
    out
}
