//! Running a client's `start_command` (a client without a web front end): once per `browse`
//! step, bounded in time and in what it may print, and recorded as an exchange of the report
//! (method `EXEC`, the command line as its URL, stdout as the response body, the exit status and
//! stderr in `command`), so a reader sees what the client was asked and what it said.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

use super::ctx::ScenarioCtx;
use super::error::StepError;
use crate::check::Response;
use crate::outcome::{CommandRun, Exchange};
use crate::profile::peer::StartCommand;

/// The most of stdout kept (the answer; the rest is read and dropped).
const MAX_STDOUT: usize = 1 << 20;
/// The most of stderr kept for the report.
const MAX_STDERR: usize = 16 << 10;
/// Default seconds before the command is killed.
const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// Reads a stream to its end, keeping at most `cap` bytes.
async fn read_capped(mut r: impl AsyncRead + Unpin, cap: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// Replaces the placeholders (`{resource}`, `{user}`, `{id_token}`, `{access_token}`) in each
/// argument, as they are (no encoding: each is one argument).
pub(super) fn arguments(cmd: &StartCommand, values: &[(&str, &str)]) -> Vec<String> {
    cmd.command
        .iter()
        .map(|a| {
            values
                .iter()
                .fold(a.clone(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v))
        })
        .collect()
}

/// Runs the command once and records the run. Exit status 0 answers 200 (stdout is the answer,
/// parsed as JSON when it is); any other end answers 500. A command that cannot start or that
/// outlives its timeout is a harness error (`StepError`), recorded all the same.
pub(super) async fn run(
    ctx: &mut ScenarioCtx<'_>,
    cmd: &StartCommand,
    values: &[(&str, &str)],
) -> Result<Response, StepError> {
    let args = arguments(cmd, values);
    let Some((prog, rest)) = args.split_first() else {
        return Err(StepError::unusable("`start_command.command` is empty"));
    };
    let timeout = Duration::from_secs(cmd.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS));
    let started = Instant::now();
    let mut ex = Exchange {
        step: ctx.step,
        method: "EXEC".into(),
        url: args.join(" "),
        ..Exchange::default()
    };
    let spawned = tokio::process::Command::new(prog)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            ex.transport_error = Some(format!("cannot run {prog}: {e}"));
            ctx.exchanges.push(ex);
            return Err(StepError::unusable(format!(
                "cannot run the client command {prog}: {e}"
            )));
        }
    };
    let (out, err) = (child.stdout.take(), child.stderr.take());
    let finished = tokio::time::timeout(timeout, async {
        let read_out = async {
            match out {
                Some(o) => read_capped(o, MAX_STDOUT).await,
                None => Vec::new(),
            }
        };
        let read_err = async {
            match err {
                Some(e) => read_capped(e, MAX_STDERR).await,
                None => Vec::new(),
            }
        };
        let (stdout, stderr) = tokio::join!(read_out, read_err);
        (child.wait().await, stdout, stderr)
    })
    .await;
    ex.duration_ms = started.elapsed().as_millis() as u64;
    let Ok((status, stdout, stderr)) = finished else {
        // Dropping the child (kill_on_drop) kills it.
        ex.command = Some(CommandRun {
            exit_status: None,
            stderr: String::new(),
            timed_out: true,
        });
        ctx.exchanges.push(ex);
        return Err(StepError::unusable(format!(
            "the client command did not finish within {} s",
            timeout.as_secs()
        )));
    };
    let exit_status = status.ok().and_then(|s| s.code());
    let text = String::from_utf8_lossy(&stdout).into_owned();
    ex.status = Some(if exit_status == Some(0) { 200 } else { 500 });
    ex.response_body = (!text.is_empty()).then(|| text.clone());
    ex.command = Some(CommandRun {
        exit_status,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out: false,
    });
    ctx.exchanges.push(ex);
    Ok(Response {
        status: if exit_status == Some(0) { 200 } else { 500 },
        json: serde_json::from_str(&text).ok(),
        text,
        exchange: ctx.exchanges.len().checked_sub(1),
        ..Response::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_in_every_argument_as_they_are() {
        let cmd = StartCommand {
            command: vec!["client".into(), "--get={resource}".into(), "{access_token}".into()],
            timeout_seconds: None,
        };
        let args = arguments(&cmd, &[("resource", "http://rs/a b"), ("access_token", "tok")]);
        assert_eq!(args, ["client", "--get=http://rs/a b", "tok"]);
    }
}
