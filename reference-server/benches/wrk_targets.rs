//! The servers `bin/bench` measures with an external load generator (`wrk`): the reference AS
//! (SQLite in a temporary directory, default durability) and, beside it in the same process, an
//! axum hello-world with the same allocator and runtime, so the AS's rates can be given as
//! ratios of the hello-world's on the same machine in the same run.
//!
//! Not a benchmark by itself (it measures nothing): it starts both servers on loopback, sets up
//! what the AS's endpoints need (a PAT, a resource with an open policy, an RPT, and `--tickets N`
//! fresh permission tickets, at most a million, one per token request), writes one `wrk` Lua
//! script per endpoint into `--dir`, prints one line of JSON (`{"hello": URL, "as": URL, "dir":
//! DIR}`) and serves until its standard input closes; a line `flush` there checkpoints the
//! store's change log into SQLite and answers `flushed`. `bin/bench` runs it; `cargo bench` does
//! not (it returns at once unless `--serve` is given).

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use uma_reference_server::{Config, Server};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const UMA_GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket";

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// A Lua string literal.
fn lua(s: &str) -> String {
    format!("{s:?}")
}

/// A `wrk` script sending one fixed POST.
fn fixed_post(path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!(
        "wrk.method = \"POST\"\nwrk.path = {}\nwrk.body = {}\n",
        lua(path),
        lua(body)
    );
    for (k, v) in headers {
        out.push_str(&format!("wrk.headers[{}] = {}\n", lua(k), lua(v)));
    }
    out
}

