//! Change notices between replicas: `NOTIFY labwatch_changes` with
//! `replica<TAB>kind<TAB>workspace`, and a connection of its own per replica
//! that LISTENs and is made again a second after it breaks. A change made
//! on one replica (a connect, a rotation, a new workspace, "run now") thus
//! reaches the workspace's owner at once. A listener that was away (the
//! database restarted, the network broke) catches up on the records that
//! changed meanwhile when it listens again.

use std::time::Duration;

use super::{PostgresBackend, PostgresOptions, db_error, pool_error};
use crate::store::StoreError;

impl PostgresBackend {
    /// Tells every replica listening that `workspace` changed (`kind`), in
    /// the name of `replica`.
    pub(crate) fn notify(&self, replica: &str, kind: &str, workspace: &str) -> Result<(), StoreError> {
        let pool = self.inner.pool.clone();
        let payload = format!("{replica}\t{kind}\t{workspace}");
        self.call("send a change notice", async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute("SELECT pg_notify('labwatch_changes', $1)", &[&payload])
                .await
                .map_err(db_error)?;
            Ok(())
        })
    }

    /// The notices of every replica, as they come: a connection of its own
    /// that LISTENs, made again a second after it breaks. Notices sent
    /// while it was down are not delivered again: on reconnecting, the
    /// records changed since it last knew itself listening become notices
    /// of their own (a targeted catch-up, not a re-plan of the fleet), and
    /// the lease rounds catch up on deletions.
    pub(crate) fn listen(
        &self,
        options: &PostgresOptions,
    ) -> Result<tokio::sync::mpsc::UnboundedReceiver<Notice>, StoreError> {
        let mut config = options.driver_config()?;
        // Told apart in `pg_stat_activity` from the pool's sessions.
        let name = format!(
            "{} (change notices)",
            config.get_application_name().unwrap_or("labwatch")
        );
        config.application_name(&name);
        let tls = options.tls()?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.spawn(listen_forever(config, tls, tx));
        Ok(rx)
    }
}

/// A change another replica made, for the workspace's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub replica: String,
    /// [`Notice::CONNECTION`], [`Notice::WORKSPACE`] or [`Notice::RUN`].
    pub kind: String,
    pub workspace: String,
}

impl Notice {
    /// Its connection changed (connect, new token, rotation, disconnect,
    /// repositories): re-plan it.
    pub const CONNECTION: &'static str = "connection";
    /// A run-time workspace was created, updated or deleted: read the
    /// records again.
    pub const WORKSPACE: &'static str = "workspace";
    /// Run its checks now.
    pub const RUN: &'static str = "run";
}

/// How often the listening connection reads the database's clock while
/// it waits: the last reading bounds what a break may have missed.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// Read back from the last heartbeat before a break: a change's
/// `updated_at` is its transaction's start, which may come a little before
/// its commit (and its notice).
const CATCH_UP_MARGIN: &str = "30 seconds";

/// The changes a listener that was away may have missed: every record
/// written since `$1` (less the margin), as the notices it would have got.
/// Deletions of workspaces are the lease rounds' to catch up; a disconnect
/// leaves its own record.
const MISSED: &str = "SELECT 'connection', workspace FROM labwatch.connections WHERE updated_at >= $1::timestamptz - $2::text::interval \
     UNION SELECT 'connection', workspace FROM labwatch.disconnects WHERE updated_at >= $1::timestamptz - $2::text::interval \
     UNION SELECT 'workspace', workspace FROM labwatch.workspaces WHERE updated_at >= $1::timestamptz - $2::text::interval";

async fn listen_forever(
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    tx: tokio::sync::mpsc::UnboundedSender<Notice>,
) {
    use tokio_postgres::AsyncMessage;
    // The database's clock when the listener last knew itself listening;
    // `None` before the first connection (the records were read at start).
    let mut alive_at: Option<time::OffsetDateTime> = None;
    while !tx.is_closed() {
        if let Ok((client, mut connection)) = config.connect(tls.clone()).await {
            let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
            let forward = tx.clone();
            // The connection is driven here; notices arrive as its messages.
            let driver = tokio::spawn(async move {
                loop {
                    match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                        Some(Ok(AsyncMessage::Notification(n))) => {
                            if let Some(notice) = Notice::parse(n.payload()) {
                                let _ = forward.send(notice);
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break,
                    }
                }
                let _ = done_tx.send(());
            });
            if client.batch_execute("LISTEN labwatch_changes").await.is_ok() {
                // Listening again: what changed while it was not is read
                // back, for the owners to act on as on any notice.
                if let Some(since) = alive_at {
                    match client.query(MISSED, &[&since, &CATCH_UP_MARGIN]).await {
                        Ok(rows) => {
                            tracing::info!(
                                changed = rows.len(),
                                "Listening to the other replicas again; catching up on what changed meanwhile"
                            );
                            for row in rows {
                                if let (Ok(kind), Ok(workspace)) =
                                    (row.try_get::<_, String>(0), row.try_get::<_, String>(1))
                                {
                                    let _ = tx.send(Notice {
                                        replica: String::new(),
                                        kind,
                                        workspace,
                                    });
                                }
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "Cannot read what changed while not listening; the next reconnection tries again")
                        }
                    }
                }
                let mut beat = tokio::time::interval(HEARTBEAT);
                loop {
                    tokio::select! {
                        _ = &mut done_rx => break,
                        _ = beat.tick() => match client.query_one("SELECT now()", &[]).await {
                            Ok(row) => {
                                if let Ok(now) = row.try_get(0) {
                                    alive_at = Some(now);
                                }
                            }
                            Err(_) => break,
                        },
                    }
                }
            }
            driver.abort();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl Notice {
    /// `replica<TAB>kind<TAB>workspace`, as [`PostgresBackend::notify`] sends it.
    fn parse(payload: &str) -> Option<Notice> {
        let mut parts = payload.splitn(3, '\t');
        Some(Notice {
            replica: parts.next()?.to_owned(),
            kind: parts.next()?.to_owned(),
            workspace: parts.next()?.to_owned(),
        })
    }
}
