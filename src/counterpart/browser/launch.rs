//! Starting chromedriver on a free loopback port, again when it exits at start: a port asked
//! of the kernel and released may be taken before chromedriver binds it (by a counterpart of
//! the same run starting on port 0).

use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use serde_json::Value;

use super::{POLL, STARTUP};

/// How many times chromedriver is started when it exits at start.
pub(super) const LAUNCHES: u32 = 3;

/// Starts chromedriver on a free loopback port and waits until it is ready: `None` when it
/// exited first (its port was taken meanwhile).
pub(super) async fn launch(
    driver_path: &Path,
    http: &reqwest::Client,
) -> Result<Option<(tokio::process::Child, String)>, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free loopback port for chromedriver: {e}"))?
        .port();
    let mut child = tokio::process::Command::new(driver_path)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", driver_path.display()))?;
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{url}/status")).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"] == true
        {
            return Ok(Some((child, url)));
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            return Ok(None);
        }
        if started.elapsed() > STARTUP {
            return Err(format!(
                "chromedriver ({}) did not answer within {} s",
                driver_path.display(),
                STARTUP.as_secs()
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::Browser;

    #[tokio::test]
    async fn a_chromedriver_that_exits_at_start_is_started_again_then_named() {
        // Arrange: a "chromedriver" that notes each start and exits at once, as one whose port
        // was taken does.
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let starts = dir.path().join("starts");
        let driver = dir.path().join("chromedriver");
        std::fs::write(
            &driver,
            format!("#!/bin/sh\necho \"$1\" >> {}\nexit 1\n", starts.display()),
        )
        .unwrap();
        std::fs::set_permissions(&driver, std::fs::Permissions::from_mode(0o755)).unwrap();

        // Act
        let e = Browser::start(driver.to_str(), Some("/bin/sh"), false)
            .await
            .unwrap_err();

        // Assert
        assert!(e.contains("exited at start 3 times"), "{e}");
        let ports = std::fs::read_to_string(&starts).unwrap();
        assert_eq!(ports.lines().count(), 3, "{ports}");
        assert!(ports.lines().all(|l| l.starts_with("--port=")), "{ports}");
    }
}
