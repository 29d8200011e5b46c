//! The audit log as rows of `labwatch.audit_log`, which a trigger keeps
//! append-only (migration 1).

use time::OffsetDateTime;

use super::{PostgresBackend, col, db_error, pool_error};
use crate::store::{AuditEntry, Place, StoreError};

impl PostgresBackend {
    pub(crate) fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let pool = self.inner.pool.clone();
        let row = AuditRow::from(entry);
        self.call("append to the audit log", async move {
            let client = pool.get().await.map_err(pool_error)?;
            client.execute(AUDIT_INSERT, &row.params()).await.map_err(db_error)?;
            Ok(())
        })
    }

    pub(crate) fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let pool = self.inner.pool.clone();
        let rows = self.call("read the audit log", async move {
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client
                .query(
                    "SELECT at, workspace, actor, action, result, token_id, detail FROM labwatch.audit_log ORDER BY id",
                    &[],
                )
                .await
                .map_err(db_error)?;
            rows.iter()
                .map(|r| {
                    Ok(AuditRow {
                        at: col(r, 0)?,
                        workspace: col(r, 1)?,
                        actor: col(r, 2)?,
                        action: col(r, 3)?,
                        result: col(r, 4)?,
                        token_id: col(r, 5)?,
                        detail: col(r, 6)?,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        rows.into_iter().map(AuditRow::into_entry).collect()
    }
}

pub(super) const AUDIT_INSERT: &str = "INSERT INTO labwatch.audit_log (at, workspace, actor, action, result, token_id, detail) \
                            VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// An audit entry as the table's columns.
pub(super) struct AuditRow {
    at: OffsetDateTime,
    workspace: String,
    actor: String,
    action: String,
    result: String,
    token_id: Option<i64>,
    detail: Option<String>,
}

impl From<&AuditEntry> for AuditRow {
    fn from(entry: &AuditEntry) -> AuditRow {
        AuditRow {
            at: entry.at,
            workspace: entry.workspace.clone(),
            actor: kebab(&entry.actor),
            action: kebab(&entry.action),
            result: String::from(entry.result.clone()),
            // GitLab's ids are far below 2^63.
            token_id: entry.token_id.and_then(|id| i64::try_from(id).ok()),
            detail: entry.detail.clone(),
        }
    }
}

impl AuditRow {
    /// The parameters of [`AUDIT_INSERT`].
    pub(super) fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 7] {
        [
            &self.at,
            &self.workspace,
            &self.actor,
            &self.action,
            &self.result,
            &self.token_id,
            &self.detail,
        ]
    }

    fn into_entry(self) -> Result<AuditEntry, StoreError> {
        let at = Place::Row {
            table: "audit_log",
            workspace: self.workspace.clone(),
        };
        let unknown = |what: &str, value: &str| StoreError::Format {
            at: at.clone(),
            problem: format!("unknown {what} `{value}`"),
            fix: "run the labwatch version that wrote it",
        };
        Ok(AuditEntry {
            at: self.at,
            actor: serde_json::from_value(self.actor.clone().into()).map_err(|_| unknown("actor", &self.actor))?,
            action: serde_json::from_value(self.action.clone().into()).map_err(|_| unknown("action", &self.action))?,
            result: self.result.into(),
            token_id: self.token_id.and_then(|id| u64::try_from(id).ok()),
            detail: self.detail,
            workspace: self.workspace,
        })
    }
}

/// The kebab-case name serde gives a unit variant.
fn kebab<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
