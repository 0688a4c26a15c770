//! Throughput of the reference AS on loopback, with SQLite in a temporary directory.
//!
//! Measures RPT issuances per second (a permission request plus an `uma-ticket` token request,
//! open policy) and introspections per second, each with a fixed number of concurrent
//! connections for a fixed time. Bounded in time; loopback only.
//!
//! Run: `cargo bench -p uma-reference-server --bench throughput`
//! Knobs: `UMA_BENCH_SECS` (per phase, default 5), `UMA_BENCH_CONCURRENCY` (default 32).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uma_reference_server::{Config, Server};

// The same allocator as the `uma-reference-server` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Phase {
    ok: AtomicU64,
    failed: AtomicU64,
}

async fn run_phase<F, Fut>(name: &str, secs: u64, workers: u64, op: F) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let phase = Arc::new(Phase {
        ok: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let op = Arc::new(op);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (phase, op) = (phase.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                if op().await {
                    phase.ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    phase.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ok = phase.ok.load(Ordering::Relaxed);
    let failed = phase.failed.load(Ordering::Relaxed);
    let rate = ok as f64 / elapsed;
    println!("{name:<24} {rate:>10.0} /s   ({ok} ok, {failed} failed, {elapsed:.1} s, {workers} connections)");
    assert_eq!(failed, 0, "{name}: some requests failed");
    rate
}

async fn post_form(http: &reqwest::Client, url: &str, auth: &str, form: &[(&str, &str)]) -> Option<Value> {
    let resp = http
        .post(url)
        .header("authorization", auth)
        .form(form)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument other than ours means "not us".
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"throughput".contains(a.as_str()))
    {
        return;
    }
    let secs = env_u64("UMA_BENCH_SECS", 5).clamp(1, 60);
    let workers = env_u64("UMA_BENCH_CONCURRENCY", 32).clamp(1, 256);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = Server::builder(Config::demo())
            .port(0)
            .data_dir(dir.path())
            .start()
            .await
            .expect("server starts");
        let issuer = server.issuer().to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(workers as usize)
            .build()
            .expect("client");
        let rs_basic = format!("Basic {}", b64("demo-rs:demo-rs-secret"));
        let client_basic = format!("Basic {}", b64("demo-client:demo-client-secret"));

        let pat = post_form(
            &http,
            &format!("{issuer}/token"),
            &rs_basic,
            &[("grant_type", "client_credentials"), ("scope", "uma_protection")],
        )
        .await
        .expect("PAT")["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let bearer = format!("Bearer {pat}");
        let rid = post_json(
            &http,
            &format!("{issuer}/resource_set"),
            &bearer,
            &json!({"resource_scopes": ["view", "print"], "name": "bench"}),
        )
        .await["_id"]
            .as_str()
            .expect("_id")
            .to_owned();
        http.put(format!("{issuer}/policy/{rid}"))
            .header("authorization", &bearer)
            .json(&json!({"default": {"type": "open"}}))
            .send()
            .await
            .expect("policy");

        println!(
            "reference AS throughput on loopback, SQLite in {}, {secs} s per phase",
            dir.path().display()
        );

        // The load generator keeps its own per-request work small (pre-parsed URLs, pre-encoded
        // bodies, no JSON tree) so that the figures measure the server more than the client.
        let permission_url = reqwest::Url::parse(&format!("{issuer}/permission")).expect("url");
        let token_url = reqwest::Url::parse(&format!("{issuer}/token")).expect("url");
        let introspect_url = reqwest::Url::parse(&format!("{issuer}/introspect")).expect("url");
        let permission_body =
            axum::body::Bytes::from(json!({"resource_id": rid, "resource_scopes": ["view"]}).to_string());
        let issue = {
            let (http, bearer, client_basic) = (http.clone(), bearer.clone(), client_basic.clone());
            let (permission_url, token_url, permission_body) =
                (permission_url.clone(), token_url.clone(), permission_body.clone());
            move || {
                let (http, bearer, client_basic) = (http.clone(), bearer.clone(), client_basic.clone());
                let (permission_url, token_url, permission_body) =
                    (permission_url.clone(), token_url.clone(), permission_body.clone());
                async move {
                    let Ok(resp) = http
                        .post(permission_url)
                        .header("authorization", &bearer)
                        .header("content-type", "application/json")
                        .body(permission_body)
                        .send()
                        .await
                    else {
                        return false;
                    };
                    let Ok(body) = resp.bytes().await else { return false };
                    let Some(ticket) = string_member(&body, "ticket") else {
                        return false;
                    };
                    let form = format!("grant_type={}&ticket={ticket}", UMA_GRANT.replace(':', "%3A"));
                    let Ok(resp) = http
                        .post(token_url)
                        .header("authorization", &client_basic)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form)
                        .send()
                        .await
                    else {
                        return false;
                    };
                    resp.status().is_success()
                        && resp
                            .bytes()
                            .await
                            .is_ok_and(|b| string_member(&b, "access_token").is_some())
                }
            }
        };
        let rpt_rate = run_phase("RPT issuances", secs, workers, issue).await;

        let ticket = post_json(
            &http,
            &format!("{issuer}/permission"),
            &bearer,
            &json!({"resource_id": rid, "resource_scopes": ["view"]}),
        )
        .await["ticket"]
            .as_str()
            .expect("ticket")
            .to_owned();
        let rpt = post_form(
            &http,
            &format!("{issuer}/token"),
            &client_basic,
            &[("grant_type", UMA_GRANT), ("ticket", &ticket)],
        )
        .await
        .expect("RPT")["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let introspect_body = axum::body::Bytes::from(format!("token={rpt}"));
        let introspect = {
            let (http, bearer) = (http.clone(), bearer.clone());
            move || {
                let (http, bearer, url, body) = (
                    http.clone(),
                    bearer.clone(),
                    introspect_url.clone(),
                    introspect_body.clone(),
                );
                async move {
                    let Ok(resp) = http
                        .post(url)
                        .header("authorization", &bearer)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await
                    else {
                        return false;
                    };
                    resp.bytes()
                        .await
                        .is_ok_and(|b| b.windows(13).any(|w| w == b"\"active\":true"))
                }
            }
        };
        let intro_rate = run_phase("introspections", secs, workers, introspect).await;
        println!("{{\"rpt_issuances_per_sec\":{rpt_rate:.0},\"introspections_per_sec\":{intro_rate:.0}}}");
        server.shutdown().await;
    });
}

/// A set-up JSON POST; panics with the status if it fails (set-up is not measured).
async fn post_json(http: &reqwest::Client, url: &str, auth: &str, body: &Value) -> Value {
    let resp = http
        .post(url)
        .header("authorization", auth)
        .json(body)
        .send()
        .await
        .expect("request");
    assert!(resp.status().is_success(), "POST {url}: {}", resp.status());
    resp.json().await.expect("JSON body")
}

/// The value of a string member `"key":"value"` in a flat JSON body, without building a tree.
fn string_member(body: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let needle = format!("\"{key}\":\"");
    let start = text.find(&needle)? + needle.len();
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_owned())
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
