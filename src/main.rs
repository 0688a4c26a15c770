//! `uma-conformance`: run the UMA 2.0 conformance suites against a target.
//!
//! Over 600 lines because it is the CLI: one clap variant and one match arm per subcommand;
//! what each does is a library call.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use uma_conformance::{Role, RunRequest, exit, report};

/// `println!` that stops quietly when stdout is closed (`uma-conformance list | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(exit::PASS);
        }
    }};
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Conformance test suite and interop harness for UMA 2.0.
#[derive(Parser, Debug)]
#[command(about)]
struct Cli {
    #[command(flatten)]
    sources: uma_conformance::run::Sources,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the suites (with no --target: every suite against the embedded reference AS, RS and client) and write the reports.
    Run {
        /// Target profile (YAML, see fixtures/targets/).
        #[arg(long, env = "UMA_TARGET")]
        target: Option<PathBuf>,
        /// Only scenarios whose name contains this (e.g. `as::ticket`).
        #[arg(long)]
        filter: Option<String>,
        /// Scenarios run at once.
        #[arg(long, default_value_t = 8)]
        jobs: usize,
        /// Declarative requirements fail instead of warn.
        #[arg(long)]
        strict: bool,
        /// Where to write report.json, report.html, junit.xml and summary.md (checked writable before the run).
        #[arg(long, default_value = DEFAULT_OUT)]
        out: PathBuf,
        /// Quirks of the embedded reference implementation (to watch checks fail); each applies to
        /// the component of its role (AS, RS or client).
        #[arg(long = "quirk")]
        quirks: Vec<String>,
        /// Variants of the embedded reference implementation (conformant alternatives: no check
        /// may fail under one); each applies to the component of its role.
        #[arg(long = "variant")]
        variants: Vec<String>,
        /// Without --target: only these roles' suites (as, rs, client; repeatable). Default: all.
        #[arg(long = "role", value_parser = ["as", "rs", "client"])]
        roles: Vec<String>,
        /// Without --target: the embedded reference serves HTTPS (certificates of a test CA made for the run), so TLS checks run too.
        #[arg(long)]
        tls: bool,
        #[command(flatten)]
        gate: Gate,
    },
    /// List the scenarios (or the requirements, or the capabilities).
    List {
        /// List the requirement catalogue instead.
        #[arg(long)]
        requirements: bool,
        /// List the capabilities a profile can claim.
        #[arg(long)]
        capabilities: bool,
    },
    /// Validate scenario files and target profiles.
    Validate {
        /// Target profiles to validate too.
        targets: Vec<PathBuf>,
    },
    /// Re-render report.html, junit.xml and summary.md (and report.json) from a report.json, optionally applying a baseline.
    Report {
        /// The report.json to read.
        report: PathBuf,
        /// Where to write (default: the report's folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Known failures (YAML) to apply; the exit code then follows it.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Write the committed form (as reports/reference/): report.json, report.html and
        /// summary.md with ports, times, durations, ids and tags replaced by placeholders.
        #[arg(long)]
        stable: bool,
    },
    /// Join the report.json of several shards (--shard K/N) of one run into one, and render it.
    Merge {
        /// The shard reports.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where to write the joined reports.
        #[arg(long, default_value = DEFAULT_OUT)]
        out: PathBuf,
        /// Known failures (YAML) to apply to the joined report.
        #[arg(long)]
        baseline: Option<PathBuf>,
    },
    /// Put several implementations side by side: matrix.html and matrix.json from their report.json files.
    Matrix {
        /// The report.json files (or the folders holding them), one per implementation.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where to write matrix.html and matrix.json.
        #[arg(long, default_value = DEFAULT_OUT)]
        out: PathBuf,
        /// Rows: one per requirement, or one per scenario.
        #[arg(long, default_value = "requirement", value_parser = ["requirement", "scenario"])]
        by: String,
    },
    /// Write an evidence bundle (.tar.gz: every report format, the redacted target profile, a SHA-256 manifest) from a report.json.
    Bundle {
        /// The report.json, or the folder holding it.
        #[arg(default_value = DEFAULT_OUT)]
        report: PathBuf,
        /// The bundle to write (default: evidence.tar.gz beside the report).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check an evidence bundle: every file against its SHA-256 in the manifest.
    Verify {
        /// The bundle.
        bundle: PathBuf,
    },
    /// Regenerate reports/reference/: every suite against the embedded reference, --strict, with stable values.
    ReferenceReport {
        /// Where to write.
        #[arg(long, default_value = "reports/reference")]
        out: PathBuf,
    },
    /// Prove every check both ways: it fails under each quirk of the reference that breaks its
    /// requirement, and nothing fails, warns or errors under any variant (a conformant
    /// alternative).
    Selftest {
        /// Where to write selftest.json.
        #[arg(long, default_value = DEFAULT_OUT)]
        out: PathBuf,
        /// Only these quirks (with no --quirk and no --variant: every quirk and every variant).
        #[arg(long = "quirk")]
        quirks: Vec<String>,
        /// Only these variants.
        #[arg(long = "variant")]
        variants: Vec<String>,
    },
    /// Regenerate the JSON Schemas of the file formats into fixtures/schemas/.
    Schemas,
    /// Write the suites and fixtures built into this binary into DIR (suites/, fixtures/; never overwriting a file), to edit scenarios and run them with --suites.
    Export { dir: PathBuf },
}

/// The default output folder (ignored by git).
const DEFAULT_OUT: &str = "reports/latest";

/// What gates a CI run: known failures, shards, the evidence bundle.
#[derive(clap::Args, Debug)]
struct Gate {
    /// Known failures (YAML, fixtures/schemas/baseline.schema.json): listed failures do not fail the run; unlisted ones exit 1; a listed failure that passes or an expired entry exits 4.
    #[arg(long, env = "UMA_BASELINE")]
    baseline: Option<PathBuf>,
    /// Write the run's failures as a starting baseline to this file.
    #[arg(long)]
    write_baseline: Option<PathBuf>,
    /// Run only share K of N of the selected scenarios (deterministic by trial name); join the reports with `merge`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Also write the evidence bundle (.tar.gz) to this file.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Failures of profile checks (ICG+PKCE, ICG+iss: not UMA conformance) fail the run too; by default the exit code follows UMA conformance alone.
    #[arg(long)]
    gate_profiles: bool,
}

/// Parses quirk or variant names.
fn parse_names<T: std::str::FromStr<Err: std::fmt::Display>>(names: &[String]) -> Result<Vec<T>, String> {
    names.iter().map(|n| n.parse().map_err(|e| format!("{e}"))).collect()
}

fn main() -> ExitCode {
    let version: &'static str = Box::leak(info::long_version().into_boxed_str());
    let matches = Cli::command().version(version).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR as u8);
        }
    };
    let code = rt.block_on(real_main(cli));
    ExitCode::from(code as u8)
}

