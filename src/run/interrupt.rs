//! Ctrl-C and SIGTERM during a run: the scenarios finished so far become a partial report
//! marked `incomplete`, which the CLI writes before it exits with 130 (SIGINT) or 143 (SIGTERM).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{Prepared, RunError, RunRequest, Session, suites_hash};
use crate::outcome::{REPORT_SCHEMA, Report, RunInfo, ScenarioResult};
use crate::redact::Redactor;
use crate::status;

/// Why a run stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Stop {
    /// 130 or 143.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Interrupt => status::INTERRUPTED,
            Self::Terminate => status::TERMINATED,
        }
    }
}

/// Waits for Ctrl-C or (on Unix) SIGTERM. On Unix the handlers are installed when it is called,
/// not when the future is first polled: a signal that came after the call and before that poll
/// (a run's first progress line can be printed in between) would otherwise end the process
/// with no report at all.
pub fn signal() -> impl Future<Output = Stop> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut int), Ok(mut term)) => tokio::select! {
                    _ = int.recv() => Stop::Interrupt,
                    _ = term.recv() => Stop::Terminate,
                },
                (Ok(mut int), Err(_)) => {
                    int.recv().await;
                    Stop::Interrupt
                }
                (Err(_), Ok(mut term)) => {
                    term.recv().await;
                    Stop::Terminate
                }
                (Err(_), Err(_)) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            Stop::Interrupt
        }
    }
}

/// How a run ended.
#[derive(Debug)]
pub enum Ended {
    /// Every scenario ran.
    Finished(Report),
    /// Stopped early: the report holds the scenarios finished by then and is `incomplete`.
    Stopped(Report, Stop),
}

impl Session {
    /// The report of this session with no scenario yet (run info, targets, preflight).
    fn skeleton(&self) -> Report {
        let empty = self
            .roles
            .iter()
            .map(|(role, p)| {
                let p = Prepared {
                    env: None,
                    preflight: p.preflight.clone(),
                    target: p.target.clone(),
                    scenarios: Vec::new(),
                    worlds: None,
                };
                (*role, p, Vec::new())
            })
            .collect();
        self.assemble(empty)
    }
}

fn bare(req: &RunRequest) -> Report {
    Report {
        schema: REPORT_SCHEMA.into(),
        run: RunInfo {
            harness: "uma-conformance".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: jiff::Timestamp::now().to_string(),
            strict: req.strict,
            jobs: req.jobs,
            filter: req.filter.clone(),
            suites_hash: suites_hash(&req.suites),
            shard: req.shard.map(|s| s.to_string()),
            ..RunInfo::default()
        },
        ..Report::default()
    }
}

/// Runs like [`super::run_with`] until `stop` resolves; then returns the partial report.
pub async fn run_until(
    req: &RunRequest,
    progress: impl Fn(&ScenarioResult) + Send + Sync + 'static,
    stop: impl Future<Output = Stop>,
) -> Result<(Ended, Arc<Redactor>), RunError> {
    let started = Instant::now();
    let done: Arc<Mutex<Vec<ScenarioResult>>> = Arc::default();
    let seen = done.clone();
    let progress = move |s: &ScenarioResult| {
        if let Ok(mut d) = seen.lock() {
            d.push(s.clone());
        }
        progress(s);
    };
    tokio::pin!(stop);
    let session = tokio::select! {
        s = Session::prepare(req) => s?,
        why = &mut stop => {
            let mut r = bare(req);
            r.incomplete = true;
            return Ok((Ended::Stopped(r, why), Arc::new(Redactor::new())));
        }
    };
    let redactor = session.redactor.clone();
    let mut partial = session.skeleton();
    tokio::select! {
        report = session.run(progress) => Ok((Ended::Finished(report), redactor)),
        why = &mut stop => {
            partial.scenarios = done.lock().map(|d| d.clone()).unwrap_or_default();
            partial.scenarios.sort_by(|a, b| a.trial.cmp(&b.trial));
            partial.incomplete = true;
            partial.run.duration_ms = started.elapsed().as_millis() as u64;
            partial.summarise();
            Ok((Ended::Stopped(partial, why), redactor))
        }
    }
}
