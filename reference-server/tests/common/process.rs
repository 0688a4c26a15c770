//! A real `uma-reference-server` process for tests: started on a free port, its issuer read from
//! the first stdout line (bounded wait), stopped with SIGTERM (bounded wait), killed on drop.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The server binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_uma-reference-server");
/// How long the server may take to print its issuer.
pub const STARTUP: Duration = Duration::from_secs(60);
/// How long a graceful stop may take.
pub const STOP: Duration = Duration::from_secs(20);

/// A running `uma-reference-server` process; killed on drop unless it was stopped.
pub struct AsProcess {
    child: Option<Child>,
    /// The issuer URL the process printed.
    pub issuer: String,
    log: PathBuf,
}

impl AsProcess {
    /// Starts the binary on a free port with `args` and waits for its issuer line.
    pub fn start(args: &[OsString], log: PathBuf) -> Self {
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(BIN)
            .args(["--port", "0"])
            .args(args)
            .env("RUST_LOG", "uma_reference_server=debug")
            .env_remove("UMA_AS_CONFIG")
            .env_remove("UMA_AS_PORT")
            .env_remove("UMA_AS_DATA_DIR")
            .env_remove("UMA_AS_DURABILITY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut guard = Self {
            child: Some(child),
            issuer: String::new(),
            log,
        };
        // Read stdout on a thread (and keep draining it) so the wait below is bounded.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // After the first line nobody listens; the loop keeps draining so the child never
            // blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let first = match rx.recv_timeout(STARTUP) {
            Ok(l) => l,
            Err(e) => panic!("no issuer line within {STARTUP:?} ({e}); log:\n{}", guard.log_text()),
        };
        assert!(
            first.starts_with("http://127.0.0.1:"),
            "the first stdout line is not a loopback issuer: {first:?}; log:\n{}",
            guard.log_text()
        );
        guard.issuer = first.trim_end_matches('/').to_owned();
        guard
    }

    /// An URL under the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// What the process logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (bounded) for a successful exit.
    pub fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        if !matches!(sent, Ok(s) if s.success()) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("could not send SIGTERM to {pid}: {sent:?}");
        }
        let deadline = Instant::now() + STOP;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    assert!(
                        status.success(),
                        "unclean exit after SIGTERM: {status}; log:\n{}",
                        self.log_text()
                    );
                    return;
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                other => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "no graceful exit within {STOP:?} ({other:?}); log:\n{}",
                        self.log_text()
                    );
                }
            }
        }
    }
}

impl Drop for AsProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                eprintln!("server log ({}):\n{}", self.issuer, self.log_text());
            }
        }
    }
}

impl AsProcess {
    /// Sends SIGKILL to the process (by its PID) and reaps it; returns the instant just before
    /// the signal was sent. Nothing is flushed: this is a crash.
    pub fn kill9(mut self) -> Instant {
        let mut child = self.child.take().expect("running");
        let at = Instant::now();
        // `Child::kill` is `kill(pid, SIGKILL)` on Unix.
        child.kill().expect("SIGKILL is delivered");
        let status = child.wait().expect("the killed process is reaped");
        assert!(
            !status.success(),
            "the process exited normally instead of being killed: {status}"
        );
        at
    }
}
