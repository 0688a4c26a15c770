//! Persistent state, in SQLite (embedded, the default) or PostgreSQL, through sqlx.
//!
//! Rows hold JSON documents of the records in [`crate::core::model`]; secrets are keyed by their
//! SHA-256 hash, never stored in the clear.
//!
//! Two modes, chosen by the database URL:
//!
//! - **Exclusive** (SQLite): one server process owns the database file. All state is loaded into
//!   memory at start and served from there; every change marks its row dirty, and a background
//!   writer writes dirty rows out in batches, starting as soon as it is idle: changes arriving
//!   during a write-out go into the next one (group commit).
//!   When a write is acknowledged depends on the [`Durability`]:
//!   - [`Durability::Batched`] (the default): at once, unless the oldest change not yet
//!     written out is older than [`FLUSH_DEADLINE`] (10 ms); then the write waits for its own
//!     write-out. So a crash (`kill -9`) can only lose writes acknowledged in the last
//!     [`FLUSH_DEADLINE`] before it plus the write-out then under way. A write-out appends one
//!     line to a change log beside the file (module `journal`: one `write` to the operating
//!     system, no b-tree pages); a checkpoint puts the log into SQLite every 64 MiB of log
//!     (beside the writer, which goes on into a new segment), on [`Store::flush`] and on
//!     [`Store::close`], committing the newest row of each key the log holds (kept in memory
//!     beside it, so nothing is read or encoded twice); so most rows are written once in large
//!     batches, and a ticket issued and redeemed between two checkpoints never reaches the
//!     file. At start-up a log left by a crash is replayed into SQLite before the tables load.
//!   - [`Durability::Sync`]: after the SQLite commit that holds it, synced to disk
//!     (`synchronous = FULL`), so an acknowledged write survives a crash and a power loss.
//!
//!   In both, consuming a single-use credential (a permission ticket, an authorization code, an
//!   interaction session) and revoking tokens are acknowledged only once written out, so a
//!   crash never makes a redeemed ticket redeemable again nor a revoked token active again.
//!   [`Store::close`] (graceful shutdown) writes everything into the file, so a restart loses
//!   nothing. Ticket single use rests on removal from the in-memory map under a lock.
//!
//!   A private in-memory database (`sqlite::memory:`: the embedded reference of the harness,
//!   the tests) is the maps alone, with no SQLite behind them: it would start empty and nothing
//!   else could open it, so every change is acknowledged at once (nothing outlives the process
//!   anyway).
//!
//!   The pool has one connection (a second would find its page cache stale after every commit
//!   of the other), a 64 MiB page cache, and the file has no secondary indexes: nothing but
//!   start-up reads it, and every index is more b-tree pages written per commit.
//! - **Shared** (PostgreSQL): several server instances may share the database, so every
//!   operation goes to it directly and is acknowledged once committed, whatever the
//!   [`Durability`]. Ticket single use rests on `DELETE … RETURNING`, which is atomic, so
//!   parallel redemptions of one ticket see it at most once across instances.

use foldhash::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor as _, QueryBuilder, Row as _};

mod journal;
#[cfg(test)]
mod tests;
mod unsaved;

use journal::Journal;
use unsaved::Unsaved;

use crate::core::model::{
    ApprovalRecord, ApprovalStatus, ClientRecord, PolicyRecord, ResourceRecord, TicketData, TokenKind, TokenRecord,
};

/// Embedded migrations, applied in order.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/0001_initial.sql"))];

/// The secondary indexes exclusive (SQLite) mode has no use for: it drops them (see
/// [`Store::migrate`]); shared mode queries by them.
const SQLITE_UNUSED_INDEXES: &str = "DROP INDEX IF EXISTS resources_by_owner; \
     DROP INDEX IF EXISTS tickets_by_expiry; DROP INDEX IF EXISTS tokens_by_grant; \
     DROP INDEX IF EXISTS tokens_by_expiry; DROP INDEX IF EXISTS approvals_by_owner;";

/// Rows per multi-row statement (well under SQLite's limit of bound variables).
const BATCH_ROWS: usize = 400;

/// The tables written row by row: name, columns (key first), key column.
const TABLES: [(&str, &str, &str); 7] = [
    ("clients", "client_id, data, created_at", "client_id"),
    ("resources", "id, owner, rs_client, description, created_at", "id"),
    ("policies", "resource_id, policy", "resource_id"),
    ("tickets", "hash, data, expires_at", "hash"),
    (
        "tokens",
        "hash, kind, client_id, grant_id, data, expires_at, revoked",
        "hash",
    ),
    ("approvals", "id, owner, status, data, created_at", "id"),
    ("interactions", "id, data, expires_at", "id"),
];

/// The size of the change log's current segment beyond which the writer checkpoints it into
/// the SQLite file (see [`journal`]).
const CHECKPOINT_BYTES: u64 = 64 << 20;

/// In [`Durability::Batched`] mode, the age of the oldest uncommitted change beyond which writes
/// are no longer acknowledged before their commit.
pub const FLUSH_DEADLINE: Duration = Duration::from_millis(10);

/// When a write to the exclusive (SQLite) store is acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// At once while the writer keeps within [`FLUSH_DEADLINE`], after its commit otherwise: a
    /// crash loses at most the writes acknowledged in the last [`FLUSH_DEADLINE`] plus the
    /// commit under way. SQLite `synchronous = NORMAL`.
    #[default]
    Batched,
    /// After its commit (writes arriving during a commit share the next one), synced to disk
    /// (SQLite `synchronous = FULL`): a crash or power loss loses no acknowledged write.
    Sync,
}

impl Durability {
    /// The name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Batched => "batched",
            Durability::Sync => "sync",
        }
    }
}

impl std::str::FromStr for Durability {
    type Err = UnknownDurability;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "batched" => Ok(Durability::Batched),
            "sync" => Ok(Durability::Sync),
            _ => Err(UnknownDurability(s.to_owned())),
        }
    }
}

/// A durability name that is neither `batched` nor `sync`.
#[derive(Debug, thiserror::Error)]
#[error("unknown durability `{0}` (expected `batched` or `sync`)")]
pub struct UnknownDurability(String);

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database answered with an error.
    #[error("database error")]
    Db(#[from] sqlx::Error),
    /// A stored document could not be read back.
    #[error("corrupt stored record")]
    Corrupt(#[from] serde_json::Error),
    /// The commit that was to hold a change failed; the change stays pending and is retried, but
    /// it was not acknowledged.
    #[error("failed to commit the change")]
    NotCommitted,
    /// The change log (exclusive mode) could not be written or read.
    #[error("change log error")]
    Journal(#[source] std::io::Error),
}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(v)?)
}

fn from_row<T: DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let text: String = row.try_get(col)?;
    Ok(serde_json::from_str(&text)?)
}

