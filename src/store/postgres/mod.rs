//! The PostgreSQL backend (`docs/store.md`): the same records as the file
//! store, as rows of tables in schema `labwatch`, for replicas that share a
//! fleet on a database its operators already run.
//!
//! - `schema`: the embedded, versioned migrations, applied at open.
//! - `options`: [`PostgresOptions`], the connection settings, and where the
//!   password comes from (a file or the environment, never the config).
//! - `health`: [`Availability`], what `/readyz` says about the database.
//! - `audit`: the append-only audit table.
//! - `lease`: [`LeaseRound`], how replicas split the fleet.
//! - `notices`: [`Notice`], changes sent to every replica (LISTEN/NOTIFY).
//! - `rotation_lock`: [`RotationLock`], one rotation at a time across replicas.
//! - `verdicts`: [`Verdict`], each workspace's latest status, for every
//!   replica to answer with.
//!
//! Each workspace's records are a row per table, keyed by workspace:
//! `connections` and `rotated_connections` hold the sealed envelope (the
//! file store's bytes, as jsonb: workspace and instance in clear, the token
//! only inside the ciphertext); `rotation_markers`, `disconnects` and
//! `workspaces` the same JSON as the files. `set_aside_connections` keeps
//! what `disconnect` moved out of the way, and `audit_log` is append-only
//! (a trigger refuses UPDATE, DELETE and TRUNCATE).
//!
//! Why a runtime of its own: the store's callers are synchronous (the file
//! store blocks on the disk, and callers run it on tokio's blocking pool),
//! while the driver is async. Each call is spawned on a small runtime that
//! only the store uses, and the caller waits for its answer on a channel.
//! That works from any thread, async worker or not, without the panics of
//! nested `block_on`, and a slow database never holds up the scheduler's
//! workers: the driver's connection tasks run on the store's own thread.

mod audit;
mod health;
mod lease;
mod notices;
mod options;
mod rotation_lock;
mod schema;
mod verdicts;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak, mpsc};
use std::time::Duration;

pub use health::Availability;
pub use lease::LeaseRound;
pub use notices::Notice;
pub use options::{DEFAULT_LEASE, PASSWORD_ENV, PostgresOptions, check_url};
pub use rotation_lock::RotationLock;
pub use schema::SCHEMA_VERSION;
pub use verdicts::Verdict;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use tokio_postgres::error::SqlState;

use super::{AuditEntry, Place, Slot, StoreError};
use audit::{AUDIT_INSERT, AuditRow};
use health::Health;

/// How often an idle store checks the database is still there, so that
/// `/readyz` tells an outage even when no action runs.
const PING_EVERY: Duration = Duration::from_secs(2);
/// How long a call waits for a pooled connection, and for a new one.
const WAIT: Duration = Duration::from_secs(5);

/// The pool, the runtime it runs on, and what the last call met.
#[derive(Clone)]
pub(crate) struct PostgresBackend {
    inner: Arc<Inner>,
}

struct Inner {
    /// `Some` until drop, which shuts it down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    health: Health,
    stats: Stats,
    /// `user@host:port/dbname`, for messages.
    target: String,
    /// How to open a connection outside the pool: a rotation lock holds
    /// one for the whole rotation, which must not starve the pool the
    /// rotation's own store calls use.
    direct: (tokio_postgres::Config, tokio_postgres_rustls::MakeRustlsConnect),
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // The last handle may go on an async worker (daemon shutdown),
            // where a blocking shutdown would panic.
            runtime.shutdown_background();
        }
    }
}

