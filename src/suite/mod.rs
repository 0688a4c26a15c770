//! Scenario discovery and loading: walk `suites/`, parse each file (with line and column on
//! every error), resolve includes, expand `cases` tables and validate every reference against
//! the requirement catalogue, the named checks and the message schemas.

pub mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::catalogue::{Catalogue, Role};
use model::{Expect, FragmentFile, ScenarioFile, Step};

/// Capabilities a scenario may need (`needs:`); the preflight derives them for a target.
pub const CAPABILITIES: &[(&str, &str)] = &[
    ("dcr", "dynamic client registration (RFC 7591) at registration_endpoint"),
    (
        "introspection",
        "introspection_endpoint with the UMA permissions extension",
    ),
    ("revocation", "revocation_endpoint (RFC 7009)"),
    (
        "claims-pushing",
        "the target trusts the harness's test identity provider for pushed ID tokens",
    ),
    (
        "interactive-claims",
        "claims_interaction_endpoint, driven by the form driver",
    ),
    ("pct", "persisted claims tokens"),
    ("rpt-upgrade", "RPT upgrading (UMA Grant §3.3.5.1)"),
    ("refresh", "refresh tokens with RPTs"),
    (
        "request-submitted",
        "owner approval (request_submitted) through the approval adapter",
    ),
    (
        "policy-setup",
        "a policy adapter that can establish the abstract policies",
    ),
    (
        "second-owner",
        "a second resource server client with another resource owner",
    ),
    ("second-client", "a second requesting client"),
    (
        "short-lifetimes",
        "ticket and RPT lifetimes short enough to wait for (at most 10 s)",
    ),
    ("jwt-rpt", "RPTs are JWTs"),
    (
        "browser-client",
        "a client target driven through a start URL, so it can send the browser to claims gathering",
    ),
    ("profile:icg-pkce", "the ICG+PKCE profile (digest §10.1)"),
    ("profile:icg-iss", "the ICG mix-up (iss) profile (digest §10.2)"),
    (
        "pat-code-flow",
        "PATs by the authorization code grant with a user login form",
    ),
];

