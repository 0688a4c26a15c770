//! `uma-conformance`: run the UMA 2.0 conformance suites against a target.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
#[command(version, about)]
struct Cli {
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
        /// Where to write report.json and junit.xml.
        #[arg(long, default_value = "uma-report")]
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
    /// Prove every check both ways: it fails under each quirk of the reference that breaks its
    /// requirement, and nothing fails, warns or errors under any variant (a conformant
    /// alternative).
    Selftest {
        /// Where to write selftest.json.
        #[arg(long, default_value = "uma-report")]
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
}

fn parse_quirks(names: &[String]) -> Result<Vec<uma_reference_server::Quirk>, String> {
    names.iter().map(|n| n.parse().map_err(|e| format!("{e}"))).collect()
}

fn parse_variants(names: &[String]) -> Result<Vec<uma_reference_server::variants::Variant>, String> {
    names.iter().map(|n| n.parse().map_err(|e| format!("{e}"))).collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        } => {
            let roles: Vec<Role> = roles.iter().filter_map(|r| r.parse().ok()).collect();
            let (quirks, variants) = match (parse_quirks(&quirks), parse_variants(&variants)) {
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
                ..RunRequest::default()
            };
            let tty = std::io::stderr().is_terminal();
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
            if let (Some(b), Ok((_, sc))) = (&bar, uma_conformance::load(&req)) {
                b.set_length(sc.len() as u64);
            }
            let b2 = bar.clone();
            let result = uma_conformance::run_with(&req, move |s| match &b2 {
                Some(b) => {
                    b.inc(1);
                    b.set_message(s.trial.clone());
                }
                None => eprintln!("{}", report::console::line(s)),
            })
            .await;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let (report, redactor) = match result {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return e.exit_code();
                }
            };
            let catalogue = uma_conformance::Catalogue::load(&req.catalogue).unwrap_or_default();
            let findings = report::console::findings(&report, |id| catalogue.get(id).map(|r| r.url.clone()));
            say!("{}", redactor.text(&findings).trim_end());
            say!("{}", redactor.text(&report::console::summary(&report)));
            match report::write_all(&report, &redactor, &out) {
                Ok(files) => say!("reports: {}", files.join(", ")),
                Err(e) => {
                    eprintln!("error: {e}: {}", e.source);
                    return exit::ERROR;
                }
            }
            exit::of(&report)
        }
        Command::List {
            requirements,
            capabilities,
        } => {
            let req = RunRequest::default();
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
                            let note = r
                                .untestable
                                .as_deref()
                                .map(|u| format!(" [untestable: {u}]"))
                                .unwrap_or_default();
                            say!(
                                "{:10} {:11} {:6} {}{note}",
                                r.id,
                                format!("{:?}", r.keyword),
                                r.role.as_str(),
                                r.summary
                            );
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
            match uma_conformance::load(&RunRequest::default()) {
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
        Command::Selftest { out, quirks, variants } => {
            let (quirks, variants) = match (parse_quirks(&quirks), parse_variants(&variants)) {
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
            match uma_conformance::selftest::run(&RunRequest::default(), &selection).await {
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
