//! One rotation at a time across replicas: a session advisory lock per
//! workspace, on a connection of its own (not the pool's: a rotation makes
//! store calls of its own while it holds the lock, and concurrent
//! rotations must not take every pooled connection) that the guard holds
//! until it is dropped. Dropping it closes the session, which releases the
//! lock; so does a replica's death. The
//! rotation's marker is written on that same session, so only the lock's
//! holder writes one, and, for a rotation the workspace's owner started on
//! its own (the schedule), only while its lease holds: the fence is in the
//! statement that writes the marker.

use std::sync::Arc;

use super::{PostgresBackend, col, db_error};
use crate::store::{Slot, StoreError};

impl PostgresBackend {
    /// Takes the rotation lock of `workspace` across replicas, without
    /// waiting: `None` when another replica (or another call here) holds
    /// it. A session advisory lock on a connection of the pool, held by the
    /// guard; a replica that dies releases it with its connection.
    pub(crate) fn try_rotation_lock(&self, workspace: &str) -> Result<Option<RotationLock>, StoreError> {
        let (config, tls) = self.inner.direct.clone();
        let name = workspace.to_owned();
        let held = self.call("take a rotation lock", async move {
            let (client, connection) = config.connect(tls).await.map_err(db_error)?;
            // Ends when the client is dropped: the session closes and the
            // server releases its locks.
            tokio::spawn(connection);
            let row = client
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtext('labwatch-rotation'), hashtext($1))",
                    &[&name],
                )
                .await
                .map_err(db_error)?;
            Ok(col::<bool>(&row, 0)?.then_some(client))
        })?;
        Ok(held.map(|client| RotationLock {
            held: Some((Arc::new(client), workspace.to_owned())),
        }))
    }
}

impl PostgresBackend {
    /// Writes the rotation marker `body` of the workspace `lock` guards, on
    /// the lock's session; with `fence` (replica, epoch), only where that
    /// replica still holds the workspace's lease at that epoch. False: the
    /// fence refused, nothing was written.
    pub(crate) fn write_marker_locked(
        &self,
        lock: &RotationLock,
        body: String,
        fence: Option<(String, i64)>,
    ) -> Result<bool, StoreError> {
        let Some((client, workspace, replica, epoch)) = lock.session(fence) else {
            return Ok(false);
        };
        let sql = format!(
            "INSERT INTO labwatch.{table} (workspace, body, updated_at) \
             SELECT $1, $2::text::jsonb, now() \
             WHERE $3::text IS NULL OR EXISTS (SELECT 1 FROM labwatch.leases \
                 WHERE workspace = $1 AND owner = $3 AND epoch = $4 AND expires_at > now()) \
             ON CONFLICT (workspace) DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at",
            table = Slot::Marker.table()
        );
        self.call("write a rotation marker", async move {
            let written = client
                .execute(&sql, &[&workspace, &body, &replica, &epoch])
                .await
                .map_err(db_error)?;
            Ok(written == 1)
        })
    }
}

impl PostgresBackend {
    /// Removes the rotation marker of the workspace `lock` guards, on the
    /// lock's session; with `fence` (replica, epoch), only where that
    /// replica still holds the workspace's lease at that epoch, checked in
    /// the same statement. False: the fence refused, nothing was removed
    /// (an absent marker with the fence holding is true: nothing to do).
    pub(crate) fn clear_marker_locked(
        &self,
        lock: &RotationLock,
        fence: Option<(String, i64)>,
    ) -> Result<bool, StoreError> {
        let Some((client, workspace, replica, epoch)) = lock.session(fence) else {
            return Ok(false);
        };
        let sql = format!(
            "WITH fence AS (SELECT $2::text IS NULL OR EXISTS (SELECT 1 FROM labwatch.leases \
                 WHERE workspace = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()) AS holds), \
             gone AS (DELETE FROM labwatch.{table} WHERE workspace = $1 AND (SELECT holds FROM fence) RETURNING 1) \
             SELECT holds FROM fence",
            table = Slot::Marker.table()
        );
        self.call("remove a rotation marker", async move {
            let row = client
                .query_one(&sql, &[&workspace, &replica, &epoch])
                .await
                .map_err(db_error)?;
            col::<bool>(&row, 0)
        })
    }
}

/// A rotation lock held across replicas; released when dropped (its
/// session closes).
pub struct RotationLock {
    held: Option<(Arc<tokio_postgres::Client>, String)>,
}

/// The lock's session and workspace, with a fence's replica and epoch
/// as statement parameters (both `NULL` without a fence).
type Session = (Arc<tokio_postgres::Client>, String, Option<String>, Option<i64>);

impl RotationLock {
    fn session(&self, fence: Option<(String, i64)>) -> Option<Session> {
        let (client, workspace) = self.held.as_ref()?;
        let (replica, epoch) = fence.map_or((None, None), |(r, e)| (Some(r), Some(e)));
        Some((client.clone(), workspace.clone(), replica, epoch))
    }
}