async fn post(http: &reqwest::Client, url: &str, auth: &str, ct: &str, body: String) -> Value {
    let resp = http
        .post(url)
        .header("authorization", auth)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("request");
    assert!(resp.status().is_success(), "POST {url}: {}", resp.status());
    resp.json().await.expect("JSON body")
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn hello_form(body: String) -> axum::Json<Value> {
    // Reads the form as the AS does (a map of its fields), answers a small JSON object.
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    axum::Json(json!({"fields": fields.len(), "active": true}))
}

fn main() {
    if !std::env::args().any(|a| a == "--serve") {
        return;
    }
    let dir = std::path::PathBuf::from(arg("--dir").expect("--dir"));
    let tickets: usize = arg("--tickets")
        .and_then(|t| t.parse().ok())
        .unwrap_or(20_000)
        .min(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let data = tempfile::tempdir().expect("temp dir");
        let server = Server::builder(Config::demo())
            .port(0)
            .data_dir(data.path())
            .start()
            .await
            .expect("the reference AS starts");
        let issuer = server.issuer().to_owned();

        let hello = axum::Router::new()
            .route(
                "/hello",
                axum::routing::get(|| async { axum::Json(json!({"hello": "world"})) }),
            )
            .route("/form", axum::routing::post(hello_form));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let hello_url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, hello).await });

        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        let rs_basic = format!("Basic {}", b64("demo-rs:demo-rs-secret"));
        let client_basic = format!("Basic {}", b64("demo-client:demo-client-secret"));
        let form = "application/x-www-form-urlencoded";
        let pat = post(
            &http,
            &format!("{issuer}/token"),
            &rs_basic,
            form,
            "grant_type=client_credentials&scope=uma_protection".into(),
        )
        .await["access_token"]
            .as_str()
            .expect("PAT")
            .to_owned();
        let bearer = format!("Bearer {pat}");
        let rid = post(
            &http,
            &format!("{issuer}/resource_set"),
            &bearer,
            "application/json",
            json!({"resource_scopes": ["view", "print"], "name": "bench"}).to_string(),
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
        let permission = json!({"resource_id": rid, "resource_scopes": ["view"]}).to_string();

        // Fresh tickets, one per token request (a ticket is spent by its token request).
        let made = Arc::new(std::sync::Mutex::new(Vec::with_capacity(tickets)));
        let mut workers = Vec::new();
        for w in 0..32 {
            let (http, bearer, permission, made) = (http.clone(), bearer.clone(), permission.clone(), made.clone());
            let url = format!("{issuer}/permission");
            workers.push(tokio::spawn(async move {
                for _ in (w..tickets).step_by(32) {
                    let t = post(&http, &url, &bearer, "application/json", permission.clone()).await;
                    let t = t["ticket"].as_str().expect("ticket").to_owned();
                    made.lock().unwrap().push(t);
                }
            }));
        }
        for w in workers {
            w.await.expect("ticket worker");
        }
        let made = std::mem::take(&mut *made.lock().unwrap());
        let first_ticket = made[0].clone();
        let rpt = post(
            &http,
            &format!("{issuer}/token"),
            &client_basic,
            form,
            format!("grant_type={UMA_GRANT}&ticket={first_ticket}"),
        )
        .await["access_token"]
            .as_str()
            .expect("RPT")
            .to_owned();

        std::fs::create_dir_all(&dir).expect("--dir");
        std::fs::write(dir.join("tickets.txt"), made[1..].join("\n") + "\n").expect("tickets");
        let introspect_body = format!("token={rpt}");
        let token_body_len = format!("grant_type={UMA_GRANT}&ticket={first_ticket}").len();
        let scripts = [
            (
                "hello-get.lua",
                "wrk.method = \"GET\"\nwrk.path = \"/hello\"\n".to_string(),
            ),
            (
                "hello-form.lua",
                fixed_post(
                    "/form",
                    &[("Authorization", &client_basic), ("Content-Type", form)],
                    &format!("grant_type=x&pad={}", "p".repeat(token_body_len.saturating_sub(17))),
                ),
            ),
            (
                "introspection.lua",
                fixed_post(
                    "/introspect",
                    &[("Authorization", &bearer), ("Content-Type", form)],
                    &introspect_body,
                ),
            ),
            (
                "permission.lua",
                fixed_post(
                    "/permission",
                    &[("Authorization", &bearer), ("Content-Type", "application/json")],
                    &permission,
                ),
            ),
            (
                "token.lua",
                // Each request spends the next ticket of tickets.txt; threads take every n-th (the
                // script's first argument, default 1), from the ticket after the second (default
                // 0: a later run of wrk passes the tickets its predecessors spent).
                fixed_post(
                    "/token",
                    &[("Authorization", &client_basic), ("Content-Type", form)],
                    "",
                ) + &format!(
                    r#"local tickets, i, step = {{}}, 0, 1
for line in io.lines({}) do tickets[#tickets + 1] = line end
local n = 0
function setup(thread) n = n + 1; thread:set("offset", n) end
function init(args) i = (tonumber(offset) or 1) - 1 + (tonumber(args[2]) or 0); step = tonumber(args[1]) or 1 end
function request()
  i = i + step
  local t = tickets[((i - 1) % #tickets) + 1]
  return wrk.format(nil, nil, nil, "grant_type={UMA_GRANT}&ticket=" .. t)
end
"#,
                    lua(&dir.join("tickets.txt").display().to_string())
                ),
            ),
        ];
        for (name, text) in scripts {
            std::fs::write(dir.join(name), text).expect("script");
        }
        // Every row of the set-up in SQLite before the first run, so that no checkpoint of it
        // falls into one.
        let store = server.ctx().store.clone();
        store.flush().await.expect("the set-up's rows checkpointed");
        println!(
            "{}",
            json!({"hello": hello_url, "as": issuer, "dir": dir.display().to_string(), "tickets": made.len() - 1})
        );
        std::io::stdout().flush().ok();
        // Serve until bin/bench closes our standard input. A line `flush` checkpoints what the
        // store's change log holds into SQLite (`Store::flush`), then answers `flushed`: bin/bench
        // charges that to the run whose rows it is.
        let (lines, mut commands) = tokio::sync::mpsc::channel::<String>(1);
        let reader = tokio::task::spawn_blocking(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if lines.blocking_send(line).is_err() {
                    break;
                }
            }
        });
        while let Some(command) = commands.recv().await {
            if command.trim() == "flush" {
                store.flush().await.expect("the store's change log checkpointed");
                println!("flushed");
                std::io::stdout().flush().ok();
            }
        }
        reader.await.ok();
        server.shutdown().await;
    });
}
