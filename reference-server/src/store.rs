//! Persistent state, in SQLite (embedded, the default) or PostgreSQL, through sqlx.
//!
//! Rows hold JSON documents of the records in [`crate::core::model`]; secrets are keyed by their
//! SHA-256 hash. Single use of tickets rests on `DELETE … RETURNING`, which is atomic in both
//! databases, so parallel redemptions of one ticket see it at most once.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor as _, Row as _};

use crate::core::model::{
    ApprovalRecord, ApprovalStatus, ClientRecord, PolicyRecord, ResourceRecord, TicketData, TokenKind, TokenRecord,
};

/// Embedded migrations, applied in order.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/0001_initial.sql"))];

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database answered with an error.
    #[error("database error")]
    Db(#[from] sqlx::Error),
    /// A stored document could not be read back.
    #[error("corrupt stored record")]
    Corrupt(#[from] serde_json::Error),
}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// The database behind the AS.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
}

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(v)?)
}

fn from_row<T: DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let text: String = row.try_get(col)?;
    Ok(serde_json::from_str(&text)?)
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    ///
    /// `url` is `sqlite://path`, `sqlite::memory:` (one connection, lost on exit) or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
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
        let max = if memory {
            1
        } else if sqlite {
            4
        } else {
            16
        };
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
                        if !memory {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the default SQLite file `uma.db` in `dir`, creating the directory.
    pub async fn open_dir(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        Self::connect(&format!("sqlite://{}", dir.join("uma.db").display())).await
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .execute(&self.pool)
            .await?;
        let current: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM schema_version")
            .fetch_one(&self.pool)
            .await?
            .try_get("v")?;
        let current = current.unwrap_or(0);
        for (version, sql) in MIGRATIONS {
            if *version > current {
                sqlx::raw_sql(*sql).execute(&self.pool).await?;
                sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                    .bind(*version)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Closes the pool, flushing SQLite's write-ahead log.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- clients ----

    /// Inserts or replaces a client.
    pub async fn put_client(&self, c: &ClientRecord) -> StoreResult<()> {
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
        let row = sqlx::query("SELECT data FROM clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| from_row(&r, "data")).transpose()
    }

    // ---- resources ----

    /// Inserts or replaces a resource.
    pub async fn put_resource(&self, r: &ResourceRecord, now: i64) -> StoreResult<()> {
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

    /// Deletes a resource and its policy; returns whether it existed.
    pub async fn delete_resource(&self, id: &str) -> StoreResult<bool> {
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
        let rows = sqlx::query("SELECT id FROM resources WHERE owner = $1 AND rs_client = $2 ORDER BY created_at, id")
            .bind(owner)
            .bind(rs_client)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    // ---- policies ----

    /// Sets a resource's policy.
    pub async fn put_policy(&self, resource_id: &str, p: &PolicyRecord) -> StoreResult<()> {
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
        let row = sqlx::query("SELECT policy FROM policies WHERE resource_id = $1")
            .bind(resource_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| from_row(&r, "policy")).transpose()
    }

    /// Removes a resource's policy; returns whether there was one.
    pub async fn delete_policy(&self, resource_id: &str) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM policies WHERE resource_id = $1")
            .bind(resource_id)
            .execute(&self.pool)
            .await?;
        Ok(n.rows_affected() > 0)
    }

    // ---- tickets ----

    /// Stores a ticket under the hash of its value.
    pub async fn put_ticket(&self, hash: &str, t: &TicketData, expires_at: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO tickets (hash, data, expires_at) VALUES ($1, $2, $3)")
            .bind(hash)
            .bind(to_json(t)?)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes a ticket and returns it with its expiry, atomically: of several concurrent
    /// callers with the same hash, at most one gets `Some`.
    pub async fn take_ticket(&self, hash: &str) -> StoreResult<Option<(TicketData, i64)>> {
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
        let row = sqlx::query("SELECT data, revoked FROM tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let mut t: TokenRecord = from_row(&r, "data")?;
            t.revoked = r.try_get::<i64, _>("revoked")? != 0;
            Ok(t)
        })
        .transpose()
    }

    /// Removes a single-use token (an authorization code) and returns it, atomically.
    pub async fn take_token(&self, hash: &str, kind: TokenKind) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query("DELETE FROM tokens WHERE hash = $1 AND kind = $2 RETURNING data")
            .bind(hash)
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| from_row(&r, "data")).transpose()
    }

    /// Marks one token revoked.
    pub async fn revoke_token(&self, hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE hash = $1")
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks every token of a grant revoked.
    pub async fn revoke_grant(&self, grant_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE grant_id = $1")
            .bind(grant_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- approvals ----

    /// Inserts or updates an approval request.
    pub async fn put_approval(&self, a: &ApprovalRecord) -> StoreResult<()> {
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
        let row = sqlx::query("SELECT data FROM approvals WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| from_row(&r, "data")).transpose()
    }

    /// An owner's approval requests with the given status, oldest first.
    pub async fn approvals(&self, owner: &str, status: ApprovalStatus) -> StoreResult<Vec<ApprovalRecord>> {
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
        let row = sqlx::query("SELECT data FROM interactions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| from_row(&r, "data").ok()))
    }

    /// Removes a pending interaction and returns whether it was there, atomically.
    pub async fn take_interaction(&self, id: &str) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM interactions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(n.rows_affected() > 0)
    }

    // ---- signing keys ----

    /// The stored signing key (PKCS#8, base64url) and its id, if any.
    pub async fn signing_key(&self) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query("SELECT kid, pkcs8 FROM signing_keys ORDER BY created_at LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("kid")?, r.try_get("pkcs8")?))).transpose()
    }

    /// Stores a signing key unless one exists; returns the key that is stored afterwards.
    pub async fn put_signing_key(&self, kid: &str, pkcs8: &str, now: i64) -> StoreResult<(String, String)> {
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
    /// Returns the number of rows removed.
    pub async fn sweep(&self, now: i64, grace: i64) -> StoreResult<u64> {
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

    /// Counts rows in a table, for tests and diagnostics.
    pub async fn count(&self, table: StoreTable) -> StoreResult<i64> {
        Ok(sqlx::query(table.count_sql())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }
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
