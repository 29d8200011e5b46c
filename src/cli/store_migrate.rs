//! `labwatch store migrate --from file --to postgres` (or back): copies an
//! installation's store from one backend to the other, both configured in
//! `[store]` of the same config and sealed with the same key.
//!
//! Everything is read and checked first (each connection must decrypt with
//! the key, each record must parse), then written: on PostgreSQL in one
//! transaction, so a failure leaves the target empty. The target must be
//! empty to begin with: merging two stores could put one workspace's
//! connection beside another's marker. The source is never changed, so
//! going back is starting the daemon on the old backend again. Connections
//! set aside as unreadable are not copied (labwatch cannot read them).

use super::CommandError;
use super::args::{BackendArg, MigrateArgs};
use crate::config::Config;
use crate::store::{ConnectionStore, Record, Schema, Slot, StoreError};

/// Runs the migration; exit 0 with a summary, or an error that says what
/// to fix (nothing was written to the target unless the summary says so).
pub fn migrate(args: &MigrateArgs) -> Result<u8, CommandError> {
    if args.from == args.to {
        return Err(CommandError::Usage(
            "--from and --to name the same backend; give `--from file --to postgres` or `--from postgres --to file`"
                .to_owned(),
        ));
    }
    let config = super::load(&args.config)?;
    if args.from == BackendArg::File && !config.store.dir.is_dir() {
        return Err(CommandError::Usage(format!(
            "the store directory {} does not exist, so there is nothing to copy: check [store] dir in {}",
            config.store.dir.display(),
            config.source.display()
        )));
    }
    let from = open(&config, args.from)?;
    let to = open(&config, args.to)?;
    let failed = |e: StoreError| CommandError::Io(format!("nothing was copied: {e}"));
    let already = to.count().map_err(failed)?;
    if already > 0 {
        return Err(CommandError::Usage(format!(
            "{} already holds {already} record(s); `store migrate` copies into an empty store only, so that no \
             workspace ends up with records of two installations. Nothing was copied. Empty it first, or point \
             [store] at an empty one",
            to.describe()
        )));
    }
    let mut records: Vec<Record> = Vec::new();
    let mut counts = [0usize; Slot::ALL.len()];
    for (i, slot) in Slot::ALL.into_iter().enumerate() {
        for workspace in from.names(slot).map_err(failed)? {
            if let Some(bytes) = from.export(slot, &workspace).map_err(failed)? {
                records.push((slot, workspace, bytes));
                counts[i] += 1;
            }
        }
    }
    let audit = from.audit_entries().map_err(failed)?;
    to.import(records, &audit)
        .map_err(|e| CommandError::Io(format!("the copy to {} failed: {e}", to.describe())))?;
    println!(
        "Copied {} to {}: {} run-time workspace(s), {} connection(s), {} rotated connection(s) awaiting save, \
         {} rotation marker(s), {} disconnect record(s), {} audit entr{}. {} is left as it was.",
        from.describe(),
        to.describe(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        audit.len(),
        if audit.len() == 1 { "y" } else { "ies" },
        capitalised(&from.describe()),
    );
    println!(
        "Next: set [store] backend = \"{}\" in {} and start labwatch.",
        name(args.to),
        config.source.display()
    );
    Ok(0)
}

/// Opens one side. The file store must exist already as the source; as
/// the target it is created like `run` creates it.
fn open(config: &Config, backend: BackendArg) -> Result<ConnectionStore, CommandError> {
    match backend {
        BackendArg::File => ConnectionStore::open(&config.store.dir, &config.store.key_file)
            .map_err(|e| CommandError::Io(format!("cannot open the file store: {e}"))),
        BackendArg::Postgres => {
            let Some(options) = &config.store.postgres else {
                return Err(CommandError::Usage(format!(
                    "{} has no [store.postgres] table: add one with `url` (postgres://user@host:port/dbname) \
                     to migrate to or from PostgreSQL",
                    config.source.display()
                )));
            };
            ConnectionStore::open_postgres(options, &config.store.key_file, Schema::Migrate)
                .map_err(|e| CommandError::Io(format!("cannot open the PostgreSQL store: {e}")))
        }
    }
}

fn name(backend: BackendArg) -> &'static str {
    match backend {
        BackendArg::File => "file",
        BackendArg::Postgres => "postgres",
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
