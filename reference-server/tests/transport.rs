//! The reference servers on real loopback sockets: what hyper does before a router sees a
//! request. A request head that never completes is cut off (the header-read timeout) by the AS,
//! the RS and the client; and the routers' own JSON 414 and 431 are reached, because hyper's
//! own limits sit above them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use uma_reference_server::client::{ClientConfig, ReferenceClient};
use uma_reference_server::rs::{ResourceServer, RsConfig};
use uma_reference_server::serving::HEADER_READ_TIMEOUT;
use uma_reference_server::types::ClientSecret;
use uma_reference_server::{Config, Server};

/// The header-read timeout the servers under test are configured with.
const HEAD_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a test waits for a connection to be closed: well above the timeout in force, so a
/// loaded machine cannot fail it, and still far below "never".
fn bound(timeout: Duration) -> Duration {
    timeout * 3 + Duration::from_secs(10)
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn the_as() -> Server {
    let mut config = Config::demo();
    config.header_read_timeout_secs = HEAD_TIMEOUT.as_secs();
    Server::builder(config).memory().start().await.expect("the AS starts")
}

/// An address where nothing listens.
async fn dead_issuer() -> String {
    let l = tokio::net::TcpListener::bind(loopback()).await.expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}")
}

/// Reads until the server closes the connection (end of stream or a reset) and returns how long
/// that took; panics if it is still open after `within`.
async fn wait_for_close(stream: &mut TcpStream, started: Instant, within: Duration) -> Duration {
    let mut buf = [0u8; 1024];
    loop {
        let left = within.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the connection is still open after {within:?}"),
        }
    }
}