async fn real_main(cli: Cli) -> i32 {
    let base = cli.sources.request();
    match cli.command {
        Command::Run {
            target,
            filter,
            jobs,
            strict,
            out,
            quirks,
            variants,
            roles,
            tls,
            gate,
        } => {
            let roles: Vec<Role> = roles.iter().filter_map(|r| r.parse().ok()).collect();
            let (baseline, shard) = match prepare_gate(&gate, &out) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let (quirks, variants) = match (parse_names(&quirks), parse_names(&variants)) {
                (Ok(q), Ok(v)) => (q, v),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("error: {e}");
                    return exit::CONFIG;
                }
            };
            if target.is_none() {
                eprintln!(
                    "note: no --target given: running every suite against the embedded reference implementation (AS, RS and client)"
                );
            }
            let req = RunRequest {
                target,
                filter,
                strict,
                jobs,
                quirks,
                variants,
                roles,
                shard,
                gate_profiles: gate.gate_profiles,
                tls,
                artifacts: Some(out.clone()),
                ..base
            };
            let tty = std::io::stderr().is_terminal();
            // The suites are parsed here only for the baseline's check and the progress bar's
            // length (the run parses them again): a one-scenario run without either skips it.
            let loaded = (baseline.is_some() || tty)
                .then(|| uma_conformance::load(&req).ok())
                .flatten();
            if let (Some(b), Some((catalogue, scenarios))) = (&baseline, &loaded)
                && let Err(e) = b.check_against(scenarios.iter().map(|s| s.id.as_str()), catalogue)
            {
                eprintln!("{e}");
                return exit::CONFIG;
            }
            let bar = if tty {
                let b = indicatif::ProgressBar::new(0);
                b.set_style(
                    indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                Some(b)
            } else {
                None
            };
            if let (Some(b), Some((_, sc))) = (&bar, &loaded) {
                b.set_length(sc.len() as u64);
            }
            let b2 = bar.clone();
            let progress = move |s: &uma_conformance::ScenarioResult| match &b2 {
                Some(b) => {
                    b.inc(1);
                    b.set_message(s.trial.clone());
                }
                None => eprintln!("{}", report::console::line(s)),
            };
            let result = uma_conformance::run::interrupt::run_until(&req, progress, interrupt::signal()).await;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let (ended, redactor) = match result {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return e.exit_code();
                }
            };
            finish_run(ended, &redactor, &req, baseline.as_ref(), &gate, &out)
        }
        Command::List {
            requirements,
            capabilities,
        } => {
            let req = base;
            if capabilities {
                for c in uma_conformance::suite::Capability::ALL {
                    say!("{:20} {}", c.as_str(), c.description());
                }
                return exit::PASS;
            }
            match uma_conformance::load(&req) {
                Err(e) => {
                    eprintln!("error: {e}");
                    e.exit_code()
                }
                Ok((cat, scenarios)) => {
                    if requirements {
                        for r in cat.iter() {
                            say!("{}", uma_conformance::run::listing::requirement_line(r, &scenarios));
                        }
                    } else {
                        for s in scenarios {
                            say!("{:60} {}", s.trial_name, s.title);
                        }
                    }
                    exit::PASS
                }
            }
        }
        Command::Validate { targets } => {
            let mut code = exit::PASS;
            match uma_conformance::load(&base) {
                Ok((_, s)) => say!("{} scenarios valid", s.len()),
                Err(e) => {
                    eprintln!("{e}");
                    code = e.exit_code();
                }
            }
            for t in targets {
                match uma_conformance::validate_target(&t) {
                    Ok(()) => say!("{}: valid", t.display()),
                    Err(e) => {
                        eprintln!("{e}");
                        code = exit::CONFIG;
                    }
                }
            }
            code
        }
        Command::Report {
            report,
            out,
            baseline,
            stable,
        } => {
            let out = out.unwrap_or_else(|| report.parent().map(PathBuf::from).unwrap_or_default());
            rerender(&[report], &out, baseline.as_deref(), stable)
        }
        Command::Merge { reports, out, baseline } => rerender(&reports, &out, baseline.as_deref(), false),
        Command::Matrix { reports, out, by } => said(info::matrix(&reports, &out, by.parse().unwrap_or_default())),
        Command::Bundle { report, output } => said(
            info::bundle(&report, output)
                .map(|(path, hash)| format!("evidence bundle: {} (manifest sha256 {hash})", path.display())),
        ),
        Command::Verify { bundle } => match report::bundle::verify(&bundle) {
            Ok((m, hash)) => {
                say!(
                    "{}: verified: {} files match manifest.json (sha256 {hash}); {} {} at {}, suites {}",
                    bundle.display(),
                    m.files.len(),
                    m.harness,
                    m.version,
                    m.git_commit,
                    m.suites_hash
                );
                exit::PASS
            }
            Err(e @ report::bundle::BundleError::Tampered { .. }) => {
                eprintln!("error: {e}");
                exit::FAIL
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::CONFIG
            }
        },
        Command::ReferenceReport { out } => match uma_conformance::run::reference::write(&out).await {
            Ok(files) => {
                say!("wrote {}", files.join(", "));
                exit::PASS
            }
            Err(e) => {
                eprintln!("error: {e}");
                e.exit_code()
            }
        },
        Command::Selftest { out, quirks, variants } => {
            let (quirks, variants) = match (parse_names(&quirks), parse_names(&variants)) {
                (Ok(q), Ok(v)) => (q, v),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("error: {e}");
                    return exit::CONFIG;
                }
            };
            let everything = quirks.is_empty() && variants.is_empty();
            let selection = uma_conformance::selftest::Selection {
                quirks: (!everything).then_some(quirks),
                variants: (!everything).then_some(variants),
            };
            match uma_conformance::selftest::run(&base, &selection).await {
                Err(e) => {
                    eprintln!("{e}");
                    e.exit_code()
                }
                Ok(st) => {
                    for q in &st.quirks {
                        say!(
                            "{:36} breaks {:9} {} {}",
                            q.quirk,
                            q.breaks,
                            if q.detected { "detected" } else { "NOT DETECTED" },
                            if q.unrelated.is_empty() {
                                String::new()
                            } else {
                                format!("unrelated failures: {}", q.unrelated.join(", "))
                            }
                        );
                    }
                    if !st.baseline_failures.is_empty() {
                        say!(
                            "the reference AS without quirks fails: {:?}",
                            st.baseline_failures.keys().collect::<Vec<_>>()
                        );
                    }
                    for v in &st.variants {
                        say!(
                            "{:36} {:6} {}",
                            v.variant,
                            v.role,
                            if v.clean {
                                format!("clean ({} scenario(s) newly skipped)", v.newly_skipped.len())
                            } else {
                                format!("NEW FINDINGS: {}", v.new_findings.join("; "))
                            }
                        );
                    }
                    say!("testable requirements no quirk breaks: {}", st.uncovered.len());
                    let _ = std::fs::create_dir_all(&out);
                    let path = out.join("selftest.json");
                    if let Err(e) = std::fs::write(&path, serde_json::to_string_pretty(&st).unwrap_or_default()) {
                        eprintln!("error: cannot write {}: {e}", path.display());
                        return exit::ERROR;
                    }
                    say!(
                        "selftest {}: {}",
                        if st.passed { "passed" } else { "FAILED" },
                        path.display()
                    );
                    if st.passed { exit::PASS } else { exit::FAIL }
                }
            }
        }
        Command::Export { dir } => said(info::export(&dir)),
        Command::Schemas => {
            let dir = uma_conformance::run::repo_root().join("fixtures/schemas");
            match uma_conformance::formats::write(&dir) {
                Ok(()) => {
                    say!("wrote {}", dir.display());
                    exit::PASS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::ERROR
                }
            }
        }
    }
}

