//! Change notices between replicas: `NOTIFY labwatch_changes` with
//! `replica<TAB>kind<TAB>workspace`, and a connection of its own per replica
//! that LISTENs and is made again a second after it breaks. A change made
//! on one replica (a connect, a rotation, a new workspace, "run now") thus
//! reaches the workspace's owner at once.

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
    /// while it was down are lost; the lease rounds catch up on creations
    /// and deletions.
    pub(crate) fn listen(
        &self,
        options: &PostgresOptions,
    ) -> Result<tokio::sync::mpsc::UnboundedReceiver<Notice>, StoreError> {
        let config = options.driver_config()?;
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

async fn listen_forever(
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    tx: tokio::sync::mpsc::UnboundedSender<Notice>,
) {
    use tokio_postgres::AsyncMessage;
    while !tx.is_closed() {
        if let Ok((client, mut connection)) = config.connect(tls.clone()).await {
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            let forward = tx.clone();
            // The connection is driven here; notices arrive as its messages.
            let driver = tokio::spawn(async move {
                loop {
                    match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                        Some(Ok(AsyncMessage::Notification(n))) => {
                            let mut parts = n.payload().splitn(3, '\t');
                            if let (Some(replica), Some(kind), Some(workspace)) =
                                (parts.next(), parts.next(), parts.next())
                            {
                                let _ = forward.send(Notice {
                                    replica: replica.to_owned(),
                                    kind: kind.to_owned(),
                                    workspace: workspace.to_owned(),
                                });
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break,
                    }
                }
                let _ = done_tx.send(());
            });
            if client.batch_execute("LISTEN labwatch_changes").await.is_ok() {
                let _ = done_rx.await;
            }
            driver.abort();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