impl PostgresBackend {
    /// Connects, applies the migrations this labwatch embeds (refusing a
    /// newer schema) and starts the background ping.
    pub(crate) fn open(options: &PostgresOptions, schema: Schema) -> Result<PostgresBackend, StoreError> {
        let config = options.driver_config()?;
        let target = options::describe(&config);
        let tls = options.tls()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("labwatch-store")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Database {
                action: "start its runtime",
                problem: e.to_string(),
                retryable: false,
                fix: "the system refused a thread; check the process limits (ulimit -u)",
            })?;
        let direct = (config.clone(), tls.clone());
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                // A closed connection (a restarted server) is dropped, not reused.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .recycle_timeout(Some(WAIT))
            .build()
            .map_err(|e| StoreError::Database {
                action: "build its connection pool",
                problem: e.to_string(),
                retryable: false,
                fix: "check [store.postgres] in the config",
            })?;
        let backend = PostgresBackend {
            inner: Arc::new(Inner {
                runtime: Some(runtime),
                pool,
                health: Health::default(),
                stats: Stats::default(),
                target,
                direct,
            }),
        };
        let pool = backend.inner.pool.clone();
        match schema {
            Schema::Migrate => backend.call("apply its schema migrations", async move {
                let mut client = pool.get().await.map_err(pool_error)?;
                schema::migrate(&mut client).await
            })?,
            Schema::AsItIs => backend.call("read its schema version", async move {
                let mut client = pool.get().await.map_err(pool_error)?;
                schema::current(&mut client).await
            })?,
        }
        let weak = Arc::downgrade(&backend.inner);
        backend.spawn(ping_while_open(weak));
        Ok(backend)
    }

    /// `user@host:port/dbname`.
    pub(crate) fn describe(&self) -> String {
        self.inner.target.clone()
    }

    /// The calls made so far: how many, how many failed, how long in all.
    pub(crate) fn stats(&self) -> StoreStats {
        let s = &self.inner.stats;
        StoreStats {
            calls: s.calls.load(Ordering::Relaxed),
            failures: s.failures.load(Ordering::Relaxed),
            seconds: s.nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }

    pub(crate) fn availability(&self) -> Availability {
        self.inner.health.availability()
    }

    pub(crate) fn ping(&self) -> Result<(), StoreError> {
        let pool = self.inner.pool.clone();
        self.call("answer a ping", async move {
            let client = pool.get().await.map_err(pool_error)?;
            client.simple_query("SELECT 1").await.map_err(db_error)?;
            Ok(())
        })
    }

    pub(crate) fn read(&self, slot: Slot, workspace: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let pool = self.inner.pool.clone();
        let workspace = workspace.to_owned();
        let sql = format!("SELECT body::text FROM labwatch.{} WHERE workspace = $1", slot.table());
        self.call("read a record", async move {
            let client = pool.get().await.map_err(pool_error)?;
            let row = client.query_opt(&sql, &[&workspace]).await.map_err(db_error)?;
            row.map(|r| col::<String>(&r, 0).map(String::into_bytes)).transpose()
        })
    }

    pub(crate) fn write(&self, slot: Slot, workspace: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        // Records are JSON made by serde_json; the column is jsonb so that
        // a person can query them, and PostgreSQL checks them on the way in.
        let body = String::from_utf8(bytes).map_err(|_| StoreError::Encode {
            at: Place::Row {
                table: slot.table(),
                workspace: workspace.to_owned(),
            },
            problem: "the record is not UTF-8 JSON".to_owned(),
        })?;
        let pool = self.inner.pool.clone();
        let workspace = workspace.to_owned();
        let sql = format!(
            "INSERT INTO labwatch.{} (workspace, body, updated_at) VALUES ($1, $2::text::jsonb, now()) \
             ON CONFLICT (workspace) DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at",
            slot.table()
        );
        self.call("write a record", async move {
            let client = pool.get().await.map_err(pool_error)?;
            client.execute(&sql, &[&workspace, &body]).await.map_err(db_error)?;
            Ok(())
        })
    }

    pub(crate) fn delete(&self, slot: Slot, workspace: &str) -> Result<(), StoreError> {
        let pool = self.inner.pool.clone();
        let workspace = workspace.to_owned();
        let sql = format!("DELETE FROM labwatch.{} WHERE workspace = $1", slot.table());
        self.call("delete a record", async move {
            let client = pool.get().await.map_err(pool_error)?;
            client.execute(&sql, &[&workspace]).await.map_err(db_error)?;
            Ok(())
        })
    }

    pub(crate) fn names(&self, slot: Slot) -> Result<Vec<String>, StoreError> {
        let pool = self.inner.pool.clone();
        let sql = format!("SELECT workspace FROM labwatch.{} ORDER BY workspace", slot.table());
        self.call("list records", async move {
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client.query(&sql, &[]).await.map_err(db_error)?;
            rows.iter().map(|r| col::<String>(r, 0)).collect()
        })
    }

    /// Moves the connection row to `set_aside_connections`, in one statement.
    pub(crate) fn set_aside(&self, workspace: &str) -> Result<Option<Place>, StoreError> {
        let pool = self.inner.pool.clone();
        let name = workspace.to_owned();
        let moved = self.call("set a connection aside", async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute(
                    "WITH moved AS (DELETE FROM labwatch.connections WHERE workspace = $1 RETURNING workspace, body) \
                     INSERT INTO labwatch.set_aside_connections (workspace, body) SELECT workspace, body FROM moved",
                    &[&name],
                )
                .await
                .map_err(db_error)
        })?;
        Ok((moved > 0).then(|| Place::Row {
            table: "set_aside_connections",
            workspace: workspace.to_owned(),
        }))
    }

    /// Deletes every row of `workspace` but its audit entries, in one
    /// transaction; returns the tables that had one.
    pub(crate) fn remove_workspace(&self, workspace: &str) -> Result<Vec<String>, StoreError> {
        let pool = self.inner.pool.clone();
        let workspace = workspace.to_owned();
        self.call("remove a workspace", async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await.map_err(db_error)?;
            let mut removed = Vec::new();
            let tables = [
                Slot::Marker.table(),
                Slot::Rotated.table(),
                Slot::Connection.table(),
                "set_aside_connections",
                Slot::Disconnected.table(),
                Slot::Workspace.table(),
            ];
            for table in tables {
                let sql = format!("DELETE FROM labwatch.{table} WHERE workspace = $1");
                if tx.execute(&sql, &[&workspace]).await.map_err(db_error)? > 0 {
                    removed.push(table.to_owned());
                }
            }
            // Its lease and verdict go too: nobody is to own or report a
            // workspace that is gone.
            for table in ["leases", "verdicts"] {
                tx.execute(
                    &format!("DELETE FROM labwatch.{table} WHERE workspace = $1"),
                    &[&workspace],
                )
                .await
                .map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)?;
            Ok(removed)
        })
    }

    /// Writes `records` and `audit` in one transaction (`store migrate`).
    pub(crate) fn import(&self, records: Vec<super::Record>, audit: &[AuditEntry]) -> Result<(), StoreError> {
        let mut bodies = Vec::with_capacity(records.len());
        for (slot, workspace, bytes) in records {
            let body = String::from_utf8(bytes).map_err(|_| StoreError::Encode {
                at: Place::Row {
                    table: slot.table(),
                    workspace: workspace.clone(),
                },
                problem: "the record is not UTF-8 JSON".to_owned(),
            })?;
            bodies.push((slot, workspace, body));
        }
        let rows: Vec<AuditRow> = audit.iter().map(AuditRow::from).collect();
        let pool = self.inner.pool.clone();
        self.call("import records", async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await.map_err(db_error)?;
            for (slot, workspace, body) in &bodies {
                let sql = format!(
                    "INSERT INTO labwatch.{} (workspace, body) VALUES ($1, $2::text::jsonb)",
                    slot.table()
                );
                tx.execute(&sql, &[workspace, body]).await.map_err(db_error)?;
            }
            for row in &rows {
                tx.execute(AUDIT_INSERT, &row.params()).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    /// Runs `work` on the store's runtime and waits for its answer, from
    /// any thread. Records whether the database answered.
    fn call<T, F>(&self, action: &'static str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, Failure>> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.spawn(async move {
            let _ = tx.send(work.await);
        });
        let started = std::time::Instant::now();
        let result = rx.recv().unwrap_or_else(|_| {
            Err(Failure::Db {
                problem: "the store's runtime stopped".to_owned(),
                retryable: true,
            })
        });
        self.inner.health.record(result.as_ref().err());
        self.inner.stats.record(started.elapsed(), result.is_ok());
        result.map_err(|f| f.into_error(action))
    }

    fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        if let Some(runtime) = &self.inner.runtime {
            runtime.spawn(work);
        }
    }
}