/// Opens a connection to `addr`, sends a request head that never ends, and returns how long the
/// server took to close the connection (at most `within`).
async fn stalled_head(addr: SocketAddr, within: Duration) -> Duration {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let started = Instant::now();
    stream
        .write_all(b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlen")
        .await
        .expect("sends a partial head");
    wait_for_close(&mut stream, started, within).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_as_closes_a_connection_whose_request_headers_never_end() {
    // Arrange
    let server = the_as().await;

    // Act
    let took = stalled_head(server.local_addr(), bound(HEAD_TIMEOUT)).await;

    // Assert: closed (the wait above panics otherwise).
    println!("the AS closed a stalled request head after {took:?} (timeout {HEAD_TIMEOUT:?})");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_as_closes_a_connection_that_trickles_its_headers_byte_by_byte() {
    // Arrange
    let server = the_as().await;
    let mut stream = TcpStream::connect(server.local_addr()).await.expect("connects");
    let started = Instant::now();
    stream
        .write_all(b"GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .expect("sends the start of a head");
    let (mut read, mut write) = stream.into_split();

    // Act: one more byte of an endless header every 100 ms, until the server hangs up.
    let trickle = tokio::spawn(async move {
        while write.write_all(b"x").await.is_ok() && started.elapsed() < bound(HEAD_TIMEOUT) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = [0u8; 256];
    let closed = loop {
        let left = bound(HEAD_TIMEOUT).saturating_sub(started.elapsed());
        match tokio::time::timeout(left, read.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => break None,
        }
    };
    trickle.abort();

    // Assert: bytes arriving do not extend the deadline.
    let took = closed.unwrap_or_else(|| panic!("still open after {:?}", bound(HEAD_TIMEOUT)));
    println!("the AS closed a trickling request head after {took:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rs_closes_a_connection_whose_request_headers_never_end() {
    // Arrange: the RS needs no AS for this.
    let mut config = RsConfig::new(&dead_issuer().await, "demo-rs", ClientSecret::new("demo-rs-secret"));
    config.header_read_timeout = HEAD_TIMEOUT;
    let rs = ResourceServer::start(config, loopback()).await.expect("the RS starts");
    let addr: SocketAddr = rs
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("a socket address");

    // Act
    let took = stalled_head(addr, bound(HEAD_TIMEOUT)).await;

    // Assert: closed (the wait above panics otherwise), by the configured timeout, not the
    // default one.
    println!("the RS closed a stalled request head after {took:?}");
    assert!(took < HEADER_READ_TIMEOUT, "{took:?}");
    rs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_closes_a_connection_whose_request_headers_never_end() {
    // Arrange
    let mut config = ClientConfig::new("demo-client", ClientSecret::new("demo-client-secret"));
    config.header_read_timeout = HEAD_TIMEOUT;
    let client = ReferenceClient::start(config, loopback())
        .await
        .expect("the client starts");
    let addr: SocketAddr = client
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("a socket address");

    // Act
    let took = stalled_head(addr, bound(HEAD_TIMEOUT)).await;

    // Assert: closed (the wait above panics otherwise), by the configured timeout, not the
    // default one.
    println!("the client closed a stalled request head after {took:?}");
    assert!(took < HEADER_READ_TIMEOUT, "{took:?}");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_requests_are_served_one_after_another_on_one_connection() {
    // Arrange
    let server = the_as().await;
    let mut stream = TcpStream::connect(server.local_addr()).await.expect("connects");
    let request = "GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

    // Act: two requests in one write (pipelined), then read both answers.
    stream
        .write_all(format!("{request}{request}").as_bytes())
        .await
        .expect("sends");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let within = bound(HEAD_TIMEOUT);
    let started = Instant::now();
    while seen.matches("HTTP/1.1 200 OK").count() < 2 {
        let left = within.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            other => panic!("the connection ended before two answers ({other:?}): {seen}"),
        }
    }

    // Assert
    assert_eq!(seen.matches("HTTP/1.1 200 OK").count(), 2, "{seen}");
    server.shutdown().await;
}

/// Sends `req`, expects an OAuth JSON error with `status`, and returns its description.
async fn oauth_error(req: reqwest::RequestBuilder, status: StatusCode) -> String {
    let resp = req.send().await.expect("answers");
    assert_eq!(resp.status(), status);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let body: Value = resp.json().await.expect("a JSON body");
    assert_eq!(body["error"], "invalid_request", "{body}");
    body["error_description"].as_str().expect("a description").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_socket_90_header_fields_get_the_json_431_not_hypers_bare_one() {
    // Arrange
    let server = the_as().await;
    let http = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
    let mut req = http.get(format!("{}/jwks", server.issuer()));
    for i in 0..90 {
        req = req.header(format!("x-padding-{i}"), "x");
    }

    // Act
    let description = oauth_error(req, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;

    // Assert
    assert!(description.contains("header fields"), "{description}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_socket_more_header_fields_than_hyper_parses_get_its_bare_431() {
    // Arrange
    let server = the_as().await;
    let http = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
    let mut req = http.get(format!("{}/jwks", server.issuer()));
    for i in 0..uma_reference_server::serving::PARSED_HEADERS + 1 {
        req = req.header(format!("x-padding-{i}"), "x");
    }

    // Act
    let resp = req.send().await.expect("an answer");

    // Assert
    assert_eq!(resp.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(resp.text().await.expect("a body"), "");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_socket_a_20_kib_request_target_gets_the_json_414() {
    // Arrange
    let server = the_as().await;
    let http = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
    let url = format!("{}/jwks?pad={}", server.issuer(), "x".repeat(20 * 1024));

    // Act
    let description = oauth_error(http.get(url), StatusCode::URI_TOO_LONG).await;

    // Assert
    assert!(description.contains("request target"), "{description}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rs_and_the_client_answer_oversized_requests_with_json_414_and_431() {
    // Arrange
    let rs_config = RsConfig::new(&dead_issuer().await, "demo-rs", ClientSecret::new("demo-rs-secret"));
    let rs = ResourceServer::start(rs_config, loopback())
        .await
        .expect("the RS starts");
    let client_config = ClientConfig::new("demo-client", ClientSecret::new("demo-client-secret"));
    let client = ReferenceClient::start(client_config, loopback())
        .await
        .expect("the client starts");
    let http = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
    let pad = "x".repeat(20 * 1024);

    for base in [rs.base_url(), client.base_url()] {
        // Act
        let long = oauth_error(http.get(format!("{base}/?pad={pad}")), StatusCode::URI_TOO_LONG).await;
        let mut many = http.get(format!("{base}/"));
        for i in 0..90 {
            many = many.header(format!("x-padding-{i}"), "x");
        }
        let many = oauth_error(many, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;

        // Assert
        assert!(long.contains("request target"), "{base}: {long}");
        assert!(many.contains("header fields"), "{base}: {many}");
    }
    rs.shutdown().await;
    client.shutdown().await;
}
