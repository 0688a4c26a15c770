//! `uma-conformance` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use uma_conformance::{Verdict, discovery_checks, report, write_report};
use uma_reference_server::{Config, Server};

/// Conformance test suite and interop harness for UMA 2.0.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the checks. Without --issuer, against the embedded reference AS.
    Run {
        /// Issuer URL of the AS under test.
        #[arg(long, env = "UMA_TARGET_ISSUER")]
        issuer: Option<String>,
        /// Directory for the reports.
        #[arg(long, default_value = "uma-report")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Run { issuer, out } = cli.command;
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    rt.block_on(async move {
        let (target, server) = match issuer {
            Some(i) => (i, None),
            None => match Server::builder(Config::demo()).memory().start().await {
                Ok(s) => (s.issuer().to_owned(), Some(s)),
                Err(e) => {
                    eprintln!("error: failed to start the embedded reference AS: {e}");
                    return ExitCode::from(3);
                }
            },
        };
        let checks = discovery_checks(&target).await;
        for c in &checks {
            println!(
                "{:<5} {:<8} {}",
                format!("{:?}", c.verdict).to_lowercase(),
                c.requirement,
                c.title
            );
        }
        let rep = report(&target, checks);
        if let Some(s) = server {
            s.shutdown().await;
        }
        if let Err(e) = write_report(&out, &rep) {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
        println!(
            "{} passed, {} failed, {} errors; report: {}",
            rep.summary.pass,
            rep.summary.fail,
            rep.summary.error,
            out.join("report.json").display()
        );
        if rep.checks.iter().any(|c| c.verdict == Verdict::Error) {
            ExitCode::from(3)
        } else if rep.summary.fail > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    })
}
