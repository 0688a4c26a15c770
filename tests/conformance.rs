//! Every scenario of `suites/` as one trial against the embedded reference implementation, in
//! strict mode: AS scenarios against the reference AS, RS scenarios against the reference RS and
//! client scenarios against the reference client (the harness playing their counterparts).
//! `cargo test` runs every suite and `cargo test rs::challenge` filters by name.

use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use uma_conformance::report::console;
use uma_conformance::{RunRequest, Session, Verdict};

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
    let session = match rt.block_on(Session::prepare(&req)) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let scenarios: Vec<_> = session.scenarios().map(|(s, _)| s.clone()).collect();
    let mut trials = Vec::new();
    for scenario in scenarios {
        let rt = rt.clone();
        let session = session.clone();
        let name = scenario.trial_name.clone();
        let kind = scenario.role.as_str();
        trials.push(
            Trial::test(name, move || {
                let report = rt.block_on(session.run_one(&scenario));
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