// Reports for certifiers and CI gating (issue 10): baselines, re-rendering, merging, bundles.

use uma_conformance::baseline::Baseline;
use uma_conformance::report::Context;
use uma_conformance::run::info;
use uma_conformance::run::interrupt::{self, Ended};

/// Loads the baseline and parses the shard, and checks `out` is writable, before anything runs.
fn prepare_gate(
    gate: &Gate,
    out: &std::path::Path,
) -> Result<(Option<Baseline>, Option<uma_conformance::run::shard::Shard>), i32> {
    let fail = |e: String| {
        eprintln!("{e}");
        exit::CONFIG
    };
    let baseline = gate
        .baseline
        .as_deref()
        .map(Baseline::load)
        .transpose()
        .map_err(|e| fail(e.to_string()))?;
    let shard = gate
        .shard
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| fail(format!("error: --shard: {e}")))?;
    report::check_writable(out).map_err(|e| {
        fail(format!(
            "error: --out {} is not writable: {e}: {}",
            out.display(),
            e.source
        ))
    })?;
    Ok((baseline, shard))
}

fn finish_run(
    ended: Ended,
    redactor: &uma_conformance::Redactor,
    req: &RunRequest,
    baseline: Option<&Baseline>,
    gate: &Gate,
    out: &std::path::Path,
) -> i32 {
    let catalogue = uma_conformance::Catalogue::load(&req.catalogue).unwrap_or_default();
    let ctx = Context::new(&catalogue);
    let (mut report, stopped) = match ended {
        Ended::Finished(r) => (r, None),
        Ended::Stopped(r, why) => (r, Some(why)),
    };
    if let Some(b) = baseline {
        b.apply(&mut report, info::today());
    }
    if let Some(why) = stopped {
        eprintln!(
            "interrupted: writing the {} finished scenarios as an incomplete report",
            report.scenarios.len()
        );
        match report::write_all(&report, redactor, &ctx, out) {
            Ok(files) => eprintln!("reports (incomplete): {}", files.join(", ")),
            Err(e) => eprintln!("error: {e}: {}", e.source),
        }
        return why.exit_code();
    }
    let findings = report::console::findings(&report, |id| catalogue.get(id).map(|r| r.url.clone()));
    say!("{}", redactor.text(&findings).trim_end());
    say!("{}", redactor.text(&report::console::summary(&report)));
    if let Some(b) = &report.baseline {
        let stale: Vec<String> = b.stale().map(|e| format!("{} {:?}", e.scenario, e.state)).collect();
        say!(
            "baseline {}: {} known failures, {} new, {} stale {}",
            b.file,
            b.known.len(),
            b.new_failures,
            stale.len(),
            stale.join("; ")
        );
    }
    match report::write_all(&report, redactor, &ctx, out) {
        Ok(files) => say!("reports: {}", files.join(", ")),
        Err(e) => {
            eprintln!("error: {e}: {}", e.source);
            return exit::ERROR;
        }
    }
    // Redacted again only for what needs it (write_all redacted its own copy).
    let clean = std::cell::LazyCell::new(|| redactor.report(&report));
    if let Some(path) = &gate.write_baseline {
        if let Err(e) = std::fs::write(path, uma_conformance::baseline::write(&clean, info::today())) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return exit::ERROR;
        }
        say!("baseline written: {}", path.display());
    }
    if let Some(path) = &gate.bundle {
        match report::bundle::write(&clean, &ctx, &info::git_commit(), &report.run.catalogue_hash, path) {
            Ok(hash) => say!("evidence bundle: {} (manifest sha256 {hash})", path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
        }
    }
    exit::of(&report)
}

/// `report` and `merge`: read, join, apply a baseline, write every format; exit as the run would.
fn rerender(files: &[PathBuf], out: &std::path::Path, baseline: Option<&std::path::Path>, stable: bool) -> i32 {
    let write = if stable { info::rerender_stable } else { info::rerender };
    let done = info::gather(files, baseline).and_then(|r| write(&r, out).map(|f| (r, f)));
    match done {
        Ok((report, files)) => {
            say!("reports: {}", files.join(", "));
            say!("{}", report::console::summary(&report));
            exit::of(&report)
        }
        Err((code, e)) => {
            complain(&e);
            code
        }
    }
}

/// Prints what a command did, or its error; returns its exit code.
fn said(done: Result<String, info::Failed>) -> i32 {
    match done {
        Ok(text) => {
            say!("{text}");
            exit::PASS
        }
        Err((code, e)) => {
            complain(&e);
            code
        }
    }
}

/// Prints an error once prefixed (diagnostics carry their own `error:`).
fn complain(e: &str) {
    if e.starts_with("error") {
        eprintln!("{e}");
    } else {
        eprintln!("error: {e}");
    }
}