/// A step with where it was written.
#[derive(Clone, Debug)]
pub struct StepAt {
    /// The step.
    pub step: Step,
    /// The file it is written in, relative to the suites' parent (e.g. `suites/as/x.yaml`).
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl StepAt {
    /// `file:line:col`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One runnable scenario (one trial): a file, or one row of its `cases` table.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// `as/ticket/need-info-rotates` or `as/assessment/vectors#spec-example`.
    pub id: String,
    /// `as::ticket::need-info-rotates` (or `…::spec-example` for a row).
    pub trial_name: String,
    /// The role under test.
    pub role: Role,
    /// The area (first folder below the role).
    pub area: String,
    /// Title.
    pub title: String,
    /// Notes.
    pub description: Option<String>,
    /// The scenario file.
    pub file: String,
    /// Requirements cited.
    pub requirements: Vec<String>,
    /// Capabilities needed.
    pub needs: Vec<String>,
    /// Included steps first, then the scenario's own.
    pub steps: Vec<StepAt>,
    /// The table row, if any: its name and members.
    pub case: Option<(String, BTreeMap<String, Value>)>,
}

/// A problem with a scenario or fragment file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{location}: {message}")]
pub struct SuiteError {
    /// `file[:line:col]`.
    pub location: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn err(location: impl Into<String>, message: impl Into<String>) -> SuiteError {
    SuiteError {
        location: location.into(),
        message: message.into(),
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T, SuiteError> {
    serde_saphyr::from_str(text).map_err(|e| {
        let msg = e.to_string();
        // serde-saphyr renders "line L column C" inside its message; keep it whole.
        err(file, msg)
    })
}

/// Where the suites live and how their paths are shown.
#[derive(Clone, Debug)]
pub struct SuiteRoot {
    /// The `suites/` directory.
    pub dir: PathBuf,
}

impl SuiteRoot {
    /// The repository's `suites/` directory (next to `Cargo.toml`), or `./suites`.
    pub fn default_dir() -> PathBuf {
        let here = PathBuf::from("suites");
        if here.is_dir() {
            return here;
        }
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites")
    }

    fn display(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.dir).unwrap_or(path);
        format!("suites/{}", rel.display()).replace('\\', "/")
    }
}

/// Every scenario file below `dir` (fragments, in folders starting with `_`, excluded), sorted.
pub fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut visited = 0usize;
    while let Some(d) = stack.pop() {
        visited += 1;
        if visited > 10_000 {
            return Err(err(dir.display().to_string(), "too many folders below suites/"));
        }
        let entries =
            std::fs::read_dir(&d).map_err(|e| err(d.display().to_string(), format!("cannot read folder: {e}")))?;
        for entry in entries.flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Loads every scenario of `roles` (all roles if empty), validated. All problems are returned.
pub fn load_all(root: &SuiteRoot, catalogue: &Catalogue) -> Result<Vec<Scenario>, Vec<SuiteError>> {
    let files = scenario_files(&root.dir).map_err(|e| vec![e])?;
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    let mut ids = BTreeSet::new();
    for f in files {
        match load_file(root, &f, catalogue) {
            Ok(list) => {
                for s in list {
                    if !ids.insert(s.trial_name.clone()) {
                        errors.push(err(&s.file, format!("duplicate scenario `{}`", s.trial_name)));
                    }
                    scenarios.push(s);
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() { Ok(scenarios) } else { Err(errors) }
}

fn role_and_area(root: &SuiteRoot, path: &Path) -> Result<(Role, String, String), SuiteError> {
    let rel = path.strip_prefix(&root.dir).unwrap_or(path);
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().to_string()).collect();
    let display = root.display(path);
    let role = match parts.first().map(String::as_str) {
        Some("as") => Role::As,
        Some("rs") => Role::Rs,
        Some("client") => Role::Client,
        _ => {
            return Err(err(
                display,
                "a scenario lives in suites/as/, suites/rs/ or suites/client/",
            ));
        }
    };
    if parts.len() < 3 {
        return Err(err(
            display,
            "a scenario lives in an area folder: suites/<role>/<area>/<name>.yaml",
        ));
    }
    let id = rel
        .to_string_lossy()
        .replace('\\', "/")
        .trim_end_matches(".yaml")
        .trim_end_matches(".yml")
        .to_string();
    Ok((role, parts[1].clone(), id))
}

/// Loads one scenario file into its trials.
pub fn load_file(root: &SuiteRoot, path: &Path, catalogue: &Catalogue) -> Result<Vec<Scenario>, Vec<SuiteError>> {
    let display = root.display(path);
    let text = std::fs::read_to_string(path).map_err(|e| vec![err(&display, format!("cannot read: {e}"))])?;
    let file: ScenarioFile = parse_yaml(&text, &display).map_err(|e| vec![e])?;
    let (role, area, expected_id) = role_and_area(root, path).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    if file.id != expected_id {
        errors.push(err(
            &display,
            format!("`id: {}` must match the file's path: `id: {expected_id}`", file.id),
        ));
    }
    let mut needs = file.needs.clone();
    let mut steps = Vec::new();
    for inc in &file.include {
        let inc_path = path.parent().unwrap_or(Path::new(".")).join(inc);
        let inc_display = root.display(&inc_path);
        match std::fs::read_to_string(&inc_path) {
            Ok(t) => match parse_yaml::<FragmentFile>(&t, &inc_display) {
                Ok(frag) => {
                    needs.extend(frag.needs);
                    for s in frag.steps {
                        steps.push(StepAt {
                            step: s.value,
                            file: inc_display.clone(),
                            line: s.line,
                            column: s.column,
                        });
                    }
                }
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(err(&display, format!("cannot read include `{inc}`: {e}"))),
        }
    }
    for s in file.steps {
        steps.push(StepAt {
            step: s.value,
            file: display.clone(),
            line: s.line,
            column: s.column,
        });
    }
    needs.sort();
    needs.dedup();
    for n in &needs {
        let n = n.strip_prefix("not:").unwrap_or(n);
        if !CAPABILITIES.iter().any(|(c, _)| *c == n) {
            errors.push(err(
                &display,
                format!(
                    "unknown capability `{n}` in needs{}",
                    did_you_mean(n, CAPABILITIES.iter().map(|(c, _)| *c))
                ),
            ));
        }
    }
    for r in &file.requirements {
        if catalogue.get(r).is_none() {
            errors.push(err(
                &display,
                format!(
                    "requirement `{r}` is not in fixtures/requirements.yaml{}",
                    catalogue
                        .suggest(r)
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    if file.requirements.is_empty() {
        errors.push(err(&display, "a scenario cites at least one requirement"));
    }
    for s in &steps {
        validate_step(s, &file.requirements, &mut errors);
    }
    let mut names = BTreeSet::new();
    for (i, c) in file.cases.iter().enumerate() {
        match c.get("name").and_then(Value::as_str) {
            Some(n) if names.insert(n.to_string()) => {}
            Some(n) => errors.push(err(&display, format!("case {i}: duplicate name `{n}`"))),
            None => errors.push(err(&display, format!("case {i}: every case needs a `name`"))),
        }
        if steps.iter().any(|s| s.step.assess.is_some())
            && let Err(e) = crate::engine::assess::check_case(c)
        {
            errors.push(err(
                &display,
                format!("case `{}`: {e}", c.get("name").and_then(Value::as_str).unwrap_or("?")),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let base = Scenario {
        id: file.id.clone(),
        trial_name: file.id.replacen('/', "::", 2).replace('/', "::"),
        role,
        area,
        title: file.title.clone(),
        description: file.description.clone(),
        file: display,
        requirements: file.requirements.clone(),
        needs,
        steps,
        case: None,
    };
    if file.cases.is_empty() {
        return Ok(vec![base]);
    }
    Ok(file
        .cases
        .iter()
        .map(|c| {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("case").to_string();
            let mut s = base.clone();
            s.id = format!("{}#{name}", base.id);
            s.trial_name = format!("{}::{name}", base.trial_name);
            s.case = Some((name, c.clone()));
            s
        })
        .collect())
}

/// The most copies a `parallel` step may send at once.
pub const MAX_PARALLEL: u8 = 8;

/// The action keys of a step that are set.
pub fn actions(step: &Step) -> Vec<&'static str> {
    let mut a = Vec::new();
    macro_rules! has {
        ($($f:ident => $n:literal),*) => { $( if step.$f.is_some() { a.push($n); } )* };
    }
    has!(discover => "discover", pat => "pat", register => "register", resource => "resource",
         policy => "policy", permission => "permission", token => "token", introspect => "introspect",
         revoke => "revoke", claims => "claims", approve => "approve", id_token => "id_token",
         assess => "assess", wait => "wait", http => "http", assert => "assert",
         parallel => "parallel", rs_request => "rs_request", browse => "browse", traffic => "traffic",
         hook => "hook");
    a
}

fn validate_step(s: &StepAt, requirements: &[String], errors: &mut Vec<SuiteError>) {
    let acts = actions(&s.step);
    if acts.len() != 1 {
        errors.push(err(
            s.location(),
            format!(
                "a step has exactly one action (discover, pat, register, resource, policy, permission, token, \
                 introspect, revoke, claims, approve, id_token, assess, wait, http, assert, parallel, rs_request, \
                 browse, traffic, hook); found {}",
                if acts.is_empty() {
                    "none".to_string()
                } else {
                    acts.join(", ")
                }
            ),
        ));
    }
    if let Some(p) = &s.step.parallel
        && !(2..=MAX_PARALLEL).contains(&p.count)
    {
        errors.push(err(
            s.location(),
            format!(
                "`parallel.count` must be between 2 and {MAX_PARALLEL}; found {}",
                p.count
            ),
        ));
    }
    if let Some(p) = &s.step.policy {
        for v in p.all.iter().chain(p.scopes.values()) {
            if !crate::target::POLICIES.contains(&v.as_str()) {
                errors.push(err(
                    s.location(),
                    format!(
                        "unknown policy `{v}`{}",
                        did_you_mean(v, crate::target::POLICIES.iter().copied())
                    ),
                ));
            }
        }
    }
    if let Some(exp) = &s.step.expect {
        for block in exp.blocks() {
            validate_block(s, block, requirements, errors);
        }
    }
}

fn validate_block(s: &StepAt, block: &Expect, requirements: &[String], errors: &mut Vec<SuiteError>) {
    let req = match (&block.req, requirements) {
        (Some(r), _) => Some(r.clone()),
        (None, [only]) => Some(only.clone()),
        (None, _) => None,
    };
    if let Some(r) = &req
        && !requirements.contains(r)
    {
        errors.push(err(
            s.location(),
            format!("`req: {r}` is not among the scenario's `requirements`; add it there"),
        ));
    }
    let mut checks: Vec<&model::NamedCheck> = block.checks.iter().collect();
    for alt in &block.one_of {
        checks.extend(alt.checks.iter());
        if let Some(schema) = &alt.schema {
            validate_schema_name(s, schema, errors);
        }
    }
    let plain = block.status.is_some()
        || block.error.is_some()
        || !block.headers.is_empty()
        || !block.json.is_empty()
        || !block.redirect.is_empty()
        || !block.vars.is_empty()
        || block.schema.is_some()
        || !block.one_of.is_empty();
    if plain && req.is_none() {
        errors.push(err(
            s.location(),
            "this expectation block needs `req:` (the scenario cites several requirements)",
        ));
    }
    if let Some(schema) = &block.schema {
        validate_schema_name(s, schema, errors);
    }
    for c in checks {
        let (name, _) = c.parts();
        match crate::engine::checks::default_requirement(&name) {
            None => errors.push(err(
                s.location(),
                format!(
                    "unknown check `{name}`{}",
                    did_you_mean(&name, crate::engine::checks::NAMES.iter().map(|(n, _)| *n))
                ),
            )),
            Some(default) => {
                let cited = req.clone().unwrap_or_else(|| default.to_string());
                if !requirements.contains(&cited) {
                    errors.push(err(
                        s.location(),
                        format!("check `{name}` cites `{cited}`, which is not among the scenario's `requirements`"),
                    ));
                }
            }
        }
    }
}

fn validate_schema_name(s: &StepAt, name: &str, errors: &mut Vec<SuiteError>) {
    if !crate::engine::schemas::exists(name) {
        errors.push(err(
            s.location(),
            format!(
                "unknown message schema `{name}`{}",
                did_you_mean(name, crate::engine::schemas::names().iter().map(String::as_str))
            ),
        ));
    }
}
