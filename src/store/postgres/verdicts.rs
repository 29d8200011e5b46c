//! Verdicts: each workspace's entry of the `/status` document, written by
//! the replica that owns the workspace after each of its rounds, so that
//! every replica can answer for every workspace with the freshest one, and
//! say which replica produced it and when.
//!
//! A write is fenced in its own statement: a row is written only where the
//! writer holds the workspace's lease at the epoch it names, by the
//! database's clock. A replica that was paused past its lease writes
//! nothing for the workspaces it lost.

use time::OffsetDateTime;

use super::{PostgresBackend, col, db_error, pool_error};
use crate::store::StoreError;

/// One workspace's verdict as another replica wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub workspace: String,
    /// The replica that produced it.
    pub replica: String,
    /// When it was written, by the database's clock.
    pub at: OffsetDateTime,
    /// The workspace's `/status` entry.
    pub body: serde_json::Value,
}

impl PostgresBackend {
    /// Writes `verdicts` (workspace, lease epoch, JSON) of `replica`, each
    /// only where the lease still holds; returns how many were written.
    pub(crate) fn write_verdicts(
        &self,
        replica: &str,
        verdicts: Vec<(String, i64, String)>,
    ) -> Result<u64, StoreError> {
        let pool = self.inner.pool.clone();
        let replica = replica.to_owned();
        let (mut names, mut epochs, mut bodies) = (Vec::new(), Vec::new(), Vec::new());
        for (name, epoch, body) in verdicts {
            names.push(name);
            epochs.push(epoch);
            bodies.push(body);
        }
        self.call("write verdicts", async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute(
                    "INSERT INTO labwatch.verdicts (workspace, replica, epoch, at, body) \
                     SELECT v.workspace, $1, v.epoch, now(), v.body::jsonb \
                     FROM unnest($2::text[], $3::bigint[], $4::text[]) AS v(workspace, epoch, body) \
                     JOIN labwatch.leases l ON l.workspace = v.workspace AND l.owner = $1 \
                          AND l.epoch = v.epoch AND l.expires_at > now() \
                     ON CONFLICT (workspace) DO UPDATE SET replica = EXCLUDED.replica, epoch = EXCLUDED.epoch, \
                          at = EXCLUDED.at, body = EXCLUDED.body",
                    &[&replica, &names, &epochs, &bodies],
                )
                .await
                .map_err(db_error)
        })
    }

    /// The verdicts of every workspace, by name; or of `only`.
    pub(crate) fn read_verdicts(&self, only: Option<&str>) -> Result<Vec<Verdict>, StoreError> {
        let pool = self.inner.pool.clone();
        let only = only.map(str::to_owned);
        self.call("read verdicts", async move {
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client
                .query(
                    "SELECT workspace, replica, at, body::text FROM labwatch.verdicts \
                     WHERE $1::text IS NULL OR workspace = $1 ORDER BY workspace",
                    &[&only],
                )
                .await
                .map_err(db_error)?;
            let mut verdicts = Vec::with_capacity(rows.len());
            for r in &rows {
                let body: String = col(r, 3)?;
                // jsonb is JSON; a body that is not an object is not ours.
                let Ok(body @ serde_json::Value::Object(_)) = serde_json::from_str(&body) else {
                    continue;
                };
                verdicts.push(Verdict {
                    workspace: col(r, 0)?,
                    replica: col(r, 1)?,
                    at: col(r, 2)?,
                    body,
                });
            }
            Ok(verdicts)
        })
    }
}
