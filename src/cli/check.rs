//! `labwatch check`: one round of every check of every workspace a daemon
//! on the same config and store runs (the file's and those created at run
//! time), printed as text, JSON or in the Nagios format, with the worst
//! status as the exit code.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::OffsetDateTime;

use super::args::{CheckArgs, Output};
use super::{CommandError, load, unknown_workspace};
use crate::config::{Config, StoreBackend};
use crate::engine::{StatusStore, run_once};
use crate::report::{self, ConnectionView};
use crate::runtime;
use crate::store::{ConnectionStore, Schema};

pub async fn check(args: CheckArgs) -> Result<u8, CommandError> {
    let config = load(&args.config)?;
    let shared = crate::checks::Shared::default();
    shared.instances.configure(&config.instances);
    let mut built = runtime::build_known(&config, existing_store(&config).as_ref(), &shared);
    if let Some(name) = &args.workspace {
        built.retain(|b| &b.plan.workspace == name);
        if built.is_empty() {
            return Err(unknown_workspace(&config, name));
        }
    }
    let store = Arc::new(StatusStore::new());
    run_once(
        built.iter().map(|b| b.plan.clone()).collect(),
        store.clone(),
        config.engine.concurrency,
    )
    .await;
    let views = store.snapshot();
    let rendered = match args.output {
        Output::Text => report::text(&views),
        Output::Nagios => report::nagios(&views),
        Output::Json => {
            let connections: BTreeMap<String, ConnectionView> = built
                .iter()
                .map(|b| (b.plan.workspace.clone(), b.connection()))
                .collect();
            let doc = report::StatusDoc::new(&views, &connections, OffsetDateTime::now_utc());
            let mut s = serde_json::to_string_pretty(&doc).map_err(|e| CommandError::Io(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    print!("{rendered}");
    Ok(report::overall(&views).code())
}

/// The daemon's connection store, if this host has one and it opens: a
/// one-shot check then sees connections made through the admin API. Never
/// creates a store or key; a store that does not open is reported and
/// skipped (the check falls back to `token_file`).
///
/// On PostgreSQL (`backend = "postgres"`) the store is the database's,
/// used only when its schema is this labwatch's own: a check changes
/// nothing, so it never migrates one. A database out of reach, or at
/// another schema version, is reported and skipped like a file store that
/// does not open.
pub(super) fn existing_store(config: &Config) -> Option<Arc<ConnectionStore>> {
    if config.store.backend == StoreBackend::Postgres {
        return match crate::daemon::open_store(config, Schema::AsItIs) {
            Ok(store) => Some(Arc::new(store)),
            Err(e) => {
                eprintln!("warning: the connection store is not used: {e}");
                None
            }
        };
    }
    let key_given = std::env::var_os(crate::store::KEY_ENV).is_some_and(|v| !v.is_empty());
    if !config.store.dir.is_dir() || !(key_given || config.store.key_file.is_file()) {
        return None;
    }
    match ConnectionStore::open(&config.store.dir, &config.store.key_file) {
        Ok(store) => Some(Arc::new(store)),
        Err(e) => {
            eprintln!("warning: the connection store is not used: {e}");
            None
        }
    }
}
