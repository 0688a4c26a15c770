//! The checkpoint that runs beside the writer. Its end-to-end promises (what a crash leaves,
//! a graceful close) are tested in `tests/durability.rs`, where a checkpoint comes only from
//! `Store::flush` or `Store::close`: the 64 MiB threshold is out of a test's reach. Here the
//! threshold is one byte, so every write-out starts a checkpoint while others go on. Last, the
//! private in-memory store, which has no SQLite behind its maps.

use std::sync::atomic::Ordering;

use sqlx::Connection as _;

use super::*;

fn ticket() -> TicketData {
    TicketData {
        process_id: "p1".into(),
        owner: "alice".into(),
        rs_client: "demo-rs".into(),
        permissions: Vec::new(),
        client_id: None,
        claims: Vec::new(),
        code_challenge: None,
        approval_id: None,
        persist_claims: false,
    }
}

fn key(task: usize, i: usize) -> String {
    format!("t{task}-{i}")
}

/// Copies every file of `from` (the database, its write-ahead log, the change log) into a new
/// directory: what a crash at this moment would leave.
fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("temporary directory");
    for e in std::fs::read_dir(from).expect("read the data directory") {
        let e = e.expect("directory entry");
        std::fs::copy(e.path(), to.path().join(e.file_name())).expect("copy");
    }
    to
}

