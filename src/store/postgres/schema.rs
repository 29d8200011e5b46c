//! The schema, versioned: each migration is an SQL file embedded in the
//! binary and applied once, in order, at open, inside one transaction that
//! holds an advisory lock, so replicas starting together migrate once.
//! `labwatch.schema_migrations` records each version with the labwatch
//! that applied it. A database whose schema is newer than this binary's
//! is refused: its rows may mean what this version does not know. A
//! command that only reads (`labwatch check`) changes nothing: it uses the
//! schema only when it is this binary's own ([`current`]).

use deadpool_postgres::Object;

use super::{Failure, col, db_error};
use crate::store::StoreError;

/// The migrations, in order: version, what it does, its SQL.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "the store's records and the audit log",
        include_str!("migrations/0001_store.sql"),
    ),
    (
        2,
        "replicas and workspace leases",
        include_str!("migrations/0002_leases.sql"),
    ),
    (
        3,
        "each workspace's latest verdict",
        include_str!("migrations/0003_verdicts.sql"),
    ),
];

/// The schema version this labwatch writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// `pg_advisory_xact_lock` key: "labwatch" in ASCII, so another
/// application's lock is unlikely to collide.
const MIGRATION_LOCK: i64 = 0x6c61_6277_6174_6368;

/// Whether the schema is at [`SCHEMA_VERSION`] now, without changing it:
/// one at another version (none yet is version 0) is refused with what
/// to do.
pub(super) async fn current(client: &mut Object) -> Result<(), Failure> {
    // Two statements: one naming a table that is not there fails to plan.
    let row = client
        .query_one("SELECT to_regclass('labwatch.schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(db_error)?;
    let found = match col::<bool>(&row, 0)? {
        false => 0,
        true => {
            let row = client
                .query_one("SELECT coalesce(max(version), 0) FROM labwatch.schema_migrations", &[])
                .await
                .map_err(db_error)?;
            col::<i32>(&row, 0)?
        }
    };
    match found.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(Failure::Store(StoreError::SchemaBehind {
            found,
            known: SCHEMA_VERSION,
        })),
        std::cmp::Ordering::Greater => Err(Failure::Store(StoreError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
            binary: "a newer labwatch".to_owned(),
        })),
    }
}

/// Brings the schema to [`SCHEMA_VERSION`], or refuses a newer one.
pub(super) async fn migrate(client: &mut Object) -> Result<(), Failure> {
    let tx = client.transaction().await.map_err(db_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db_error)?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS labwatch;
         CREATE TABLE IF NOT EXISTS labwatch.schema_migrations (
             version     integer PRIMARY KEY,
             description text NOT NULL,
             applied_at  timestamptz NOT NULL DEFAULT now(),
             applied_by  text NOT NULL
         );",
    )
    .await
    .map_err(db_error)?;
    let newest = tx
        .query_opt(
            "SELECT version, applied_by FROM labwatch.schema_migrations ORDER BY version DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(db_error)?;
    let current = newest.as_ref().map(|row| col::<i32>(row, 0)).transpose()?.unwrap_or(0);
    if current > SCHEMA_VERSION {
        let binary = newest
            .as_ref()
            .map(|row| col::<String>(row, 1))
            .transpose()?
            .unwrap_or_default();
        return Err(Failure::Store(StoreError::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
            binary,
        }));
    }
    let me = format!("labwatch {}", env!("CARGO_PKG_VERSION"));
    for (version, description, sql) in MIGRATIONS.iter().filter(|(v, ..)| *v > current) {
        tx.batch_execute(sql).await.map_err(db_error)?;
        tx.execute(
            "INSERT INTO labwatch.schema_migrations (version, description, applied_by) VALUES ($1, $2, $3)",
            &[version, description, &me],
        )
        .await
        .map_err(db_error)?;
        tracing::info!(
            version,
            description,
            "Applied a schema migration to the PostgreSQL store"
        );
    }
    tx.commit().await.map_err(db_error)
}
