//! Every scenario of `suites/` as one trial against the embedded reference implementation, in
//! strict mode: AS scenarios against the reference AS, RS scenarios against the reference RS and
//! client scenarios against the reference client (the harness playing their counterparts).
//! `cargo test` runs every suite and `cargo test rs::challenge` filters by name.

use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use uma_conformance::report::{Verdict, console};
use uma_conformance::{RunRequest, embedded_env};

fn main() {
    let args = Arguments::from_args();
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("the tokio runtime starts"),
    );
    let req = RunRequest {
        strict: true,
        ..RunRequest::default()
    };
    let embedded = match rt.block_on(embedded_env(&req)) {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut trials = Vec::new();
    for (i, s) in embedded.scenarios.iter().enumerate() {
        let rt = rt.clone();
        let embedded = embedded.clone();
        let name = s.trial_name.clone();
        let kind = s.role.as_str();
        trials.push(
            Trial::test(name, move || {
                let scenario = &embedded.scenarios[i];
                let env = embedded
                    .env_for(scenario)
                    .ok_or("no environment for the scenario's role")?;
                let report = rt.block_on(uma_conformance::engine::run_scenario(env, scenario));
                match report.verdict {
                    Verdict::Pass | Verdict::Skip => Ok(()),
                    _ => {
                        let mut msg = format!(
                            "{} ({})\n",
                            report.verdict.as_str(),
                            report.reason.clone().unwrap_or_default()
                        );
                        for c in report
                            .checks
                            .iter()
                            .filter(|c| !matches!(c.verdict, Verdict::Pass | Verdict::Skip))
                        {
                            msg.push_str(&console::finding(&report, c, None));
                        }
                        Err(Failed::from(msg))
                    }
                }
            })
            .with_kind(kind),
        );
    }
    libtest_mimic::run(&args, trials).exit();
}