/// Waits until the writer has written out every change made so far (batched mode acknowledges
/// a write before its write-out), and has finished that write-out: any checkpoint it starts
/// has begun, and holds `checkpointing`.
async fn written_out(mem: &Mem) {
    let made = lock(&mem.pending).seq;
    mem.progress
        .subscribe()
        .wait_for(|p| p.committed >= made)
        .await
        .expect("the writer's progress");
    drop(mem.flushing.lock().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_beside_the_writer_lose_nothing_and_remove_the_segments_they_put_into_the_file() {
    // Arrange
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open_dir_with(dir.path(), Durability::Batched)
        .await
        .expect("the store opens");
    let mem = store.mem.clone().expect("exclusive mode");
    mem.checkpoint_bytes.store(1, Ordering::Relaxed);

    // Act: 8 tasks issue 25 tickets each at once (expiring at 9), redeem every other one, and
    // change the others (now expiring at 10).
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8 {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..25 {
                store.put_ticket(&key(t, i), &ticket(), 9).await.expect("put");
            }
            for i in (0..25).step_by(2) {
                assert!(store.take_ticket(&key(t, i)).await.expect("take").is_some());
            }
            for i in (1..25).step_by(2) {
                store.put_ticket(&key(t, i), &ticket(), 10).await.expect("put again");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a task panicked");
    }
    written_out(&mem).await;
    // No checkpoint or write-out under way while the files are copied.
    let crashed = {
        let _one_checkpoint = mem.checkpointing.lock().await;
        let _one_at_a_time = mem.flushing.lock().await;
        copy_dir(dir.path())
    };

    // Assert: the file with the segments left holds exactly what was acknowledged.
    let reopened = Store::open_dir_with(crashed.path(), Durability::Batched)
        .await
        .expect("the copy opens");
    assert_eq!(reopened.count(StoreTable::Tickets).await.expect("count"), 8 * 12);
    for t in 0..8 {
        for i in 0..25 {
            let kept = reopened.ticket(&key(t, i)).await.expect("read").map(|(_, exp)| exp);
            let expected = (i % 2 == 1).then_some(10);
            assert_eq!(kept, expected, "ticket {} after the crash", key(t, i));
        }
    }
    reopened.close().await;

    // Act: one more write-out, with no checkpoint under way, starts one that takes every line
    // before it.
    store.put_ticket("last", &ticket(), 9).await.expect("put");
    written_out(&mem).await;
    let db = dir.path().join("uma.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("a second connection opens");
    let deadline = Instant::now() + Duration::from_secs(20);
    let in_file = loop {
        let _one_checkpoint = mem.checkpointing.lock().await;
        let keys: Vec<(String, i64)> = sqlx::query_as("SELECT hash, expires_at FROM tickets")
            .fetch_all(&mut conn)
            .await
            .expect("read the file");
        if keys.iter().any(|(k, _)| k == "last") {
            break keys;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint put the last ticket into the file"
        );
        drop(_one_checkpoint);
        tokio::time::sleep(Duration::from_millis(10)).await;
    };

    // Assert: the file alone holds every ticket left, as last written, and none redeemed; the
    // segments it covers are gone.
    let mut expected: Vec<(String, i64)> = (0..8)
        .flat_map(|t| (1..25).step_by(2).map(move |i| (key(t, i), 10)))
        .chain([("last".to_owned(), 9)])
        .collect();
    let mut in_file = in_file;
    expected.sort();
    in_file.sort();
    assert_eq!(in_file, expected);
    let segments = journal::segments(&db).expect("segments");
    assert!(
        segments.first().is_some_and(|(n, _)| *n > 1),
        "the first segment was not removed: {segments:?}"
    );
    store.close().await;
}

#[tokio::test]
async fn a_failed_checkpoint_reads_its_rows_back_from_the_log_and_the_next_one_writes_them() {
    // Arrange: 20 tickets written out to the change log (the redemption waits for its write-out,
    // which comes after theirs).
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open_dir_with(dir.path(), Durability::Batched)
        .await
        .expect("the store opens");
    for i in 0..20 {
        store.put_ticket(&key(0, i), &ticket(), 9).await.expect("put");
    }
    assert!(store.take_ticket(&key(0, 0)).await.expect("take").is_some());
    // Another connection holds SQLite's write lock, and the store gives up on it after 50 ms.
    let url = format!("sqlite://{}", dir.path().join("uma.db").display());
    let mut other = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("a second connection opens");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("write lock");
    sqlx::query("PRAGMA busy_timeout = 50")
        .execute(&store.pool)
        .await
        .expect("pragma");

    // Act
    let failed = store.flush().await;

    // Assert: the checkpoint failed, and its rows are due again.
    assert!(
        failed.is_err(),
        "the checkpoint got past another connection's write lock"
    );
    let mem = store.mem.clone().expect("exclusive mode");
    assert!(
        !lock(&mem.unsaved).is_empty(),
        "the failed checkpoint's rows are not due again"
    );

    // Act: the lock is gone; the next checkpoint.
    sqlx::query("ROLLBACK").execute(&mut other).await.expect("unlock");
    store.flush().await.expect("the next checkpoint");

    // Assert: the file holds every ticket left, and no segment but the current one.
    let mut in_file: Vec<String> = sqlx::query_scalar("SELECT hash FROM tickets")
        .fetch_all(&mut other)
        .await
        .expect("read the file");
    in_file.sort();
    let mut expected: Vec<String> = (1..20).map(|i| key(0, i)).collect();
    expected.sort();
    assert_eq!(in_file, expected);
    let db = dir.path().join("uma.db");
    assert_eq!(journal::segments(&db).expect("segments").len(), 1);
    store.close().await;
}

#[tokio::test]
async fn a_private_in_memory_store_serves_from_its_maps_with_no_database_behind_them() {
    // Arrange
    let store = Store::connect("sqlite::memory:").await.expect("the store opens");

    // Act
    store.put_ticket("t1", &ticket(), 9).await.expect("put");
    store.put_ticket("t2", &ticket(), 9).await.expect("put");
    let taken = store.take_ticket("t1").await.expect("take");
    let again = store.take_ticket("t1").await.expect("take again");
    let first_key = store.put_signing_key("k1", "pkcs8-1", 1).await.expect("key");
    let second_key = store.put_signing_key("k2", "pkcs8-2", 2).await.expect("key");
    store.flush().await.expect("flush");

    // Assert: single use and the first signing key kept, as with a database file.
    assert!(taken.is_some(), "the ticket was not there to take");
    assert!(again.is_none(), "a taken ticket was taken twice");
    assert!(store.ticket("t2").await.expect("read").is_some(), "t2 was lost");
    assert_eq!(first_key, ("k1".to_owned(), "pkcs8-1".to_owned()));
    assert_eq!(second_key, first_key, "a second signing key replaced the first");
    assert_eq!(store.signing_key().await.expect("key"), Some(first_key));
    // Nothing was written anywhere: the pool never connected, and a connection would find no
    // table.
    assert_eq!(store.pool.size(), 0, "the pool connected");
    let mem = store.mem.clone().expect("exclusive mode");
    assert!(lock(&mem.pending).dirty.is_empty() && lock(&mem.pending).seq == 0);
    store.close().await;
}
