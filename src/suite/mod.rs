//! The typed scenario model and its loader: walk `suites/`, parse each file into typed steps and
//! checks (with line and column on every error), resolve includes, expand `cases` tables, and
//! validate what the types cannot say (requirements, variables, bounds) before anything runs.

pub mod capability;
pub mod matcher;
pub mod model;
pub mod step;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use capability::{Capability, Need};
pub use model::{ClientAuth, Expect, Expectations, ScenarioFile};
pub use step::{Action, Step};

use crate::catalogue::{Catalogue, RequirementId};
use crate::diagnostic::{Diagnostic, Location};
use crate::uma::Role;

/// A step with where it is written.
#[derive(Clone, Debug)]
pub struct StepAt {
    /// The step.
    pub step: Step,
    /// Where it starts (its file may be an included fragment).
    pub location: Location,
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
    /// The scenario file, as shown (`suites/as/…yaml`).
    pub file: String,
    /// Requirements cited.
    pub requirements: Vec<RequirementId>,
    /// Capabilities needed (or, `not:X`, not claimed).
    pub needs: Vec<Need>,
    /// Included steps first, then the scenario's own.
    pub steps: Vec<StepAt>,
    /// The table row, if any: its name and members.
    pub case: Option<(String, BTreeMap<String, Value>)>,
}

/// Every problem found while loading the suites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl From<Diagnostic> for LoadError {
    fn from(d: Diagnostic) -> Self {
        Self { diagnostics: vec![d] }
    }
}

/// Where the suites live and how their paths are shown.
#[derive(Clone, Debug)]
pub struct SuiteRoot {
    /// The `suites/` directory.
    pub dir: PathBuf,
}

impl SuiteRoot {
    /// The suites in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn display(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.dir).unwrap_or(path);
        format!("suites/{}", rel.display()).replace('\\', "/")
    }
}

/// Every scenario file below `dir` (built-in or on disk; fragments, in folders starting with
/// `_`, excluded), sorted.
pub fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let all = crate::builtin::files_below(dir, 10_000).map_err(|e| {
        Diagnostic::new(
            Location::file(dir.display().to_string()),
            format!("failed to read the suites: {e}"),
        )
    })?;
    Ok(all
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(dir).unwrap_or(p);
            !rel.iter().any(|c| c.to_string_lossy().starts_with(['_', '.']))
                && p.extension().is_some_and(|x| x == "yaml" || x == "yml")
        })
        .collect())
}

/// Loads and validates every scenario; every problem of every file is returned at once.
pub fn load_all(root: &SuiteRoot, catalogue: &Catalogue) -> Result<Vec<Scenario>, LoadError> {
    let files = scenario_files(&root.dir)?;
    let mut scenarios = Vec::new();
    let mut diagnostics = Vec::new();
    let mut ids = BTreeSet::new();
    for f in files {
        match load_file(root, &f, catalogue) {
            Ok(list) => {
                for s in list {
                    if !ids.insert(s.trial_name.clone()) {
                        diagnostics.push(Diagnostic::new(
                            Location::file(&s.file),
                            format!("duplicate scenario `{}`", s.trial_name),
                        ));
                    }
                    scenarios.push(s);
                }
            }
            Err(mut e) => diagnostics.append(&mut e.diagnostics),
        }
    }
    if diagnostics.is_empty() {
        Ok(scenarios)
    } else {
        Err(LoadError { diagnostics })
    }
}

fn role_and_area(root: &SuiteRoot, path: &Path) -> Result<(Role, String, String), Diagnostic> {
    let rel = path.strip_prefix(&root.dir).unwrap_or(path);
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().to_string()).collect();
    let display = root.display(path);
    let role = match parts.first().map(|p| p.parse::<Role>()) {
        Some(Ok(r)) => r,
        _ => {
            return Err(Diagnostic::new(
                Location::file(display),
                "a scenario lives in suites/as/, suites/rs/ or suites/client/",
            ));
        }
    };
    if parts.len() < 3 {
        return Err(Diagnostic::new(
            Location::file(display),
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

/// A file's text and how it is shown.
pub(crate) struct Source {
    pub(crate) shown: String,
    pub(crate) text: String,
}

fn read(root: &SuiteRoot, path: &Path) -> Result<Source, Diagnostic> {
    let shown = root.display(path);
    let text = crate::builtin::read_to_string(path)
        .map_err(|e| Diagnostic::new(Location::file(&shown), format!("failed to read the file: {e}")))?;
    Ok(Source { shown, text })
}

fn parse<T: serde::de::DeserializeOwned>(src: &Source) -> Result<T, Diagnostic> {
    serde_saphyr::from_str(&src.text).map_err(|e| Diagnostic::from_yaml(&src.shown, &src.text, &e))
}

/// Loads one scenario file into its trials.
pub fn load_file(root: &SuiteRoot, path: &Path, catalogue: &Catalogue) -> Result<Vec<Scenario>, LoadError> {
    let src = read(root, path)?;
    let file: model::ScenarioFile = parse(&src)?;
    let (role, area, expected_id) = role_and_area(root, path)?;
    let mut diagnostics = Vec::new();
    if file.id != expected_id {
        let (line, column) = crate::diagnostic::find_after(&src.text, 1, "id:").unwrap_or((0, 0));
        diagnostics.push(
            Diagnostic::new(
                Location::new(&src.shown, line, column),
                format!("`id: {}` must match the file's path: `id: {expected_id}`", file.id),
            )
            .with_source(&src.text),
        );
    }
    let mut needs = file.needs.clone();
    let mut steps = Vec::new();
    let mut sources = vec![];
    for inc in &file.include {
        let inc_path = path.parent().unwrap_or(Path::new(".")).join(inc);
        match read(root, &inc_path) {
            Ok(inc_src) => match parse::<model::FragmentFile>(&inc_src) {
                Ok(frag) => {
                    needs.extend(frag.needs);
                    for s in frag.steps {
                        steps.push(StepAt {
                            step: s.value,
                            location: Location::new(&inc_src.shown, s.line, s.column),
                        });
                    }
                    sources.push(inc_src);
                }
                Err(d) => diagnostics.push(d),
            },
            Err(_) => diagnostics.push(Diagnostic::new(
                Location::file(&src.shown),
                format!("failed to read the include `{inc}`"),
            )),
        }
    }
    for s in &file.steps {
        steps.push(StepAt {
            step: s.value.clone(),
            location: Location::new(&src.shown, s.line, s.column),
        });
    }
    sources.push(src);
    needs.sort();
    needs.dedup();
    diagnostics.extend(validate::scenario(&file, &steps, &sources, catalogue));
    if !diagnostics.is_empty() {
        return Err(LoadError { diagnostics });
    }
    let shown = sources.pop().map(|s| s.shown).unwrap_or_default();
    let base = Scenario {
        id: file.id.clone(),
        trial_name: file.id.replace('/', "::"),
        role,
        area,
        title: file.title.clone(),
        description: file.description.clone(),
        file: shown,
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
