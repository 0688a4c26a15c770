//! `uma-conformance`: the conformance test suite and interop harness for UMA 2.0 (Grant and
//! Federated Authorization).
//!
//! Data flows one way: suite + target → engine → verdicts → report.
//!
//! ```no_run
//! # async fn demo() -> Result<(), uma_conformance::RunError> {
//! let report = uma_conformance::run(&uma_conformance::RunRequest::default()).await?;
//! println!("{} scenarios failed", report.summary.scenarios.fail);
//! # Ok(()) }
//! ```

pub mod catalogue;
pub mod counterpart;
pub mod embedded;
pub mod engine;
pub mod report;
pub mod schemas;
pub mod selftest;
pub mod suite;
pub mod target;
pub mod uma;
pub mod world;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::Digest;

use catalogue::Catalogue;
use engine::{Env, RunOptions};
use report::{Report, RunInfo, Verdict};
use suite::{Scenario, SuiteRoot};
use target::Target;

/// Exit codes (DESIGN §3).
pub mod exit {
    /// Every check passed (warnings allowed).
    pub const PASS: i32 = 0;
    /// Conformance failures.
    pub const FAIL: i32 = 1;
    /// Configuration or usage error.
    pub const CONFIG: i32 = 2;
    /// Harness or target error.
    pub const ERROR: i32 = 3;
}

/// Whether a host is a loopback address (the only targets this build talks to).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The repository root (where `suites/` and `fixtures/` live).
pub fn repo_root() -> PathBuf {
    if PathBuf::from("suites").is_dir() && PathBuf::from("fixtures").is_dir() {
        return PathBuf::from(".");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// A target profile; `None` runs against the embedded reference AS.
    pub target: Option<PathBuf>,
    /// Only scenarios whose trial name contains this.
    pub filter: Option<String>,
    /// `--strict`.
    pub strict: bool,
    /// `--jobs`.
    pub jobs: usize,
    /// Quirks of the embedded reference implementation (each applies to the component of its
    /// role: AS, RS or client).
    pub quirks: Vec<uma_reference_server::Quirk>,
    /// Roles to run without a target (empty: all three).
    pub roles: Vec<catalogue::Role>,
    /// The suites directory.
    pub suites: PathBuf,
    /// The catalogue file.
    pub catalogue: PathBuf,
}

impl Default for RunRequest {
    fn default() -> Self {
        let root = repo_root();
        Self {
            target: None,
            filter: None,
            strict: false,
            jobs: 8,
            quirks: Vec::new(),
            roles: Vec::new(),
            suites: root.join("suites"),
            catalogue: root.join("fixtures/requirements.yaml"),
        }
    }
}

/// Why a run could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A scenario, catalogue or profile problem (exit 2).
    #[error("configuration error:\n{0}")]
    Config(String),
    /// The harness or the target failed (exit 3).
    #[error("harness error: {0}")]
    Harness(String),
}

impl RunError {
    /// The exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Config(_) => exit::CONFIG,
            Self::Harness(_) => exit::ERROR,
        }
    }
}