/// The store's calls, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StoreStats {
    pub calls: u64,
    pub failures: u64,
    /// Their time in all, waiting for a connection included.
    pub seconds: f64,
}

#[derive(Default)]
struct Stats {
    calls: AtomicU64,
    failures: AtomicU64,
    nanos: AtomicU64,
}

impl Stats {
    fn record(&self, took: Duration, ok: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// Pings the database every [`PING_EVERY`] while the store is open.
async fn ping_while_open(inner: Weak<Inner>) {
    let mut every = tokio::time::interval(PING_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let pool = inner.pool.clone();
        let outcome = async {
            let client = pool.get().await.map_err(pool_error)?;
            client.simple_query("SELECT 1").await.map_err(db_error)?;
            Ok::<(), Failure>(())
        }
        .await;
        inner.health.record(outcome.as_ref().err());
    }
}

/// What went wrong inside a call, before it is named for the caller.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The driver's or the pool's error.
    Db {
        problem: String,
        /// The same call can succeed later: the server is away, or busy.
        retryable: bool,
    },
    /// TLS with the server failed (its certificate, most often): a
    /// setting to fix, not a wait.
    Tls { problem: String },
    /// A finding of the store's own (a schema too new), passed on as it is.
    Store(StoreError),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Failure::Db { retryable, .. } => *retryable,
            Failure::Tls { .. } => false,
            Failure::Store(e) => e.is_unavailable(),
        }
    }

    fn problem(&self) -> String {
        match self {
            Failure::Db { problem, .. } | Failure::Tls { problem } => problem.clone(),
            Failure::Store(e) => e.to_string(),
        }
    }

    fn into_error(self, action: &'static str) -> StoreError {
        match self {
            Failure::Store(e) => e,
            Failure::Db { problem, retryable } => StoreError::Database {
                action,
                problem,
                retryable,
                fix: if retryable {
                    "Nothing was written; retry once PostgreSQL is reachable again (`/readyz` says when)"
                } else {
                    "Nothing was written; check the database user's privileges on schema `labwatch` and the server's log"
                },
            },
            Failure::Tls { problem } => StoreError::Database {
                action,
                problem,
                retryable: false,
                fix: "Nothing was written. Set [store.postgres] ca_file to the CA that issued the server's certificate \
                      (or rely on the system's roots), and name the server in the URL as its certificate does",
            },
        }
    }
}

