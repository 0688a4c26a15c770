//! The cost of a checkpoint of the store's change log into SQLite (exclusive mode, default
//! durability), per row: `N` RPT rows (default 100 000) are put, written out to the log, then
//! put into the SQLite file by `Store::flush`; three rounds, each into a bigger table. Prints
//! the wall time and the process's CPU time of each checkpoint (nothing else runs meanwhile).
//!
//! Run: `cargo bench -p uma-reference-server --bench checkpoint -- --run` (without `--run`
//! it returns at once, so `cargo bench` alone stays quick). Knob: `N`.

use std::time::{Duration, Instant};

use uma_reference_server::core::model::{Permission, TokenKind, TokenRecord};
use uma_reference_server::store::{Durability, Store};

// The same allocator as the `uma-reference-server` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The process's CPU time (user + system), in seconds, from `/proc/self/stat`.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime, fields 14 and 15 of the line (11 and 12 after the command name).
    (ticks(11) + ticks(12)) / 100.0
}

fn rpt(round: usize, i: usize) -> TokenRecord {
    TokenRecord {
        kind: TokenKind::Rpt,
        client_id: "demo-client".into(),
        grant_id: format!("g{round}-{i:020}"),
        owner: Some("photoz-inc".into()),
        scopes: Vec::new(),
        permissions: vec![Permission {
            resource_id: "XrLNvPMW2YTDEeLYzVo02g".into(),
            resource_scopes: vec!["view".into()],
        }],
        claims: Vec::new(),
        refreshes: None,
        redirect_uri: None,
        code_challenge: None,
        issued_at: 1_796_621_368,
        expires_at: 1_796_624_968,
        revoked: false,
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--run") {
        return;
    }
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Store::open_dir_with(dir.path(), Durability::Batched)
            .await
            .expect("the store opens");
        for round in 0..3 {
            for i in 0..n {
                let hash = uma_reference_server::crypto::hash_secret(&format!("rpt-{round}-{i}"));
                store.put_token(&hash, &rpt(round, i)).await.expect("put");
            }
            // Let the writer append them to the change log first.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (wall, cpu) = (Instant::now(), cpu_secs());
            store.flush().await.expect("checkpoint");
            let cpu = cpu_secs() - cpu;
            println!(
                "round {round}: checkpoint of {n} RPT rows: {:.0} ms wall, {:.0} ms CPU, {:.1} us CPU per row",
                wall.elapsed().as_secs_f64() * 1e3,
                cpu * 1e3,
                cpu * 1e6 / n as f64
            );
        }
        store.close().await;
    });
}