/// Loads the catalogue and every scenario, or every problem found.
pub fn load(req: &RunRequest) -> Result<(Catalogue, Vec<Scenario>), RunError> {
    let catalogue = Catalogue::load(&req.catalogue).map_err(|e| RunError::Config(e.to_string()))?;
    let root = SuiteRoot {
        dir: req.suites.clone(),
    };
    let scenarios = suite::load_all(&root, &catalogue)
        .map_err(|errs| RunError::Config(errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")))?;
    Ok((catalogue, scenarios))
}

/// SHA-256 over every suite file's path and content, hex.
pub fn suites_hash(dir: &std::path::Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    let mut h = sha2::Sha256::new();
    for f in files {
        h.update(f.strip_prefix(dir).unwrap_or(&f).to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

async fn start_embedded(idp: &uma::idp::TestIdp, req: &RunRequest) -> Result<(Target, embedded::Embedded), RunError> {
    let quirks: Vec<_> = req
        .quirks
        .iter()
        .copied()
        .filter(|q| q.role() == uma_reference_server::Role::As)
        .collect();
    let e = embedded::start(idp, &quirks).await.map_err(RunError::Harness)?;
    let t = Target::from_profile(e.profile.clone(), "embedded").map_err(|e| RunError::Config(e.to_string()))?;
    Ok((t, e))
}

fn make_env(
    req: &RunRequest,
    target: Target,
    catalogue: Catalogue,
    idp: Arc<uma::idp::TestIdp>,
    metadata: serde_json::Value,
    capabilities: std::collections::BTreeSet<String>,
    request_timeout: Duration,
) -> Env {
    Env {
        target,
        catalogue,
        metadata,
        capabilities,
        idp,
        options: RunOptions {
            strict: req.strict,
            jobs: req.jobs,
            request_timeout,
            ..RunOptions::default()
        },
        peer: None,
    }
}

/// A loaded target profile of any role.
#[derive(Debug)]
enum Loaded {
    As(Box<Target>),
    Peer(Box<target::peer::PeerProfile>),
}

fn load_target(path: &std::path::Path) -> Result<Loaded, RunError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RunError::Config(format!("{}: cannot read the target profile: {e}", path.display())))?;
    match target::peer::role_of(&text) {
        Some(catalogue::Role::Rs | catalogue::Role::Client) => {
            let p: target::peer::PeerProfile =
                serde_saphyr::from_str(&text).map_err(|e| RunError::Config(format!("{}: {e}", path.display())))?;
            p.validate(&path.display().to_string())
                .map_err(|e| RunError::Config(e.to_string()))?;
            Ok(Loaded::Peer(Box::new(p)))
        }
        _ => Ok(Loaded::As(Box::new(
            Target::load(path).map_err(|e| RunError::Config(e.to_string()))?,
        ))),
    }
}

/// Validates a target profile of any role (for `validate`).
pub fn validate_target(path: &std::path::Path) -> Result<(), RunError> {
    load_target(path).map(|_| ())
}

/// What one role's part of a run produced.
struct RolePart {
    scenarios: Vec<report::ScenarioReport>,
    preflight: report::PreflightReport,
    target: serde_json::Value,
}

fn not_run(selected: &[Scenario], why: &str) -> Vec<report::ScenarioReport> {
    selected
        .iter()
        .map(|s| report::ScenarioReport {
            id: s.id.clone(),
            trial: s.trial_name.clone(),
            role: s.role.as_str().into(),
            area: s.area.clone(),
            title: s.title.clone(),
            file: s.file.clone(),
            requirements: s.requirements.clone(),
            verdict: Verdict::Error,
            reason: Some(why.to_string()),
            duration_ms: 0,
            choices: Default::default(),
            checks: Vec::new(),
            exchanges: Vec::new(),
        })
        .collect()
}

type Progress = Arc<dyn Fn(&report::ScenarioReport) + Send + Sync>;

async fn run_as_role(
    req: &RunRequest,
    catalogue: Catalogue,
    selected: Vec<Scenario>,
    loaded: Option<Target>,
    idp: Arc<uma::idp::TestIdp>,
    progress: Progress,
) -> Result<RolePart, RunError> {
    let (target, embedded) = match loaded {
        Some(t) => (t, None),
        None => {
            let (t, e) = start_embedded(&idp, req).await?;
            (t, Some(e))
        }
    };
    let timeout = Duration::from_secs(target.profile.request_timeout_seconds.unwrap_or(10));
    let (preflight, metadata, capabilities) = target::preflight::run(&target, timeout).await;
    let redacted = target.redacted_profile();
    let scenarios = if preflight.problems.iter().any(|p| p.severity == "error") {
        not_run(&selected, "not run: the preflight found configuration errors")
    } else {
        let env = Arc::new(make_env(req, target, catalogue, idp, metadata, capabilities, timeout));
        engine::run_all(env, selected, move |s| progress(s)).await
    };
    if let Some(e) = embedded {
        e.server.shutdown().await;
    }
    Ok(RolePart {
        scenarios,
        preflight,
        target: redacted,
    })
}

async fn run_peer_role(
    req: &RunRequest,
    role: catalogue::Role,
    catalogue: Catalogue,
    selected: Vec<Scenario>,
    profile: Option<target::peer::PeerProfile>,
    idp: Arc<uma::idp::TestIdp>,
    progress: Progress,
) -> Result<RolePart, RunError> {
    let started = match role {
        catalogue::Role::Rs => world::start_rs(&idp, profile.as_ref(), &req.quirks).await,
        _ => world::start_client(&idp, profile.as_ref(), &req.quirks).await,
    };
    let target_json = match &profile {
        Some(p) => serde_json::to_value(p).unwrap_or_default(),
        None => serde_json::json!({"name": format!("reference {} (embedded)", role.as_str()), "role": role.as_str()}),
    };
    let (world, target, running) = match started {
        Ok(x) => x,
        Err(e) => {
            let preflight = report::PreflightReport {
                problems: vec![report::Problem {
                    severity: "error".into(),
                    what: e.clone(),
                    fix: "check the target profile (`setup`, ports, credentials) and that the target runs".into(),
                }],
                ..report::PreflightReport::default()
            };
            return Ok(RolePart {
                scenarios: not_run(&selected, &format!("not run: {e}")),
                preflight,
                target: redact_peer(target_json),
            });
        }
    };
    let timeout = Duration::from_secs(profile.as_ref().and_then(|p| p.request_timeout_seconds).unwrap_or(10));
    let (mut preflight, metadata, mut capabilities) = target::preflight::run(&target, timeout).await;
    if let Some(p) = &profile
        && let Some(problem) = reach_peer(p).await
    {
        preflight.problems.push(problem);
    }
    if let Some(c) = &world.client {
        capabilities.extend(c.capabilities.iter().cloned());
        if c.start_url.is_some() {
            capabilities.insert("browser-client".into());
        }
    }
    preflight.capabilities = capabilities.iter().cloned().collect();
    let scenarios = if preflight.problems.iter().any(|p| p.severity == "error") {
        not_run(&selected, "not run: the harness's counterpart AS failed its preflight")
    } else {
        let mut env = make_env(req, target, catalogue, idp, metadata, capabilities, timeout);
        env.peer = Some(Arc::new(world));
        engine::run_all(Arc::new(env), selected, move |s| progress(s)).await
    };
    running.shutdown().await;
    Ok(RolePart {
        scenarios,
        preflight,
        target: redact_peer(target_json),
    })
}

/// Whether the RS's base URL or the client's start URL accepts connections (within 3 s).
async fn reach_peer(p: &target::peer::PeerProfile) -> Option<report::Problem> {
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
    (!ok).then(|| report::Problem {
        severity: "error".into(),
        what: format!("cannot reach {what} at {addr}"),
        fix: format!("start it, or fix the URL in the target profile (now {url})"),
    })
}

fn redact_peer(mut v: serde_json::Value) -> serde_json::Value {
    for path in [["rs", "as_client"], ["client", "registration"]] {
        if let Some(s) = v
            .get_mut(path[0])
            .and_then(|x| x.get_mut(path[1]))
            .and_then(|x| x.get_mut("client_secret"))
            && s.is_string()
        {
            *s = serde_json::Value::String("[redacted]".into());
        }
    }
    v
}

/// Runs the suites and returns the report; `progress` sees each scenario as it finishes.
///
/// Without a target, every role runs against the embedded reference implementation (the AS
/// suite against the reference AS, the RS suite against the reference RS, the client suite
/// against the reference client), the three at once.
pub async fn run_with(
    req: &RunRequest,
    progress: impl Fn(&report::ScenarioReport) + Send + Sync + 'static,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now().to_string();
    let (catalogue, scenarios) = load(req)?;
    let loaded = match &req.target {
        Some(path) => Some(load_target(path)?),
        None => None,
    };
    let idp_port = match &loaded {
        Some(Loaded::As(t)) => t.profile.idp.port,
        Some(Loaded::Peer(p)) => p.idp_port,
        None => 0,
    };
    let idp = Arc::new(
        uma::idp::TestIdp::start(idp_port)
            .await
            .map_err(|e| RunError::Harness(e.to_string()))?,
    );
    let roles: Vec<catalogue::Role> = match &loaded {
        Some(Loaded::As(_)) => vec![catalogue::Role::As],
        Some(Loaded::Peer(p)) => vec![p.role],
        None => [catalogue::Role::As, catalogue::Role::Rs, catalogue::Role::Client]
            .into_iter()
            .filter(|r| req.roles.is_empty() || req.roles.contains(r))
            .collect(),
    };
    let filter = |s: &Scenario| {
        req.filter
            .as_ref()
            .is_none_or(|f| s.trial_name.contains(f.as_str()) || s.id.contains(f.as_str()))
    };
    let select = |role: catalogue::Role| -> Vec<Scenario> {
        scenarios
            .iter()
            .filter(|s| s.role == role && filter(s))
            .cloned()
            .collect()
    };
    let progress: Progress = Arc::new(progress);
    let (as_target, peer_profile) = match loaded {
        Some(Loaded::As(t)) => (Some(*t), None),
        Some(Loaded::Peer(p)) => (None, Some(*p)),
        None => (None, None),
    };
    let as_part = async {
        if roles.contains(&catalogue::Role::As) {
            Some(
                run_as_role(
                    req,
                    catalogue.clone(),
                    select(catalogue::Role::As),
                    as_target,
                    idp.clone(),
                    progress.clone(),
                )
                .await,
            )
        } else {
            None
        }
    };
    let peer = |role: catalogue::Role| {
        let (catalogue, idp, progress, profile) =
            (catalogue.clone(), idp.clone(), progress.clone(), peer_profile.clone());
        let selected = select(role);
        let run = roles.contains(&role) && (profile.is_none() || profile.as_ref().is_some_and(|p| p.role == role));
        async move {
            if run {
                Some(run_peer_role(req, role, catalogue, selected, profile, idp, progress).await)
            } else {
                None
            }
        }
    };
    let (a, r, c) = tokio::join!(as_part, peer(catalogue::Role::Rs), peer(catalogue::Role::Client));
    let mut parts: Vec<(catalogue::Role, RolePart)> = Vec::new();
    for (role, part) in [
        (catalogue::Role::As, a),
        (catalogue::Role::Rs, r),
        (catalogue::Role::Client, c),
    ] {
        if let Some(p) = part {
            parts.push((role, p?));
        }
    }
    let mut report = Report {
        schema: "https://uma-conformance.dev/schemas/report.schema.json".into(),
        run: RunInfo {
            harness: "uma-conformance".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at,
            duration_ms: 0,
            strict: req.strict,
            jobs: req.jobs,
            filter: req.filter.clone(),
            suites_hash: suites_hash(&req.suites),
            quirks: req.quirks.iter().map(|q| q.name().to_string()).collect(),
        },
        ..Report::default()
    };
    if parts.len() == 1 {
        let (_, p) = parts.remove(0);
        report.target = p.target;
        report.preflight = p.preflight;
        report.scenarios = p.scenarios;
    } else {
        let mut targets = serde_json::Map::new();
        for (role, p) in parts {
            targets.insert(role.as_str().into(), p.target);
            if role == catalogue::Role::As {
                report.preflight.reachable = p.preflight.reachable;
                report.preflight.discovery_url = p.preflight.discovery_url;
                report.preflight.capabilities = p.preflight.capabilities;
            }
            report
                .preflight
                .problems
                .extend(p.preflight.problems.into_iter().map(|mut pr| {
                    pr.what = format!("{}: {}", role.as_str(), pr.what);
                    pr
                }));
            report.scenarios.extend(p.scenarios);
        }
        report.target =
            serde_json::json!({"name": "reference implementation (embedded): AS, RS and client", "roles": targets});
    }
    report.scenarios.sort_by(|a, b| a.trial.cmp(&b.trial));
    report.run.duration_ms = started.elapsed().as_millis() as u64;
    report.summarise();
    Ok(report)
}

/// Runs without progress output.
pub async fn run(req: &RunRequest) -> Result<Report, RunError> {
    run_with(req, |_| {}).await
}

/// The exit code of a finished run.
pub fn exit_code(report: &Report) -> i32 {
    if report.preflight.problems.iter().any(|p| p.severity == "error") {
        return exit::CONFIG;
    }
    let s = &report.summary;
    if s.checks.fail > 0 || s.profile_checks.fail > 0 {
        exit::FAIL
    } else if s.scenarios.error > 0 {
        exit::ERROR
    } else {
        exit::PASS
    }
}

/// Writes `report.json` and `junit.xml` into `out`.
pub fn write_reports(report: &Report, out: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(out.join("report.json"), json)?;
    std::fs::write(out.join("junit.xml"), report::junit::render(report))?;
    Ok(())
}

/// The embedded reference implementation with everything a scenario needs, for harnesses that
/// run scenarios one by one (`tests/conformance.rs`): one environment per role.
#[derive(Debug)]
pub struct EmbeddedEnv {
    /// Shared run state by role.
    pub envs: std::collections::BTreeMap<catalogue::Role, Arc<Env>>,
    /// The running reference AS (the AS target).
    pub server: embedded::Embedded,
    /// The counterparts and targets of the RS and client roles.
    pub running: Vec<world::Running>,
    /// Every scenario of the roles started.
    pub scenarios: Vec<Scenario>,
}

impl EmbeddedEnv {
    /// The environment a scenario runs in.
    pub fn env_for(&self, s: &Scenario) -> Option<&Arc<Env>> {
        self.envs.get(&s.role)
    }
}

/// Starts the embedded reference implementation (AS target, and the RS and client worlds) and the
/// identity provider, and runs the preflights.
pub async fn embedded_env(req: &RunRequest) -> Result<EmbeddedEnv, RunError> {
    let (catalogue, scenarios) = load(req)?;
    let idp = Arc::new(
        uma::idp::TestIdp::start(0)
            .await
            .map_err(|e| RunError::Harness(e.to_string()))?,
    );
    let (target, e) = start_embedded(&idp, req).await?;
    let timeout = Duration::from_secs(10);
    let (preflight, metadata, capabilities) = target::preflight::run(&target, timeout).await;
    if let Some(p) = preflight.problems.iter().find(|p| p.severity == "error") {
        return Err(RunError::Harness(format!("{} ({})", p.what, p.fix)));
    }
    let mut envs = std::collections::BTreeMap::new();
    envs.insert(
        catalogue::Role::As,
        Arc::new(make_env(
            req,
            target,
            catalogue.clone(),
            idp.clone(),
            metadata,
            capabilities,
            timeout,
        )),
    );
    let mut running = Vec::new();
    for role in [catalogue::Role::Rs, catalogue::Role::Client] {
        if !req.roles.is_empty() && !req.roles.contains(&role) {
            continue;
        }
        let (world, target, run) = match role {
            catalogue::Role::Rs => world::start_rs(&idp, None, &req.quirks).await,
            _ => world::start_client(&idp, None, &req.quirks).await,
        }
        .map_err(RunError::Harness)?;
        let (preflight, metadata, mut capabilities) = target::preflight::run(&target, timeout).await;
        if let Some(p) = preflight.problems.iter().find(|p| p.severity == "error") {
            return Err(RunError::Harness(format!("{}: {} ({})", role.as_str(), p.what, p.fix)));
        }
        if let Some(c) = &world.client {
            capabilities.extend(c.capabilities.iter().cloned());
            if c.start_url.is_some() {
                capabilities.insert("browser-client".into());
            }
        }
        let mut env = make_env(
            req,
            target,
            catalogue.clone(),
            idp.clone(),
            metadata,
            capabilities,
            timeout,
        );
        env.peer = Some(Arc::new(world));
        envs.insert(role, Arc::new(env));
        running.push(run);
    }
    let scenarios = scenarios.into_iter().filter(|s| envs.contains_key(&s.role)).collect();
    Ok(EmbeddedEnv {
        envs,
        server: e,
        running,
        scenarios,
    })
}
