//! Leases: how replicas on one database split a fleet so that each
//! workspace is owned by exactly one live replica at a time.
//!
//! A replica calls [`PostgresBackend::lease_round`] every few seconds
//! (a third of the lease, so two missed rounds still keep it). One round,
//! in one transaction:
//!
//! 1. the replica's heartbeat: its row in `replicas` lives one lease more;
//! 2. a lease row for every workspace it knows (`ON CONFLICT DO NOTHING`);
//! 3. its own leases are renewed; those whose owner changed (it was paused
//!    past its lease and another replica claimed them) are not, and are
//!    lost;
//! 4. its fair share is `ceil(workspaces / live replicas)`: above it, it
//!    releases the surplus for others to claim; below it, it claims free or
//!    expired leases, `FOR UPDATE SKIP LOCKED` so that replicas claiming at
//!    once never wait for each other or claim the same row. Every claim
//!    adds one to the lease's epoch.
//!
//! A replica that dies stops renewing: its leases expire one lease period
//! later and the others claim them at their next round, so its workspaces
//! are owned again within two lease periods. The epoch is the fence: a
//! write made on a workspace's behalf names the epoch its writer holds
//! ([`PostgresBackend::holds_lease`]), and a replica that woke up after
//! losing the lease holds an older one.
//!
//! Time is the database's (`now()`), never the replicas' clocks.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{PostgresBackend, col, db_error, pool_error};
use crate::store::StoreError;

/// What one round left a replica with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseRound {
    /// The workspaces this replica owns now, with the epoch it holds.
    pub owned: BTreeMap<String, i64>,
    /// Workspaces claimed this round whose lease had expired in another
    /// replica's hands (taken over, not merely free).
    pub taken_over: Vec<String>,
    /// Workspaces it owned before this round and no longer does: released
    /// to rebalance, or lost while it was away.
    pub lost: Vec<String>,
    /// Live replicas, this one included.
    pub replicas: usize,
}

impl PostgresBackend {
    /// One lease round for `replica` over `workspaces` (every workspace the
    /// replica knows: the config's and the run-time ones), with leases of
    /// `lease`. `before` is what it owned after its last round.
    pub(crate) fn lease_round(
        &self,
        replica: &str,
        lease: Duration,
        workspaces: &[String],
        before: &BTreeMap<String, i64>,
    ) -> Result<LeaseRound, StoreError> {
        let pool = self.inner.pool.clone();
        let replica = replica.to_owned();
        let names = workspaces.to_vec();
        let seconds = lease.as_secs_f64();
        let before = before.clone();
        self.call("keep the workspace leases", async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await.map_err(db_error)?;
            tx.execute(
                "INSERT INTO labwatch.replicas (id, expires_at) VALUES ($1, now() + make_interval(secs => $2)) \
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), expires_at = EXCLUDED.expires_at",
                &[&replica, &seconds],
            )
            .await
            .map_err(db_error)?;
            tx.execute(
                "INSERT INTO labwatch.leases (workspace) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
                &[&names],
            )
            .await
            .map_err(db_error)?;
            let renewed = tx
                .query(
                    "UPDATE labwatch.leases SET expires_at = now() + make_interval(secs => $3) \
                     WHERE owner = $1 AND workspace = ANY($2) RETURNING workspace, epoch",
                    &[&replica, &names, &seconds],
                )
                .await
                .map_err(db_error)?;
            let mut owned = renewed
                .iter()
                .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
                .collect::<Result<BTreeMap<String, i64>, _>>()?;
            let live: i64 = col(
                &tx.query_one("SELECT count(*) FROM labwatch.replicas WHERE expires_at > now()", &[])
                    .await
                    .map_err(db_error)?,
                0,
            )?;
            let replicas = usize::try_from(live).unwrap_or(1).max(1);
            let share = names.len().div_ceil(replicas);
            let mut taken_over = Vec::new();
            if owned.len() > share {
                // The last names go: a stable choice, so a replica does not
                // hand back the workspaces it just claimed.
                let surplus: Vec<String> = owned.keys().skip(share).cloned().collect();
                tx.execute(
                    "UPDATE labwatch.leases SET owner = NULL, expires_at = '-infinity' \
                     WHERE owner = $1 AND workspace = ANY($2)",
                    &[&replica, &surplus],
                )
                .await
                .map_err(db_error)?;
                for name in &surplus {
                    owned.remove(name);
                }
            } else if owned.len() < share {
                let wanted = i64::try_from(share - owned.len()).unwrap_or(i64::MAX);
                let claimed = tx
                    .query(
                        "UPDATE labwatch.leases l \
                         SET owner = $1, epoch = l.epoch + 1, expires_at = now() + make_interval(secs => $4) \
                         FROM (SELECT workspace, owner AS previous FROM labwatch.leases \
                               WHERE workspace = ANY($2) AND (owner IS NULL OR expires_at <= now()) \
                               ORDER BY random() LIMIT $3 FOR UPDATE SKIP LOCKED) c \
                         WHERE l.workspace = c.workspace \
                         RETURNING l.workspace, l.epoch, c.previous",
                        &[&replica, &names, &wanted, &seconds],
                    )
                    .await
                    .map_err(db_error)?;
                for row in claimed {
                    let name: String = col(&row, 0)?;
                    let previous: Option<String> = col(&row, 2)?;
                    if previous.is_some_and(|p| p != replica) {
                        taken_over.push(name.clone());
                    }
                    owned.insert(name, col(&row, 1)?);
                }
            }
            tx.commit().await.map_err(db_error)?;
            taken_over.sort();
            let lost = before
                .iter()
                .filter(|(name, epoch)| owned.get(*name) != Some(epoch))
                .map(|(name, _)| name.clone())
                .collect();
            Ok(LeaseRound {
                owned,
                taken_over,
                lost,
                replicas,
            })
        })
    }

    /// Whether `replica` still holds `workspace`'s lease at `epoch`, by the
    /// database's clock: the fence a write on the workspace's behalf checks.
    pub(crate) fn holds_lease(&self, replica: &str, workspace: &str, epoch: i64) -> Result<bool, StoreError> {
        let pool = self.inner.pool.clone();
        let (replica, workspace) = (replica.to_owned(), workspace.to_owned());
        self.call("check a lease", async move {
            let client = pool.get().await.map_err(pool_error)?;
            let row = client
                .query_opt(
                    "SELECT 1 FROM labwatch.leases \
                     WHERE workspace = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()",
                    &[&workspace, &replica, &epoch],
                )
                .await
                .map_err(db_error)?;
            Ok(row.is_some())
        })
    }
}