/// Whether a key from a request can name a row in shared mode. PostgreSQL `TEXT` cannot hold
/// NUL and refuses a parameter containing one (an error, where SQLite finds nothing), so such
/// a key names nothing.
fn storable(key: &str) -> bool {
    !key.contains('\0')
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The in-memory state of exclusive mode.
struct Mem {
    clients: RwLock<HashMap<String, (ClientRecord, i64)>>,
    resources: RwLock<HashMap<String, (ResourceRecord, i64)>>,
    policies: RwLock<HashMap<String, PolicyRecord>>,
    // Tickets and tokens boxed: their records are ~200 bytes, and a map that grows moves every
    // entry it holds (a growing ticket map was a tenth of the CPU of permission requests under
    // load, moving and faulting in ~100 MB; issue 13).
    tickets: Mutex<HashMap<String, (Box<TicketData>, i64)>>,
    tokens: RwLock<HashMap<String, Box<TokenRecord>>>,
    approvals: RwLock<HashMap<String, ApprovalRecord>>,
    interactions: Mutex<HashMap<String, (String, i64)>>,
    pending: Mutex<Pending>,
    wake: tokio::sync::Notify,
    /// Held by the one write-out at a time, so batches commit in order of their changes.
    flushing: tokio::sync::Mutex<()>,
    progress: tokio::sync::watch::Sender<Progress>,
    durability: Durability,
    /// The change log of a database file in [`Durability::Batched`] (none in sync mode and for
    /// an in-memory database, whose write-outs go to SQLite directly).
    journal: Option<Mutex<Journal>>,
    /// The rows written to the change log since the last checkpoint (the newest of each key).
    unsaved: Mutex<Unsaved>,
    /// Held by the one checkpoint at a time, taken before `flushing` when both are.
    checkpointing: Arc<tokio::sync::Mutex<()>>,
    /// The size of the change log's current segment beyond which a write-out starts a
    /// checkpoint: [`CHECKPOINT_BYTES`] (tests set less).
    checkpoint_bytes: std::sync::atomic::AtomicU64,
    /// Whether the database is a private in-memory one (`sqlite::memory:`): empty at start and
    /// unreachable from anywhere else, so there is no SQLite behind the maps at all: a change has
    /// nothing to be written out to and nothing to wait for.
    in_memory: bool,
    /// The signing key of a private in-memory database (elsewhere, the `signing_keys` table).
    signing_key: Mutex<Option<(String, String)>>,
}

/// The changes not yet committed.
#[derive(Default)]
struct Pending {
    dirty: Dirty,
    /// The number of the newest change (changes are numbered from 1, in order).
    seq: u64,
    /// When the oldest change of `dirty` was made.
    dirty_since: Option<Instant>,
    /// When the oldest change of the batch being committed was made.
    committing_since: Option<Instant>,
}

/// How far the writer got: every change numbered up to `committed` is committed; the commit
/// holding the changes up to `failed` failed (they are pending again).
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    committed: u64,
    failed: u64,
}

/// What a change needs before it is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// Whatever the [`Durability`] says.
    Write,
    /// Its commit, in every mode: consuming single-use credentials and revoking tokens.
    Commit,
    /// Nothing: housekeeping nobody waits for.
    Nothing,
}

/// Keys changed since the last write-out, per table.
#[derive(Default)]
struct Dirty {
    clients: HashSet<String>,
    resources: HashSet<String>,
    policies: HashSet<String>,
    tickets: HashSet<String>,
    tokens: HashSet<String>,
    approvals: HashSet<String>,
    interactions: HashSet<String>,
}

impl Dirty {
    fn is_empty(&self) -> bool {
        self.clients.is_empty()
            && self.resources.is_empty()
            && self.policies.is_empty()
            && self.tickets.is_empty()
            && self.tokens.is_empty()
            && self.approvals.is_empty()
            && self.interactions.is_empty()
    }

    fn absorb(&mut self, other: Dirty) {
        self.clients.extend(other.clients);
        self.resources.extend(other.resources);
        self.policies.extend(other.policies);
        self.tickets.extend(other.tickets);
        self.tokens.extend(other.tokens);
        self.approvals.extend(other.approvals);
        self.interactions.extend(other.interactions);
    }
}

impl Mem {
    fn new(durability: Durability) -> Self {
        Self {
            clients: RwLock::default(),
            resources: RwLock::default(),
            policies: RwLock::default(),
            tickets: Mutex::default(),
            tokens: RwLock::default(),
            approvals: RwLock::default(),
            interactions: Mutex::default(),
            pending: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            flushing: tokio::sync::Mutex::new(()),
            progress: tokio::sync::watch::Sender::new(Progress::default()),
            durability,
            journal: None,
            unsaved: Mutex::default(),
            checkpointing: Arc::new(tokio::sync::Mutex::new(())),
            checkpoint_bytes: CHECKPOINT_BYTES.into(),
            in_memory: false,
            signing_key: Mutex::default(),
        }
    }

    /// Marks the rows `f` names dirty (their in-memory state has changed), wakes the writer, and
    /// returns once the change may be acknowledged (see the module docs).
    async fn record(&self, f: impl FnOnce(&mut Dirty), need: Need) -> StoreResult<()> {
        // A private in-memory database: there is nothing to write the change out to, and no
        // acknowledgement can outlive the process anyway.
        if self.in_memory {
            return Ok(());
        }
        let now = Instant::now();
        let (seq, lagging) = {
            let mut p = lock(&self.pending);
            f(&mut p.dirty);
            p.seq += 1;
            let lagging = p
                .committing_since
                .or(p.dirty_since)
                .is_some_and(|oldest| now.saturating_duration_since(oldest) > FLUSH_DEADLINE);
            p.dirty_since.get_or_insert(now);
            (p.seq, lagging)
        };
        self.wake.notify_one();
        let wait = match need {
            Need::Nothing => false,
            Need::Commit => true,
            Need::Write => self.durability == Durability::Sync || lagging,
        };
        if !wait {
            return Ok(());
        }
        let mut progress = self.progress.subscribe();
        let reached = progress
            .wait_for(|p| p.committed >= seq || p.failed >= seq)
            .await
            .map(|p| p.committed >= seq);
        match reached {
            Ok(true) => Ok(()),
            // The sender lives in `self`, so the channel cannot close under us.
            Ok(false) | Err(_) => Err(StoreError::NotCommitted),
        }
    }
}

/// One table's share of a write-out: rows to upsert and keys to delete.
struct Batch {
    table: &'static str,
    cols: &'static str,
    key: &'static str,
    rows: Vec<Vec<Val>>,
    gone: Vec<String>,
}

