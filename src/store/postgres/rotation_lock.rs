//! One rotation at a time across replicas: a session advisory lock per
//! workspace, on a connection of the pool that the guard holds until it is
//! dropped. A replica that dies releases it with its connection.

use super::{PostgresBackend, db_error, pool_error};
use crate::store::StoreError;

impl PostgresBackend {
    /// Takes the rotation lock of `workspace` across replicas, without
    /// waiting: `None` when another replica (or another call here) holds
    /// it. A session advisory lock on a connection of the pool, held by the
    /// guard; a replica that dies releases it with its connection.
    pub(crate) fn try_rotation_lock(&self, workspace: &str) -> Result<Option<RotationLock>, StoreError> {
        let pool = self.inner.pool.clone();
        let name = workspace.to_owned();
        let held = self.call("take a rotation lock", async move {
            let client = pool.get().await.map_err(pool_error)?;
            let row = client
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtext('labwatch-rotation'), hashtext($1))",
                    &[&name],
                )
                .await
                .map_err(db_error)?;
            Ok(row.get::<_, bool>(0).then_some(client))
        })?;
        let handle = self.inner.runtime.as_ref().map(|r| r.handle().clone());
        Ok(match (held, handle) {
            (Some(client), Some(handle)) => Some(RotationLock {
                held: Some((client, handle, workspace.to_owned())),
            }),
            _ => None,
        })
    }
}

/// A rotation lock held across replicas; released when dropped.
pub struct RotationLock {
    held: Option<(deadpool_postgres::Object, tokio::runtime::Handle, String)>,
}

impl Drop for RotationLock {
    fn drop(&mut self) {
        if let Some((client, handle, workspace)) = self.held.take() {
            // Unlocked before the connection goes back to the pool; if the
            // connection broke, the lock went with its session.
            handle.spawn(async move {
                let _ = client
                    .execute(
                        "SELECT pg_advisory_unlock(hashtext('labwatch-rotation'), hashtext($1))",
                        &[&workspace],
                    )
                    .await;
            });
        }
    }
}
