//! The `manual` claims-gathering driver: a person completes the AS's claims page, for pages no
//! script can drive.
//!
//! The harness listens on the loopback port of the client's claims redirection URI (the
//! profile's `claims_redirect_uris`, registered at the AS, e.g.
//! `http://127.0.0.1:8765/harness-client/claims`) and prints a one-time link on that port; the
//! link redirects to the claims interaction URL. The URL itself (it carries the permission
//! ticket and `state`) is never printed. When the AS redirects the person's browser back to
//! the claims redirection URI, the harness has its answer. A pass is bounded (120 s by
//! default); past it, the scenario is an `error`, never a `fail`. Passes run one at a time.
//!
//! No QR code is printed: the callback is on loopback, so a phone that scanned it could not
//! come back, and a code for the claims URL itself would put the ticket on the screen.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The most of a request's head the listener reads.
const MAX_HEAD: usize = 8 << 10;
/// How long one connection may take to send its head.
const READ_HEAD: Duration = Duration::from_secs(5);

/// One pass through the claims pages by a person.
#[derive(Debug, Clone)]
pub struct ManualPass {
    /// The claims interaction URL (never printed).
    pub start: String,
    /// The claims redirection URI (its query, if any, is ignored).
    pub back: String,
    /// What to tell the person (no secret in it).
    pub task: String,
    /// The bound of the pass.
    pub timeout: Duration,
}

/// Where the claims redirection URI makes the harness listen: its loopback port and path.
pub fn callback_of(back: &str) -> Result<(u16, String), String> {
    let refuse = || {
        format!(
            "the manual driver receives the redirect back itself, so the client's claims redirection URI must be \
             http://127.0.0.1:PORT/... with a port (and be registered at the AS); it is {}",
            super::browser::shown(back)
        )
    };
    let u = url::Url::parse(back).map_err(|_| refuse())?;
    let loopback = u.host_str().is_some_and(crate::net::is_loopback_host);
    match (u.scheme(), loopback, u.port()) {
        ("http", true, Some(port)) => Ok((port, u.path().to_string())),
        _ => Err(refuse()),
    }
}

/// Runs one pass: listens, prints the link, waits for the redirect back. Returns the URL the
/// AS sent the person's browser to.
pub async fn run(pass: &ManualPass, mut say: impl FnMut(&str)) -> Result<String, String> {
    let (port, path) = callback_of(&pass.back)?;
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("the manual driver cannot listen on 127.0.0.1:{port}: {e}"))?;
    let nonce = crate::uma::pkce::generate_verifier();
    let nonce = &nonce[..24.min(nonce.len())];
    let link = format!("http://127.0.0.1:{port}/go/{nonce}");
    say(&format!(
        "{}\n    open {link}\n    (within {} s; the link works once)",
        pass.task,
        pass.timeout.as_secs()
    ));
    let deadline = Instant::now() + pass.timeout;
    let mut followed = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(accepted) = tokio::time::timeout(left, listener.accept()).await else {
            return Err(format!(
                "nobody completed the claims page within {} s (the link was {})",
                pass.timeout.as_secs(),
                if followed { "followed" } else { "never followed" }
            ));
        };
        let Ok((mut stream, _)) = accepted else { continue };
        let Some(target) = read_target(&mut stream).await else {
            continue;
        };
        if !followed && target == format!("/go/{nonce}") {
            followed = true;
            respond(&mut stream, "302 Found", &[("location", &pass.start)], "").await;
        } else if target.split(['?', '#']).next() == Some(path.as_str()) {
            respond(
                &mut stream,
                "200 OK",
                &[("content-type", "text/plain; charset=utf-8")],
                "uma-conformance received the redirect back: you may close this page.\n",
            )
            .await;
            return Ok(format!("http://127.0.0.1:{port}{target}"));
        } else {
            respond(&mut stream, "404 Not Found", &[], "").await;
        }
    }
}

/// The request target of a `GET` (the head read bounded in size and time).
async fn read_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    tokio::time::timeout(READ_HEAD, read).await.ok()??;
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.lines().next()?.split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(t)) if t.starts_with('/') => Some(t.to_string()),
        _ => None,
    }
}

async fn respond(stream: &mut tokio::net::TcpStream, status: &str, headers: &[(&str, &str)], body: &str) {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    let _ = stream.write_all(text.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_must_be_a_loopback_http_uri_with_a_port() {
        assert_eq!(
            callback_of("http://127.0.0.1:8765/harness-client/claims").unwrap(),
            (8765, "/harness-client/claims".to_string())
        );
        for bad in [
            "https://client.example/claims",
            "http://127.0.0.1/claims",
            "http://10.0.0.1:8765/claims",
        ] {
            assert!(callback_of(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_pass_nobody_completes_ends_at_its_bound_with_the_cause() {
        // Arrange
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pass = ManualPass {
            start: "http://127.0.0.1:9/claims?ticket=t".into(),
            back: format!("http://127.0.0.1:{port}/cb"),
            task: "complete the page".into(),
            timeout: Duration::from_millis(300),
        };
        let mut said = String::new();

        // Act
        let e = run(&pass, |s| said.push_str(s)).await.unwrap_err();

        // Assert
        assert!(e.contains("within 0 s") || e.contains("nobody completed"), "{e}");
        assert!(e.contains("never followed"), "{e}");
        assert!(!said.contains("ticket"), "{said}");
    }

    #[tokio::test]
    async fn the_link_redirects_to_the_claims_page_and_the_callback_ends_the_pass() {
        // Arrange
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pass = ManualPass {
            start: "http://127.0.0.1:9/claims?ticket=t".into(),
            back: format!("http://127.0.0.1:{port}/cb"),
            task: "complete the page".into(),
            timeout: Duration::from_secs(10),
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let mut tx = Some(tx);
        let person = tokio::spawn(async move {
            let link = rx.await.unwrap();
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let go = http.get(&link).send().await.unwrap();
            let to = go.headers()["location"].to_str().unwrap().to_string();
            let again = http.get(&link).send().await.unwrap().status();
            let back = http
                .get(format!("http://127.0.0.1:{port}/cb?ticket=new&state=s"))
                .send()
                .await
                .unwrap();
            (to, again, back.status())
        });

        // Act
        let arrived = run(&pass, |s| {
            let link = s.split_whitespace().find(|w| w.contains("/go/")).unwrap().to_string();
            tx.take().unwrap().send(link).unwrap();
        })
        .await
        .unwrap();
        let (to, again, back) = person.await.unwrap();

        // Assert
        assert_eq!(to, "http://127.0.0.1:9/claims?ticket=t");
        assert_eq!(again, reqwest::StatusCode::NOT_FOUND);
        assert_eq!(back, reqwest::StatusCode::OK);
        assert_eq!(arrived, format!("http://127.0.0.1:{port}/cb?ticket=new&state=s"));
    }
}