/// A bound value of a batched statement.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Val {
    Text(String),
    Int(i64),
    /// A JSON document, bound as text like [`Val::Text`]; the change log holds an object or array
    /// as JSON, not as a string of it (no escaping on the way in, no unescaping on the way out).
    Json(String),
}

/// The database behind the AS.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    mem: Option<Arc<Mem>>,
    writer: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
    stop: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("exclusive", &self.mem.is_some())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies migrations, with the default
    /// [`Durability`].
    ///
    /// `url` is `sqlite://path` or `sqlite::memory:` (exclusive mode) or `postgres://…`
    /// (shared mode).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, Durability::default()).await
    }

    /// Like [`Store::connect`], acknowledging writes as `durability` says (exclusive mode; shared
    /// mode always acknowledges after the commit).
    pub async fn connect_with(url: &str, durability: Durability) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite::memory:") {
            return Self::private_memory(url, durability);
        }
        let memory = url.contains("mode=memory");
        let sqlite = url.starts_with("sqlite:");
        let url = if sqlite && !memory && !url.contains("mode=") {
            if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            }
        } else {
            url.to_owned()
        };
        // SQLite: one connection. In exclusive mode only the writer (and start-up) uses it; a
        // second one would take turns with it, and every turn would find its page cache stale
        // (the other connection wrote) and read the pages again.
        let max = if sqlite { 1 } else { 16 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(if memory { 1 } else { 0 })
            .acquire_timeout(Duration::from_secs(10))
            // An in-memory database lives as long as its one connection: never recycle it.
            .idle_timeout(if memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(if memory { None } else { Some(Duration::from_secs(3600)) })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        // The writer touches pages all over the token and ticket indexes (keys are
                        // random hashes); SQLite's default cache (2 MiB) would read most of
                        // them again from the file for every commit.
                        conn.execute("PRAGMA cache_size = -65536").await?;
                        // The statement journal of each multi-row upsert (SQLite writes one to
                        // undo a statement that fails half-way) in memory, not in a temporary
                        // file: a checkpoint's statements write thousands of pages.
                        conn.execute("PRAGMA temp_store = MEMORY").await?;
                        if !memory {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute(match durability {
                                Durability::Batched => "PRAGMA synchronous = NORMAL",
                                Durability::Sync => "PRAGMA synchronous = FULL",
                            })
                            .await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let mut store = Self {
            pool,
            mem: None,
            writer: Arc::new(Mutex::new(None)),
            stop: Arc::new(tokio::sync::Notify::new()),
        };
        store.migrate(!sqlite).await?;
        if sqlite {
            let file = if memory { None } else { sqlite_file(&url) };
            if let Some(db) = &file {
                replay(&store.pool, db).await?;
            }
            let mut mem = store.load(durability).await?;
            // Sync mode commits every change to SQLite (`synchronous = FULL`) before its
            // acknowledgement, so that it survives a power loss too; the log serves batched mode.
            if let Some(db) = file.as_ref().filter(|_| durability == Durability::Batched) {
                let journal = Journal::open(db).map_err(StoreError::Journal)?;
                mem.journal = Some(Mutex::new(journal));
            }
            let mem = Arc::new(mem);
            store.mem = Some(mem.clone());
            let (pool, stop) = (store.pool.clone(), store.stop.clone());
            *lock(&store.writer) = Some(tokio::spawn(write_loop(mem, pool, stop)));
        }
        Ok(store)
    }

    /// A private in-memory database (`sqlite::memory:`, the embedded reference of the harness and
    /// the tests): it would start empty, nothing else could ever open it, and nothing outlives the
    /// process, so the maps are all there is. Opening one, loading its empty tables and
    /// committing every change to it cost the selftest's servers (thousands of them, one per
    /// scenario world) about a seventh of their CPU (issue 13). The pool is never connected: it
    /// is there for the type's sake, and a statement sent to it would find no tables.
    fn private_memory(url: &str, durability: Durability) -> StoreResult<Self> {
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy(url)?;
        let mut mem = Mem::new(durability);
        mem.in_memory = true;
        Ok(Self {
            pool,
            mem: Some(Arc::new(mem)),
            writer: Arc::new(Mutex::new(None)),
            stop: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Opens the default SQLite file `uma.db` in `dir`, creating the directory, with the default
    /// [`Durability`].
    pub async fn open_dir(dir: &Path) -> StoreResult<Self> {
        Self::open_dir_with(dir, Durability::default()).await
    }

    /// Like [`Store::open_dir`], acknowledging writes as `durability` says.
    pub async fn open_dir_with(dir: &Path, durability: Durability) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        Self::connect_with(&format!("sqlite://{}", dir.join("uma.db").display()), durability).await
    }

    /// Applies pending migrations in one transaction. In shared mode (PostgreSQL) it holds an
    /// advisory lock, so instances starting together on an empty database do not race on DDL.
    async fn migrate(&self, shared: bool) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        if shared {
            sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(7055102202)) AS l")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let current: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM schema_version")
            .fetch_one(&mut *tx)
            .await?
            .try_get("v")?;
        let current = current.unwrap_or(0);
        for (version, sql) in MIGRATIONS {
            if *version > current {
                sqlx::raw_sql(*sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                    .bind(*version)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if !shared {
            // Exclusive mode reads only from memory and writes rows by key: the secondary
            // indexes (by owner, grant, expiry) serve shared mode's queries and would only add
            // b-tree writes to every commit here.
            sqlx::raw_sql(SQLITE_UNUSED_INDEXES).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reads every table into memory (exclusive mode).
    async fn load(&self, durability: Durability) -> StoreResult<Mem> {
        let mem = Mem::new(durability);
        for r in sqlx::query("SELECT client_id, data, created_at FROM clients")
            .fetch_all(&self.pool)
            .await?
        {
            write(&mem.clients).insert(
                r.try_get("client_id")?,
                (from_row(&r, "data")?, r.try_get("created_at")?),
            );
        }
        for r in sqlx::query("SELECT id, owner, rs_client, description, created_at FROM resources")
            .fetch_all(&self.pool)
            .await?
        {
            let rec = ResourceRecord {
                id: r.try_get("id")?,
                owner: r.try_get("owner")?,
                rs_client: r.try_get("rs_client")?,
                description: from_row(&r, "description")?,
            };
            write(&mem.resources).insert(rec.id.clone(), (rec, r.try_get("created_at")?));
        }
        for r in sqlx::query("SELECT resource_id, policy FROM policies")
            .fetch_all(&self.pool)
            .await?
        {
            write(&mem.policies).insert(r.try_get("resource_id")?, from_row(&r, "policy")?);
        }
        for r in sqlx::query("SELECT hash, data, expires_at FROM tickets")
            .fetch_all(&self.pool)
            .await?
        {
            lock(&mem.tickets).insert(
                r.try_get("hash")?,
                (Box::new(from_row(&r, "data")?), r.try_get("expires_at")?),
            );
        }
        for r in sqlx::query("SELECT hash, data, revoked FROM tokens")
            .fetch_all(&self.pool)
            .await?
        {
            let mut t: TokenRecord = from_row(&r, "data")?;
            t.revoked = r.try_get::<i64, _>("revoked")? != 0;
            write(&mem.tokens).insert(r.try_get("hash")?, Box::new(t));
        }
        for r in sqlx::query("SELECT id, data FROM approvals")
            .fetch_all(&self.pool)
            .await?
        {
            write(&mem.approvals).insert(r.try_get("id")?, from_row(&r, "data")?);
        }
        for r in sqlx::query("SELECT id, data, expires_at FROM interactions")
            .fetch_all(&self.pool)
            .await?
        {
            lock(&mem.interactions).insert(r.try_get("id")?, (r.try_get("data")?, r.try_get("expires_at")?));
        }
        Ok(mem)
    }

    /// Writes out everything pending, then closes the pool (flushing SQLite's write-ahead log).
    pub async fn close(&self) {
        self.stop.notify_one();
        let writer = lock(&self.writer).take();
        if let Some(w) = writer {
            let _ = w.await;
        }
        if let Some(mem) = &self.mem {
            // Whatever the writer left (e.g. after an error), one last attempt, then the change
            // log into the file; a log that is left is replayed at the next start.
            if let Err(e) = self.flush().await {
                tracing::error!(error = %e, "final write-out failed");
            } else if let Some(j) = &mem.journal {
                // The checkpoint left an empty segment; nothing can be appended any more.
                let j = lock(j);
                if j.bytes() == 0
                    && let Err(e) = j.remove_upto(u64::MAX)
                {
                    tracing::error!(error = %e, "could not remove the change log");
                }
            }
        }
        self.pool.close().await;
    }

    /// Writes out pending changes now and puts the change log into the SQLite file (exclusive
    /// mode; a no-op in shared mode).
    pub async fn flush(&self) -> StoreResult<()> {
        match &self.mem {
            Some(mem) => {
                // After any checkpoint under way, and holding the writer for this one.
                let _one_checkpoint = mem.checkpointing.lock().await;
                flush(mem, &self.pool).await?;
                let _one_at_a_time = mem.flushing.lock().await;
                match begin_checkpoint(mem)? {
                    Some((rows, old)) => finish_checkpoint(mem, &self.pool, rows, old).await,
                    None => Ok(()),
                }
            }
            None => Ok(()),
        }
    }

    // ---- clients ----

    /// Inserts or replaces a client.
    pub async fn put_client(&self, c: &ClientRecord) -> StoreResult<()> {
        if let Some(mem) = &self.mem {
            write(&mem.clients).insert(c.client_id.clone(), (c.clone(), c.issued_at));
            mem.record(
                |d| {
                    d.clients.insert(c.client_id.clone());
                },
                Need::Write,
            )
            .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO clients (client_id, data, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id) DO UPDATE SET data = excluded.data",
        )
        .bind(&c.client_id)
        .bind(to_json(c)?)
        .bind(c.issued_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Looks a client up.
    pub async fn client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        if let Some(mem) = &self.mem {
            return Ok(read(&mem.clients).get(client_id).map(|(c, _)| c.clone()));
        }
        if !storable(client_id) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT data FROM clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| from_row(&r, "data")).transpose()
    }

    // ---- resources ----

    /// Inserts or replaces a resource.
    pub async fn put_resource(&self, r: &ResourceRecord, now: i64) -> StoreResult<()> {
        if let Some(mem) = &self.mem {
            {
                let mut map = write(&mem.resources);
                let created = map.get(&r.id).map_or(now, |(_, c)| *c);
                map.insert(r.id.clone(), (r.clone(), created));
            }
            mem.record(
                |d| {
                    d.resources.insert(r.id.clone());
                },
                Need::Write,
            )
            .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO resources (id, owner, rs_client, description, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET description = excluded.description",
        )
        .bind(&r.id)
        .bind(&r.owner)
        .bind(&r.rs_client)
        .bind(to_json(&r.description)?)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Looks a resource up.
    pub async fn resource(&self, id: &str) -> StoreResult<Option<ResourceRecord>> {
        if let Some(mem) = &self.mem {
            return Ok(read(&mem.resources).get(id).map(|(r, _)| r.clone()));
        }
        if !storable(id) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id, owner, rs_client, description FROM resources WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(ResourceRecord {
                id: r.try_get("id")?,
                owner: r.try_get("owner")?,
                rs_client: r.try_get("rs_client")?,
                description: from_row(&r, "description")?,
            })
        })
        .transpose()
    }

    /// Who registered a resource: its owner and resource server (cheaper than [`Store::resource`]).
    pub async fn resource_registrar(&self, id: &str) -> StoreResult<Option<(String, String)>> {
        if let Some(mem) = &self.mem {
            return Ok(read(&mem.resources)
                .get(id)
                .map(|(r, _)| (r.owner.clone(), r.rs_client.clone())));
        }
        let row = sqlx::query("SELECT owner, rs_client FROM resources WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("owner")?, r.try_get("rs_client")?)))
            .transpose()
    }

    /// Deletes a resource and its policy; returns whether it existed.
    pub async fn delete_resource(&self, id: &str) -> StoreResult<bool> {
        if let Some(mem) = &self.mem {
            let existed = write(&mem.resources).remove(id).is_some();
            write(&mem.policies).remove(id);
            mem.record(
                |d| {
                    d.resources.insert(id.to_owned());
                    d.policies.insert(id.to_owned());
                },
                Need::Write,
            )
            .await?;
            return Ok(existed);
        }
        if !storable(id) {
            return Ok(false);
        }
        let n = sqlx::query("DELETE FROM resources WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM policies WHERE resource_id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(n.rows_affected() > 0)
    }

    /// The ids of the resources `rs_client` registered for `owner`, oldest first.
    pub async fn list_resources(&self, owner: &str, rs_client: &str) -> StoreResult<Vec<String>> {
        if let Some(mem) = &self.mem {
            let map = read(&mem.resources);
            let mut v: Vec<(i64, &String)> = map
                .values()
                .filter(|(r, _)| r.owner == owner && r.rs_client == rs_client)
                .map(|(r, c)| (*c, &r.id))
                .collect();
            v.sort();
            return Ok(v.into_iter().map(|(_, id)| id.clone()).collect());
        }
        let rows = sqlx::query("SELECT id FROM resources WHERE owner = $1 AND rs_client = $2 ORDER BY created_at, id")
            .bind(owner)
            .bind(rs_client)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// The ids of every registered resource, whoever registered it, oldest first. (Only the
    /// quirk `list-all-owners` lists this way.)
    pub async fn list_all_resources(&self) -> StoreResult<Vec<String>> {
        if let Some(mem) = &self.mem {
            let map = read(&mem.resources);
            let mut v: Vec<(i64, &String)> = map.values().map(|(r, c)| (*c, &r.id)).collect();
            v.sort();
            return Ok(v.into_iter().map(|(_, id)| id.clone()).collect());
        }
        let rows = sqlx::query("SELECT id FROM resources ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    // ---- policies ----

    /// Sets a resource's policy.
    pub async fn put_policy(&self, resource_id: &str, p: &PolicyRecord) -> StoreResult<()> {
        if let Some(mem) = &self.mem {
            write(&mem.policies).insert(resource_id.to_owned(), p.clone());
            mem.record(
                |d| {
                    d.policies.insert(resource_id.to_owned());
                },
                Need::Write,
            )
            .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO policies (resource_id, policy) VALUES ($1, $2) \
             ON CONFLICT (resource_id) DO UPDATE SET policy = excluded.policy",
        )
        .bind(resource_id)
        .bind(to_json(p)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A resource's policy.
    pub async fn policy(&self, resource_id: &str) -> StoreResult<Option<PolicyRecord>> {
        if let Some(mem) = &self.mem {
            return Ok(read(&mem.policies).get(resource_id).cloned());
        }
        if !storable(resource_id) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT policy FROM policies WHERE resource_id = $1")
            .bind(resource_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| from_row(&r, "policy")).transpose()
    }

    /// Removes a resource's policy; returns whether there was one.
    pub async fn delete_policy(&self, resource_id: &str) -> StoreResult<bool> {
        if let Some(mem) = &self.mem {
            let existed = write(&mem.policies).remove(resource_id).is_some();
            mem.record(
                |d| {
                    d.policies.insert(resource_id.to_owned());
                },
                Need::Write,
            )
            .await?;
            return Ok(existed);
        }
        if !storable(resource_id) {
            return Ok(false);
        }
        let n = sqlx::query("DELETE FROM policies WHERE resource_id = $1")
            .bind(resource_id)
            .execute(&self.pool)
            .await?;
        Ok(n.rows_affected() > 0)
    }

    // ---- tickets ----

    /// Stores a ticket under the hash of its value.
    pub async fn put_ticket(&self, hash: &str, t: &TicketData, expires_at: i64) -> StoreResult<()> {
        if let Some(mem) = &self.mem {
            lock(&mem.tickets).insert(hash.to_owned(), (Box::new(t.clone()), expires_at));
            mem.record(
                |d| {
                    d.tickets.insert(hash.to_owned());
                },
                Need::Write,
            )
            .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO tickets (hash, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (hash) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(hash)
        .bind(to_json(t)?)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Looks a ticket up without consuming it (only the `ticket-race` quirk redeems this way;
    /// redemption proper uses [`Store::take_ticket`]).
    pub async fn ticket(&self, hash: &str) -> StoreResult<Option<(TicketData, i64)>> {
        if let Some(mem) = &self.mem {
            return Ok(lock(&mem.tickets)
                .get(hash)
                .map(|(t, exp)| (TicketData::clone(t), *exp)));
        }
        let row = sqlx::query("SELECT data, expires_at FROM tickets WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((from_row(&r, "data")?, r.try_get("expires_at")?)))
            .transpose()
    }

    /// Removes a ticket and returns it with its expiry, atomically: of several concurrent
    /// callers with the same hash, at most one gets `Some`.
    pub async fn take_ticket(&self, hash: &str) -> StoreResult<Option<(TicketData, i64)>> {
        if let Some(mem) = &self.mem {
            let taken = lock(&mem.tickets).remove(hash).map(|(t, exp)| (*t, exp));
            if taken.is_some() {
                mem.record(
                    |d| {
                        d.tickets.insert(hash.to_owned());
                    },
                    Need::Commit,
                )
                .await?;
            }
            return Ok(taken);
        }
        let row = sqlx::query("DELETE FROM tickets WHERE hash = $1 RETURNING data, expires_at")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((from_row(&r, "data")?, r.try_get("expires_at")?)))
            .transpose()
    }

    // ---- tokens (PATs, RPTs, refresh tokens, PCTs, codes) ----

    /// Stores a token under the hash of its value.
    pub async fn put_token(&self, hash: &str, t: &TokenRecord) -> StoreResult<()> {
        if let Some(mem) = &self.mem {
            write(&mem.tokens).insert(hash.to_owned(), Box::new(t.clone()));
            mem.record(
                |d| {
                    d.tokens.insert(hash.to_owned());
                },
                Need::Write,
            )
            .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO tokens (hash, kind, client_id, grant_id, data, expires_at, revoked) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(hash)
        .bind(t.kind.as_str())
        .bind(&t.client_id)
        .bind(&t.grant_id)
        .bind(to_json(t)?)
        .bind(t.expires_at)
        .bind(i64::from(t.revoked))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Looks a token up by hash (whatever its state).
    pub async fn token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.with_token(hash, TokenRecord::clone).await
    }

    /// Looks a token up by its hash and returns what `f` makes of it, without copying the
    /// record out of the maps (a PAT check needs two of its strings; issue 13).
    pub async fn with_token<R>(&self, hash: &str, f: impl FnOnce(&TokenRecord) -> R) -> StoreResult<Option<R>> {
        if let Some(mem) = &self.mem {
            return Ok(read(&mem.tokens).get(hash).map(|t| f(t)));
        }
        let row = sqlx::query("SELECT data, revoked FROM tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let mut t: TokenRecord = from_row(&r, "data")?;
            t.revoked = r.try_get::<i64, _>("revoked")? != 0;
            Ok(f(&t))
        })
        .transpose()
    }

    /// Removes a single-use token (an authorization code) and returns it, atomically.
    pub async fn take_token(&self, hash: &str, kind: TokenKind) -> StoreResult<Option<TokenRecord>> {
        if let Some(mem) = &self.mem {
            let taken = {
                let mut map = write(&mem.tokens);
                if map.get(hash).is_some_and(|t| t.kind == kind) {
                    map.remove(hash).map(|t| *t)
                } else {
                    None
                }
            };
            if taken.is_some() {
                mem.record(
                    |d| {
                        d.tokens.insert(hash.to_owned());
                    },
                    Need::Commit,
                )
                .await?;
            }
            return Ok(taken);
        }
        let row = sqlx::query("DELETE FROM tokens WHERE hash = $1 AND kind = $2 RETURNING data")
            .bind(hash)
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| from_row(&r, "data")).transpose()
    }

    /// Marks one token revoked.
    pub async fn revoke_token(&self, hash: &str) -> StoreResult<()> {
        if let Some(mem) = &self.mem {
            if let Some(t) = write(&mem.tokens).get_mut(hash) {
                t.revoked = true;
            }
            mem.record(
                |d| {
                    d.tokens.insert(hash.to_owned());
                },
                Need::Commit,
            )
            .await?;
            return Ok(());
        }
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE hash = $1")
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks every token of a grant revoked.
    pub async fn revoke_grant(&self, grant_id: &str) -> StoreResult<()> {
        if let Some(mem) = &self.mem {
            let mut changed = Vec::new();
            for (hash, t) in write(&mem.tokens).iter_mut() {
                if t.grant_id == grant_id && !t.revoked {
                    t.revoked = true;
                    changed.push(hash.clone());
                }
            }
            mem.record(|d| d.tokens.extend(changed), Need::Commit).await?;
            return Ok(());
        }
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE grant_id = $1")
            .bind(grant_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- approvals ----

    /// Inserts or updates an approval request.
    pub async fn put_approval(&self, a: &ApprovalRecord) -> StoreResult<()> {
        if let Some(mem) = &self.mem {
            write(&mem.approvals).insert(a.id.clone(), a.clone());
            mem.record(
                |d| {
                    d.approvals.insert(a.id.clone());
                },
                Need::Write,
            )
            .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO approvals (id, owner, status, data, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, data = excluded.data",
        )
        .bind(&a.id)
        .bind(&a.owner)
        .bind(a.status.as_str())
        .bind(to_json(a)?)
        .bind(a.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Looks an approval request up.
    pub async fn approval(&self, id: &str) -> StoreResult<Option<ApprovalRecord>> {
        if let Some(mem) = &self.mem {
            return Ok(read(&mem.approvals).get(id).cloned());
        }
        if !storable(id) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT data FROM approvals WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| from_row(&r, "data")).transpose()
    }

    /// An owner's approval requests with the given status, oldest first.
    pub async fn approvals(&self, owner: &str, status: ApprovalStatus) -> StoreResult<Vec<ApprovalRecord>> {
        if let Some(mem) = &self.mem {
            let mut v: Vec<ApprovalRecord> = read(&mem.approvals)
                .values()
                .filter(|a| a.owner == owner && a.status == status)
                .cloned()
                .collect();
            v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            return Ok(v);
        }
        let rows = sqlx::query("SELECT data FROM approvals WHERE owner = $1 AND status = $2 ORDER BY created_at, id")
            .bind(owner)
            .bind(status.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| from_row(r, "data")).collect()
    }

    // ---- interactions ----

    /// Stores a pending browser interaction (claims gathering or login).
    pub async fn put_interaction<T: Serialize>(&self, id: &str, data: &T, expires_at: i64) -> StoreResult<()> {
        if let Some(mem) = &self.mem {
            lock(&mem.interactions).insert(id.to_owned(), (to_json(data)?, expires_at));
            mem.record(
                |d| {
                    d.interactions.insert(id.to_owned());
                },
                Need::Write,
            )
            .await?;
            return Ok(());
        }
        sqlx::query("INSERT INTO interactions (id, data, expires_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(to_json(data)?)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Looks a pending interaction up without consuming it; `None` if absent or not a `T`.
    pub async fn interaction<T: DeserializeOwned>(&self, id: &str) -> StoreResult<Option<T>> {
        if let Some(mem) = &self.mem {
            return Ok(lock(&mem.interactions)
                .get(id)
                .and_then(|(text, _)| serde_json::from_str(text).ok()));
        }
        if !storable(id) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT data FROM interactions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| from_row(&r, "data").ok()))
    }

    /// Removes a pending interaction and returns whether it was there, atomically.
    pub async fn take_interaction(&self, id: &str) -> StoreResult<bool> {
        if let Some(mem) = &self.mem {
            let existed = lock(&mem.interactions).remove(id).is_some();
            let need = if existed { Need::Commit } else { Need::Nothing };
            mem.record(
                |d| {
                    d.interactions.insert(id.to_owned());
                },
                need,
            )
            .await?;
            return Ok(existed);
        }
        if !storable(id) {
            return Ok(false);
        }
        let n = sqlx::query("DELETE FROM interactions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(n.rows_affected() > 0)
    }

    // ---- signing keys (rare: always straight to the database) ----

    /// The stored signing key (PKCS#8, base64url) and its id, if any.
    pub async fn signing_key(&self) -> StoreResult<Option<(String, String)>> {
        if let Some(mem) = self.mem.as_ref().filter(|m| m.in_memory) {
            return Ok(lock(&mem.signing_key).clone());
        }
        let row = sqlx::query("SELECT kid, pkcs8 FROM signing_keys ORDER BY created_at LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("kid")?, r.try_get("pkcs8")?))).transpose()
    }

    /// Stores a signing key unless one exists; returns the key that is stored afterwards.
    pub async fn put_signing_key(&self, kid: &str, pkcs8: &str, now: i64) -> StoreResult<(String, String)> {
        if let Some(mem) = self.mem.as_ref().filter(|m| m.in_memory) {
            let mut key = lock(&mem.signing_key);
            return Ok(key.get_or_insert_with(|| (kid.to_owned(), pkcs8.to_owned())).clone());
        }
        sqlx::query(
            "INSERT INTO signing_keys (kid, pkcs8, created_at) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(kid)
        .bind(pkcs8)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(self.signing_key().await?.unwrap_or((kid.to_owned(), pkcs8.to_owned())))
    }

    // ---- housekeeping ----

    /// Deletes expired tickets and sessions, and tokens expired more than `grace` seconds ago
    /// (expired RPTs are kept a while so a client may still present one for upgrading).
    /// Returns the number of records removed.
    pub async fn sweep(&self, now: i64, grace: i64) -> StoreResult<u64> {
        if let Some(mem) = &self.mem {
            let mut dirty = Dirty::default();
            lock(&mem.tickets).retain(|h, (_, exp)| *exp > now || !dirty.tickets.insert(h.clone()));
            lock(&mem.interactions).retain(|id, (_, exp)| *exp > now || !dirty.interactions.insert(id.clone()));
            write(&mem.tokens).retain(|h, t| t.expires_at > now - grace || !dirty.tokens.insert(h.clone()));
            let n = (dirty.tickets.len() + dirty.interactions.len() + dirty.tokens.len()) as u64;
            mem.record(|d| d.absorb(dirty), Need::Nothing).await?;
            return Ok(n);
        }
        let mut n = 0;
        n += sqlx::query("DELETE FROM tickets WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        n += sqlx::query("DELETE FROM interactions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        n += sqlx::query("DELETE FROM tokens WHERE expires_at <= $1")
            .bind(now - grace)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n)
    }

    /// Counts records in a table, for tests and diagnostics.
    pub async fn count(&self, table: StoreTable) -> StoreResult<i64> {
        if let Some(mem) = &self.mem {
            let n = match table {
                StoreTable::Tickets => lock(&mem.tickets).len(),
                StoreTable::Tokens => read(&mem.tokens).len(),
                StoreTable::Clients => read(&mem.clients).len(),
                StoreTable::Resources => read(&mem.resources).len(),
                StoreTable::Interactions => lock(&mem.interactions).len(),
            };
            return Ok(n as i64);
        }
        Ok(sqlx::query(table.count_sql())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }
}

/// The background writer of exclusive mode: writes dirty rows out whenever there are some,
/// until told to stop (then once more).
async fn write_loop(mem: Arc<Mem>, pool: AnyPool, stop: Arc<tokio::sync::Notify>) {
    loop {
        let stopping = tokio::select! {
            _ = mem.wake.notified() => false,
            _ = stop.notified() => true,
        };
        // Let the request tasks already woken run first: their changes join this write-out
        // instead of each starting one (token requests under wrk with 32 connections: two
        // lines of the change log per request became one per nine requests, so fewer `write`s
        // and fewer waiters woken one by one).
        tokio::task::yield_now().await;
        if let Err(e) = flush(&mem, &pool).await {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "write-out failed; retrying");
            if !stopping {
                tokio::time::sleep(Duration::from_millis(200)).await;
                mem.wake.notify_one();
            }
        }
        if stopping {
            break;
        }
    }
}

/// Writes every dirty row of `mem` in one transaction, then tells the changes waiting for it.
/// On failure the rows stay dirty (and their waiters learn that their commit failed).
async fn flush(mem: &Arc<Mem>, pool: &AnyPool) -> StoreResult<()> {
    let _one_at_a_time = mem.flushing.lock().await;
    let (dirty, upto) = {
        let mut p = lock(&mem.pending);
        p.committing_since = p.dirty_since.take();
        (std::mem::take(&mut p.dirty), p.seq)
    };
    // An empty batch still settles the changes numbered so far: each either named no row or was
    // in an earlier batch that committed (a failed one would have put its rows back).
    let mut result = if dirty.is_empty() {
        Ok(None)
    } else {
        write_out(mem, pool, &dirty).await
    };
    let threshold = mem.checkpoint_bytes.load(std::sync::atomic::Ordering::Relaxed);
    let checkpoint_due = result.is_ok() && mem.journal.as_ref().is_some_and(|j| lock(j).bytes() > threshold);
    {
        let mut p = lock(&mem.pending);
        let since = p.committing_since.take();
        if let Ok(logged) = &mut result {
            if let Some(rows) = logged.take() {
                // Written to the change log: due at the next checkpoint.
                lock(&mem.unsaved).add(rows);
            }
        } else {
            p.dirty.absorb(dirty);
            p.dirty_since = match (since, p.dirty_since) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    let result = result.map(drop);
    mem.progress.send_modify(|p| {
        if result.is_ok() {
            p.committed = p.committed.max(upto);
        } else {
            p.failed = p.failed.max(upto);
        }
    });
    if checkpoint_due {
        checkpoint_in_background(mem, pool);
    }
    result
}

/// Starts a checkpoint beside the writer, unless one is under way: the caller holds
/// `mem.flushing`, so the rows due and the segment they end in are taken before any later
/// line is appended; write-outs go on into the new segment while SQLite is written.
fn checkpoint_in_background(mem: &Arc<Mem>, pool: &AnyPool) {
    let Ok(one_checkpoint) = Arc::clone(&mem.checkpointing).try_lock_owned() else {
        return;
    };
    let begun = match begin_checkpoint(mem) {
        Ok(Some(begun)) => begun,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "checkpoint failed");
            return;
        }
    };
    let (mem, pool) = (Arc::clone(mem), pool.clone());
    tokio::spawn(async move {
        let _one_checkpoint = one_checkpoint;
        let (rows, old) = begun;
        if let Err(e) = finish_checkpoint(&mem, &pool, rows, old).await {
            // What the log holds stays safe in it: the next checkpoint takes these rows too
            // and removes the segments this one left.
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "checkpoint failed");
        }
    });
}

/// Writes `dirty` out: appended to the change log in batched mode (returning the rows written,
/// which the next checkpoint puts into SQLite), committed to SQLite directly in sync mode and
/// for an in-memory database.
async fn write_out(mem: &Mem, pool: &AnyPool, dirty: &Dirty) -> StoreResult<Option<[Batch; 7]>> {
    let batches = collect(mem, dirty)?;
    let Some(journal) = &mem.journal else {
        return commit(pool, [batches]).await.map(|()| None);
    };
    let Some(line) = journal::encode(&batches)? else {
        return Ok(None);
    };
    lock(journal).write(&line)?;
    Ok(Some(batches))
}

/// The first half of a checkpoint, which puts what the change log holds into the SQLite file:
/// takes the rows written to the log since the last one and starts a new segment, returning the
/// rows and the number of the last segment that holds them (`None` when no row is due). The
/// caller holds `mem.checkpointing` and `mem.flushing`, so no line is appended meanwhile.
fn begin_checkpoint(mem: &Mem) -> StoreResult<Option<(Unsaved, u64)>> {
    let Some(journal) = &mem.journal else {
        return Ok(None);
    };
    let rows = std::mem::take(&mut *lock(&mem.unsaved));
    if rows.is_empty() {
        return Ok(None);
    }
    match lock(journal).rotate() {
        Ok(old) => Ok(Some((rows, old))),
        Err(e) => {
            lock(&mem.unsaved).put_back(rows);
            Err(e)
        }
    }
}

/// The second half: writes `rows` (the newest row of each key in the segments up to `old`)
/// into SQLite, then deletes those segments. On failure the rows are read back from those
/// segments and are due again (behind any newer ones), and the segments stay. The caller holds
/// `mem.checkpointing` (so at most one checkpoint runs, and a failed one's rows are due again
/// before the next one begins), and may let the writer go on meanwhile.
async fn finish_checkpoint(mem: &Arc<Mem>, pool: &AnyPool, rows: Unsaved, old: u64) -> StoreResult<()> {
    let Some(journal) = &mem.journal else {
        return Ok(());
    };
    // Sorting a checkpoint's rows takes a while: off the runtime's threads, so the requests
    // they serve meanwhile are not held up behind it.
    let result = match tokio::task::spawn_blocking(move || rows.into_batches()).await {
        Ok(batches) => commit(pool, [batches]).await,
        Err(e) => Err(StoreError::Journal(std::io::Error::other(e))),
    };
    let Err(e) = result else {
        return lock(journal).remove_upto(old);
    };
    // The rows went into the statements that failed; the segments still hold them.
    let db = lock(journal).db().to_path_buf();
    match journal::read_upto(&db, old) {
        Ok((lines, _)) => {
            let mut back = Unsaved::default();
            for line in lines {
                back.add(line);
            }
            lock(&mem.unsaved).put_back(back);
        }
        Err(read) => {
            tracing::error!(error = %read, "could not read back a failed checkpoint's rows; keeping the change log");
            lock(journal).pin();
        }
    }
    Err(e)
}

/// Replays the change log left beside the database file `db` (a crash, or a failed
/// checkpoint) into SQLite, then deletes it.
async fn replay(pool: &AnyPool, db: &Path) -> StoreResult<()> {
    let (lines, segments) = journal::read_all(db)?;
    if segments.is_empty() {
        return Ok(());
    }
    tracing::info!(
        changes = lines.len(),
        segments = segments.len(),
        "replaying the change log"
    );
    commit(pool, lines).await?;
    for path in segments {
        std::fs::remove_file(path).map_err(StoreError::Journal)?;
    }
    Ok(())
}

/// The file of a SQLite URL (`sqlite://path?…`, `sqlite:path`), `None` for `:memory:` (the
/// caller rules out `mode=memory`).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.into())
}

/// Collects one table's dirty keys into rows to upsert (`row` returns the row of a key still
/// present) and keys to delete (absent ones).
fn batch(
    (table, cols, key): (&'static str, &'static str, &'static str),
    keys: &HashSet<String>,
    mut row: impl FnMut(&str) -> StoreResult<Option<Vec<Val>>>,
) -> StoreResult<Batch> {
    let (mut rows, mut gone) = (Vec::new(), Vec::new());
    for k in keys {
        match row(k)? {
            Some(values) => rows.push(values),
            None => gone.push(k.clone()),
        }
    }
    Ok(Batch {
        table,
        cols,
        key,
        rows,
        gone,
    })
}

/// The rows of `dirty`'s keys as they are in memory now (a key no longer there is deleted).
fn collect(mem: &Mem, dirty: &Dirty) -> StoreResult<[Batch; 7]> {
    let text = |s: &str| Val::Text(s.to_owned());
    // Each lookup takes its table's lock only for that key, so request handlers are not held up.
    Ok([
        batch(TABLES[0], &dirty.clients, |k| {
            read(&mem.clients)
                .get(k)
                .map(|(c, created)| Ok(vec![text(k), Val::Json(to_json(c)?), Val::Int(*created)]))
                .transpose()
        })?,
        batch(TABLES[1], &dirty.resources, |k| {
            read(&mem.resources)
                .get(k)
                .map(|(r, created)| {
                    Ok(vec![
                        text(k),
                        text(&r.owner),
                        text(&r.rs_client),
                        Val::Json(to_json(&r.description)?),
                        Val::Int(*created),
                    ])
                })
                .transpose()
        })?,
        batch(TABLES[2], &dirty.policies, |k| {
            read(&mem.policies)
                .get(k)
                .map(|p| Ok(vec![text(k), Val::Json(to_json(p)?)]))
                .transpose()
        })?,
        batch(TABLES[3], &dirty.tickets, |k| {
            lock(&mem.tickets)
                .get(k)
                .map(|(t, exp)| Ok(vec![text(k), Val::Json(to_json(t)?), Val::Int(*exp)]))
                .transpose()
        })?,
        batch(TABLES[4], &dirty.tokens, |k| {
            read(&mem.tokens)
                .get(k)
                .map(|t| {
                    Ok(vec![
                        text(k),
                        text(t.kind.as_str()),
                        text(&t.client_id),
                        text(&t.grant_id),
                        Val::Json(to_json(t)?),
                        Val::Int(t.expires_at),
                        Val::Int(i64::from(t.revoked)),
                    ])
                })
                .transpose()
        })?,
        batch(TABLES[5], &dirty.approvals, |k| {
            read(&mem.approvals)
                .get(k)
                .map(|a| {
                    Ok(vec![
                        text(k),
                        text(&a.owner),
                        text(a.status.as_str()),
                        Val::Json(to_json(a)?),
                        Val::Int(a.created_at),
                    ])
                })
                .transpose()
        })?,
        batch(TABLES[6], &dirty.interactions, |k| {
            Ok(lock(&mem.interactions)
                .get(k)
                .map(|(data, exp)| vec![text(k), Val::Json(data.clone()), Val::Int(*exp)]))
        })?,
    ])
}

/// Commits `lines` of batches (each line's upserts and deletions in order) in one transaction.
async fn commit(pool: &AnyPool, lines: impl IntoIterator<Item = impl IntoIterator<Item = Batch>>) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    for line in lines {
        apply(&mut tx, line).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Runs one line of batches' statements in `tx`.
async fn apply(tx: &mut sqlx::Transaction<'_, Any>, batches: impl IntoIterator<Item = Batch>) -> StoreResult<()> {
    for Batch {
        table,
        cols,
        key,
        rows,
        gone,
    } in batches
    {
        let updates: Vec<String> = cols
            .split(", ")
            .filter(|c| *c != key)
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Val>> = rows.by_ref().take(BATCH_ROWS).collect();
            let mut qb: QueryBuilder<Any> = QueryBuilder::new(format!("INSERT INTO {table} ({cols}) "));
            qb.push_values(chunk, |mut b, row| {
                for v in row {
                    match v {
                        Val::Text(s) | Val::Json(s) => b.push_bind(s),
                        Val::Int(i) => b.push_bind(i),
                    };
                }
            });
            qb.push(format!(" ON CONFLICT ({key}) DO UPDATE SET {}", updates.join(", ")));
            qb.build().execute(&mut **tx).await?;
        }
        for chunk in gone.chunks(BATCH_ROWS) {
            let mut qb: QueryBuilder<Any> = QueryBuilder::new(format!("DELETE FROM {table} WHERE {key} IN ("));
            let mut sep = qb.separated(", ");
            for k in chunk {
                sep.push_bind(k.clone());
            }
            qb.push(")");
            qb.build().execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// Tables that [`Store::count`] can count.
#[derive(Clone, Copy, Debug)]
pub enum StoreTable {
    /// Permission tickets.
    Tickets,
    /// All tokens.
    Tokens,
    /// Clients.
    Clients,
    /// Resources.
    Resources,
    /// Interactive sessions.
    Interactions,
}

impl StoreTable {
    fn count_sql(self) -> &'static str {
        match self {
            StoreTable::Tickets => "SELECT COUNT(*) AS n FROM tickets",
            StoreTable::Tokens => "SELECT COUNT(*) AS n FROM tokens",
            StoreTable::Clients => "SELECT COUNT(*) AS n FROM clients",
            StoreTable::Resources => "SELECT COUNT(*) AS n FROM resources",
            StoreTable::Interactions => "SELECT COUNT(*) AS n FROM interactions",
        }
    }
}