/// What opening the store does with its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Applies the migrations this labwatch has and the database lacks
    /// (the daemon, `store migrate`).
    Migrate,
    /// Changes nothing, and refuses a schema at another version (a
    /// command that only reads).
    AsItIs,
}

/// A driver error: retryable when the connection failed or the server is
/// going away, starting up, out of resources, or asks for a retry.
fn db_error(e: tokio_postgres::Error) -> Failure {
    let Some(db) = e.as_db_error() else {
        // The driver's own words ("error performing TLS handshake") hide
        // the cause in their sources, which the operator needs.
        let mut problem = e.to_string();
        let mut tls = false;
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            // tokio-rustls wraps rustls's error in an io::Error, whose
            // `source` skips it.
            let wrapped = cause
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .is_some_and(|inner| inner.is::<rustls::Error>());
            tls |= wrapped || cause.is::<rustls::Error>();
            problem = format!("{problem}: {cause}");
            source = cause.source();
        }
        // Otherwise no answer from the server: the connection is closed or
        // broke.
        return match tls {
            true => Failure::Tls { problem },
            false => Failure::Db {
                problem,
                retryable: true,
            },
        };
    };
    let code = db.code();
    let class = &code.code()[..2];
    let retryable = matches!(class, "08" | "53" | "57" | "58")
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED;
    Failure::Db {
        problem: format!("{} {}: {}", db.severity(), code.code(), db.message()),
        retryable,
    }
}

/// Column `i` of `row`, or why not: a column of another type than this
/// labwatch's schema says means someone changed the table, which is an
/// error to report, never a panic.
pub(super) fn col<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    i: usize,
) -> Result<T, Failure> {
    row.try_get(i).map_err(|e| Failure::Db {
        problem: format!("a column of the store's tables is not what this labwatch's schema says ({e}); was the schema changed by hand?"),
        retryable: false,
    })
}

/// The pool's errors: a timeout or a failed connection can succeed later.
fn pool_error(e: PoolError) -> Failure {
    match e {
        PoolError::Backend(e) => db_error(e),
        PoolError::Timeout(kind) => Failure::Db {
            problem: format!("no connection to the database within {} s ({kind:?})", WAIT.as_secs()),
            retryable: true,
        },
        other => Failure::Db {
            problem: other.to_string(),
            retryable: false,
        },
    }
}

/// No key in the environment and no key file: a new key could not read
/// what the database holds, so the PostgreSQL store never creates one.
pub(crate) fn missing_key(key_file: &std::path::Path) -> StoreError {
    StoreError::Key {
        origin: format!("the key file `{}`", key_file.display()),
        problem: "it does not exist, and the PostgreSQL store never creates a key: every replica must use the same \
                  one. Fix: copy the key the store was written with to that path (or set LABWATCH_STORE_KEY); \
                  for a new store, make one with `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > key` \
                  and give it to every replica"
            .to_owned(),
    }
}
