//! The encrypted connection store (`docs/admin-api.md`, "The store"): each
//! workspace's GitLab connection, encrypted with XChaCha20-Poly1305 under
//! the store key; a pending-rotation marker per workspace (and, when a
//! rotated connection could not be saved as the connection, the same
//! encrypted connection as "rotated"); disconnect records; the records of
//! workspaces created at run time; and the audit log.
//!
//! Two backends keep the same records (`docs/store.md`):
//! - `file` (the default): one file per workspace and record in the store
//!   directory, written atomically and durably;
//! - `postgres`: rows of PostgreSQL tables, for replicas that share a fleet.
//!
//! Either way the connection is sealed here, before the backend sees it,
//! with the same envelope and the same associated data (workspace and
//! instance): a file, a row or a database dump holds no usable token.
//!
//! - `key`: the store key (`LABWATCH_STORE_KEY` or the key file).
//! - `cipher`: the envelope format and the AEAD.
//! - `connection`: [`StoredConnection`] and its plaintext form.
//! - `marker`: [`RotationMarker`].
//! - `disconnect_record`: [`DisconnectRecord`], so a disconnect outlives the bootstrap
//!   `token_file`.
//! - `workspace_record`: [`WorkspaceRecord`], a workspace created at run time.
//! - `audit`: [`AuditEntry`].
//! - `file`: the file backend, with its durable writes and safety checks.
//! - `postgres`: the PostgreSQL backend, its schema and migrations.
//! - `error`: [`StoreError`] and the [`Place`] it names.
//!
//! The store trusts nothing it reads: a record over [`MAX_RECORD_LEN`], for
//! another workspace, or that does not decrypt is an error that leaves it as
//! it is, and it writes nothing it would refuse to read back. Its calls
//! block (file I/O and fsync, or a round trip to PostgreSQL): async callers
//! run them on tokio's blocking pool (see `actions`).

mod audit;
mod cipher;
mod connection;
mod disconnect_record;
mod error;
pub mod file;
mod key;
mod marker;
pub mod postgres;
mod workspace_record;

use std::fmt;
use std::path::Path;

pub use audit::{Actor, AuditAction, AuditEntry, AuditResult};
pub use connection::StoredConnection;
pub use disconnect_record::DisconnectRecord;
pub use error::{Place, StoreError};
pub use file::StoreWarning;
pub use key::{KEY_ENV, Key};
pub use marker::RotationMarker;
pub use postgres::{Availability, LeaseRound, Notice, PostgresOptions, Schema, StoreStats, Verdict};
pub use workspace_record::WorkspaceRecord;

use cipher::Cipher;
use file::FileBackend;
use postgres::PostgresBackend;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Suffix of a run-time workspace's record in the file store.
pub const WORKSPACE_SUFFIX: &str = ".workspace";

/// Records are a few KiB; a bigger one is not ours and is not loaded, and
/// [`ConnectionStore::save`] refuses to write one.
pub const MAX_RECORD_LEN: u64 = 1024 * 1024;

/// The records the store keeps per workspace. Each backend names them its
/// own way: a file suffix, a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The encrypted connection.
    Connection,
    /// A rotated connection whose save as the connection failed
    /// ([`ConnectionStore::save_rotated`]), encrypted the same way.
    Rotated,
    /// The pending-rotation marker.
    Marker,
    /// The disconnect record.
    Disconnected,
    /// The record of a workspace created at run time.
    Workspace,
}

impl Slot {
    /// The file store's file suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Slot::Connection => ".conn",
            Slot::Rotated => ".rotated",
            Slot::Marker => ".rotation",
            Slot::Disconnected => ".disconnected",
            Slot::Workspace => WORKSPACE_SUFFIX,
        }
    }

    /// The PostgreSQL store's table (in schema `labwatch`).
    pub fn table(self) -> &'static str {
        match self {
            Slot::Connection => "connections",
            Slot::Rotated => "rotated_connections",
            Slot::Marker => "rotation_markers",
            Slot::Disconnected => "disconnects",
            Slot::Workspace => "workspaces",
        }
    }

    /// Every slot, in the order `store migrate` copies them: workspaces first.
    pub const ALL: [Slot; 5] = [
        Slot::Workspace,
        Slot::Connection,
        Slot::Rotated,
        Slot::Marker,
        Slot::Disconnected,
    ];
}

const FIX_DISCONNECTED: &str = "it records that the workspace was disconnected: remove it to let the \
     config's token_file count again, or connect the workspace";

const FIX_WORKSPACE: &str = "it records a workspace created through the admin API: fix the JSON, or remove the \
     workspace (`labwatch workspaces delete`), which removes the record";

const FIX_MARKER: &str = "it records a rotation that did not finish: check the workspace's token in GitLab, \
     then remove the marker (or reconnect the workspace)";

/// Where the records live.
#[derive(Clone)]
enum Backend {
    File(FileBackend),
    Postgres(PostgresBackend),
}

/// The backend and the cipher made from the store key. Cheap to clone;
/// `Debug` shows where the store is, never the key.
#[derive(Clone)]
pub struct ConnectionStore {
    backend: Backend,
    /// Holds a copy of the key, wiped on drop.
    cipher: Cipher,
}

impl fmt::Debug for ConnectionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionStore")
            .field("at", &self.describe())
            .field("key", &"[REDACTED]")
            .finish()
    }
}

impl ConnectionStore {
    /// Opens the file store (creating `dir` 0700 if missing) with the key from
    /// `LABWATCH_STORE_KEY` (64 hex chars or base64 of 32 bytes) if set and not
    /// empty, else from `key_file`, which is created with 32 random bytes and
    /// mode 0600 (parent dirs created) when missing and no connection file
    /// exists. Refuses everything [`ConnectionStore::inspect`] refuses, and
    /// logs its warnings. A key file of the wrong size or format is an error
    /// and is never overwritten.
    pub fn open(dir: &Path, key_file: &Path) -> Result<ConnectionStore, StoreError> {
        for warning in ConnectionStore::inspect(dir, key_file)? {
            tracing::warn!(path = %warning.path.display(), "{}", warning.message);
        }
        let key = Key::from_env_or_file(key_file)?;
        ConnectionStore::from_key(dir, &key)
    }

    /// Opens the PostgreSQL store described by `options`, with the key from
    /// `LABWATCH_STORE_KEY` or `key_file`, which must exist (a new key could
    /// not read what the database holds, so none is created). Connects,
    /// applies the embedded migrations and refuses a schema newer than this
    /// labwatch (see [`postgres`]).
    pub fn open_postgres(
        options: &PostgresOptions,
        key_file: &Path,
        schema: Schema,
    ) -> Result<ConnectionStore, StoreError> {
        let (key, warnings) = postgres_key(key_file)?;
        for warning in warnings {
            tracing::warn!(path = %warning.path.display(), "{}", warning.message);
        }
        ConnectionStore::postgres_opened(options, &key, schema)
    }

    /// What [`ConnectionStore::open_postgres`] would refuse before it
    /// connects: a URL with a password, an unreadable password file, a
    /// missing, malformed or unsafe key. Returns the key file's warnings.
    pub fn inspect_postgres(options: &PostgresOptions, key_file: &Path) -> Result<Vec<StoreWarning>, StoreError> {
        options.driver_config()?;
        postgres_key(key_file).map(|(_, warnings)| warnings)
    }

    /// Checks the store setup that [`ConnectionStore::open`] would use,
    /// without creating, changing or decrypting anything, so `config check`
    /// and the daemon's start-up preflight report what `run` would refuse.
    ///
    /// Contract:
    /// - `Err` is the error `open` refuses with for the same files: the store
    ///   directory not a directory, not owned by the user labwatch runs as,
    ///   or writable by group or others; the key (`LABWATCH_STORE_KEY` when
    ///   set and not empty, else `key_file`) malformed, not a regular file,
    ///   owned by another user than labwatch's or root, or writable by group
    ///   or others; `key_file` missing while `dir` holds `.conn` files.
    /// - `Ok(warnings)`: `open` would succeed unless something changes in
    ///   between or the operating system refuses to create what is missing
    ///   (the directory, the key file) or to give random bytes. Warnings are
    ///   what works but should be fixed (a key file others can read).
    /// - A missing directory or key file (without `.conn` files) is fine:
    ///   `open` creates them privately.
    /// - It never reads the connection files' contents: whether each one
    ///   decrypts is the token check's finding, per workspace.
    pub fn inspect(dir: &Path, key_file: &Path) -> Result<Vec<StoreWarning>, StoreError> {
        let mut warnings = file::safety::check_dir(dir)?;
        if key::from_env().transpose()?.is_some() {
            return Ok(warnings);
        }
        match file::safety::check_key_file(key_file)? {
            Some(found) => {
                warnings.extend(found);
                // Parsed as `open` parses it, so a malformed key is reported here too.
                key::read_key_file(key_file)?;
            }
            None => {
                let files = file::safety::connection_files(dir)?;
                if !files.is_empty() {
                    return Err(StoreError::MissingKey {
                        key_file: key_file.to_path_buf(),
                        dir: dir.to_path_buf(),
                        files,
                    });
                }
            }
        }
        Ok(warnings)
    }

    /// Same, with the key given (tests).
    pub fn with_key(dir: &Path, key: [u8; 32]) -> Result<ConnectionStore, StoreError> {
        ConnectionStore::from_key(dir, &Key::from_bytes(key))
    }

    /// The file store in `dir` with a parsed key (see [`Key::parse`]).
    pub fn from_key(dir: &Path, key: &Key) -> Result<ConnectionStore, StoreError> {
        Ok(ConnectionStore {
            backend: Backend::File(FileBackend::open(dir)?),
            cipher: Cipher::new(key),
        })
    }

    /// The PostgreSQL store with a parsed key (tests, `store migrate`).
    pub fn postgres_with_key(options: &PostgresOptions, key: &Key) -> Result<ConnectionStore, StoreError> {
        ConnectionStore::postgres_opened(options, key, Schema::Migrate)
    }

    fn postgres_opened(options: &PostgresOptions, key: &Key, schema: Schema) -> Result<ConnectionStore, StoreError> {
        Ok(ConnectionStore {
            backend: Backend::Postgres(PostgresBackend::open(options, schema)?),
            cipher: Cipher::new(key),
        })
    }

    /// The store directory of the file store; `None` on PostgreSQL.
    pub fn dir(&self) -> Option<&Path> {
        match &self.backend {
            Backend::File(f) => Some(f.dir()),
            Backend::Postgres(_) => None,
        }
    }

    /// Where the store is, for people: "the store directory `…`" or "the
    /// PostgreSQL store at …" (never the password).
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::File(f) => format!("the store directory `{}`", f.dir().display()),
            Backend::Postgres(p) => format!("the PostgreSQL store at {}", p.describe()),
        }
    }

    /// Whether the store can be reached now. The file store always can (a
    /// failing disk shows in each call's error); the PostgreSQL store says
    /// what its last statement or its background ping met.
    pub fn availability(&self) -> Availability {
        match &self.backend {
            Backend::File(_) => Availability::Available,
            Backend::Postgres(p) => p.availability(),
        }
    }

    /// The PostgreSQL store's calls so far (`None` on the file store).
    pub fn stats(&self) -> Option<StoreStats> {
        match &self.backend {
            Backend::File(_) => None,
            Backend::Postgres(p) => Some(p.stats()),
        }
    }

    /// One round trip to the store, now: `Err` when it is unavailable.
    pub fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::File(_) => Ok(()),
            Backend::Postgres(p) => p.ping(),
        }
    }

    /// Where `slot` of `workspace` is kept (it may not exist).
    pub fn place(&self, slot: Slot, workspace: &str) -> Result<Place, StoreError> {
        check_name(workspace)?;
        Ok(self.place_of(slot, workspace))
    }

    fn place_of(&self, slot: Slot, workspace: &str) -> Place {
        match &self.backend {
            Backend::File(f) => f.place(slot, workspace),
            Backend::Postgres(_) => Place::Row {
                table: slot.table(),
                workspace: workspace.to_owned(),
            },
        }
    }

    fn read(&self, slot: Slot, workspace: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_name(workspace)?;
        match &self.backend {
            Backend::File(f) => f.read(slot, workspace),
            Backend::Postgres(p) => p.read(slot, workspace),
        }
    }

    fn write(&self, slot: Slot, workspace: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        check_name(workspace)?;
        match &self.backend {
            Backend::File(f) => f.write(slot, workspace, &bytes),
            Backend::Postgres(p) => p.write(slot, workspace, bytes),
        }
    }

    fn delete(&self, slot: Slot, workspace: &str) -> Result<(), StoreError> {
        check_name(workspace)?;
        match &self.backend {
            Backend::File(f) => f.delete(slot, workspace),
            Backend::Postgres(p) => p.delete(slot, workspace),
        }
    }

    /// The connection of `workspace`, or `None` when there is none. One
    /// that is unreadable, malformed, for another workspace or does not
    /// decrypt is an error, and it is left as it is.
    pub fn load(&self, workspace: &str) -> Result<Option<StoredConnection>, StoreError> {
        self.load_from(workspace, Slot::Connection)
    }

    /// A rotated connection that [`ConnectionStore::save`] refused, saved
    /// beside it by [`ConnectionStore::save_rotated`]; read like `load`.
    pub fn load_rotated(&self, workspace: &str) -> Result<Option<StoredConnection>, StoreError> {
        self.load_from(workspace, Slot::Rotated)
    }

    fn load_from(&self, workspace: &str, slot: Slot) -> Result<Option<StoredConnection>, StoreError> {
        let Some(bytes) = self.read(slot, workspace)? else {
            return Ok(None);
        };
        let at = self.place_of(slot, workspace);
        let (instance_url, plaintext) = self.cipher.open(&at, workspace, &bytes)?;
        let conn = StoredConnection::from_plaintext(&plaintext).map_err(|p| cipher::format_error(&at, p))?;
        // The AD already binds both; a mismatch here means a bug, not an attack, but never use such a record.
        if conn.workspace != workspace || conn.instance_url != instance_url {
            return Err(cipher::format_error(
                &at,
                "the encrypted connection names another workspace or instance than its envelope".to_owned(),
            ));
        }
        Ok(Some(conn))
    }

    /// Writes `conn` atomically (file store: temp file in the same dir
    /// (0600), write, fsync, rename, fsync of the directory; PostgreSQL: one
    /// statement). A connection that would be refused when read back (over
    /// [`MAX_RECORD_LEN`]) is refused here, and what is stored is left as it was.
    pub fn save(&self, conn: &StoredConnection) -> Result<(), StoreError> {
        let bytes = self.encode(conn, Slot::Connection)?;
        self.write(Slot::Connection, &conn.workspace, bytes)
    }

    /// Saves a rotated connection that [`ConnectionStore::save`] refused
    /// (GitLab has revoked the old token by then) as "rotated", encrypted
    /// the same way, so that the new token outlives a restart until the
    /// connection's save succeeds. A small record beside the one that
    /// failed: it succeeds where that failure was about the connection's
    /// own file.
    pub fn save_rotated(&self, conn: &StoredConnection) -> Result<(), StoreError> {
        let bytes = self.encode(conn, Slot::Rotated)?;
        self.write(Slot::Rotated, &conn.workspace, bytes)
    }

    /// Removes `workspace`'s rotated connection. Ok if absent.
    pub fn clear_rotated(&self, workspace: &str) -> Result<(), StoreError> {
        self.delete(Slot::Rotated, workspace)
    }

    /// Whether [`ConnectionStore::save`] would accept `conn`, without
    /// writing anything: actions ask before a step that cannot be undone
    /// (a rotation), so the store's refusal comes before it.
    pub fn check_storable(&self, conn: &StoredConnection) -> Result<(), StoreError> {
        self.encode(conn, Slot::Connection).map(|_| ())
    }

    /// The sealed bytes `save` writes for `conn`.
    fn encode(&self, conn: &StoredConnection, slot: Slot) -> Result<Vec<u8>, StoreError> {
        check_name(&conn.workspace)?;
        let at = self.place_of(slot, &conn.workspace);
        let plaintext = conn.to_plaintext().map_err(|e| StoreError::Encode {
            at: at.clone(),
            problem: e.to_string(),
        })?;
        let bytes = self.cipher.seal(&at, &conn.workspace, &conn.instance_url, &plaintext)?;
        fits(&at, &bytes)?;
        Ok(bytes)
    }

    /// Moves `workspace`'s connection, which could not be read, out of the
    /// way (file store: to `<workspace>.conn.unreadable`, or with a
    /// timestamp when that exists; PostgreSQL: to `set_aside_connections`),
    /// so the workspace can be connected again and nothing is deleted: with
    /// the right key it may still be read. Returns where it went; `None`
    /// when there was none. Links and pipes are moved, never followed or
    /// opened.
    pub fn set_aside(&self, workspace: &str) -> Result<Option<Place>, StoreError> {
        check_name(workspace)?;
        match &self.backend {
            Backend::File(f) => f.set_aside(workspace),
            Backend::Postgres(p) => p.set_aside(workspace),
        }
    }

    /// Removes `workspace`'s connection. Ok if absent.
    pub fn remove(&self, workspace: &str) -> Result<(), StoreError> {
        self.delete(Slot::Connection, workspace)
    }

    /// Records a pending rotation, as durably as [`ConnectionStore::save`].
    pub fn write_marker(&self, marker: &RotationMarker) -> Result<(), StoreError> {
        self.write_record(&marker.workspace, Slot::Marker, marker)
    }

    /// The pending rotation of `workspace`, or `None`. A malformed marker is
    /// an error and is left as it is: it may be the only trace of a lost token.
    pub fn read_marker(&self, workspace: &str) -> Result<Option<RotationMarker>, StoreError> {
        self.read_record(
            workspace,
            Slot::Marker,
            "rotation marker",
            FIX_MARKER,
            |m: &RotationMarker| &m.workspace,
        )
    }

    /// Removes `workspace`'s marker. Ok if absent.
    pub fn clear_marker(&self, workspace: &str) -> Result<(), StoreError> {
        self.delete(Slot::Marker, workspace)
    }

    /// Records a disconnect, as durably as [`ConnectionStore::save`].
    pub fn write_disconnected(&self, record: &DisconnectRecord) -> Result<(), StoreError> {
        self.write_record(&record.workspace, Slot::Disconnected, record)
    }

    /// How `workspace` was disconnected, or `None`. A malformed record is an
    /// error and is left as it is: ignoring it could reconnect the workspace.
    pub fn read_disconnected(&self, workspace: &str) -> Result<Option<DisconnectRecord>, StoreError> {
        self.read_record(
            workspace,
            Slot::Disconnected,
            "disconnect record",
            FIX_DISCONNECTED,
            |d: &DisconnectRecord| &d.workspace,
        )
    }

    /// Removes `workspace`'s disconnect record. Ok if absent.
    pub fn clear_disconnected(&self, workspace: &str) -> Result<(), StoreError> {
        self.delete(Slot::Disconnected, workspace)
    }

    /// Records a workspace created at run time, as durably (and with the
    /// same size cap) as [`ConnectionStore::save`].
    pub fn save_workspace(&self, record: &WorkspaceRecord) -> Result<(), StoreError> {
        self.write_record(&record.workspace, Slot::Workspace, record)
    }

    /// The run-time record of `workspace`, or `None`.
    pub fn load_workspace(&self, workspace: &str) -> Result<Option<WorkspaceRecord>, StoreError> {
        self.read_record(
            workspace,
            Slot::Workspace,
            "workspace record",
            FIX_WORKSPACE,
            |r: &WorkspaceRecord| &r.workspace,
        )
    }

    /// The workspaces that have a record of `slot`, by name.
    pub fn names(&self, slot: Slot) -> Result<Vec<String>, StoreError> {
        match &self.backend {
            Backend::File(f) => f.names(slot),
            Backend::Postgres(p) => p.names(slot),
        }
    }

    /// Every run-time workspace record, by name: each one read, or the
    /// error that names the record that could not be (it is left as it is).
    pub fn list_workspaces(&self) -> Result<Vec<ListedRecord>, StoreError> {
        Ok(self
            .names(Slot::Workspace)?
            .into_iter()
            .map(|name| {
                let record = self.load_workspace(&name).and_then(|r| {
                    // Listed a moment ago: gone now means removed in between.
                    r.ok_or_else(|| StoreError::Format {
                        at: self.place_of(Slot::Workspace, &name),
                        problem: "it was removed while the store was listed".to_owned(),
                        fix: "nothing to do: it is gone",
                    })
                });
                (name, record)
            })
            .collect())
    }

    /// Removes everything the store has for `workspace`: its rotation
    /// marker, rotated and stored connections, the connections set aside as
    /// unreadable, its disconnect record and, last, its workspace record (so
    /// a crash half-way leaves a workspace that can be deleted again, never
    /// a connection without its workspace; PostgreSQL does it in one
    /// transaction). The audit log is append-only and keeps its entries.
    /// Returns what was removed.
    pub fn remove_workspace(&self, workspace: &str) -> Result<Vec<String>, StoreError> {
        check_name(workspace)?;
        match &self.backend {
            Backend::File(f) => f.remove_workspace(workspace),
            Backend::Postgres(p) => p.remove_workspace(workspace),
        }
    }

    /// Writes one of the plain JSON records kept beside a connection (they
    /// hold no secret).
    fn write_record<T: Serialize>(&self, workspace: &str, slot: Slot, record: &T) -> Result<(), StoreError> {
        check_name(workspace)?;
        let at = self.place_of(slot, workspace);
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| StoreError::Encode {
            at: at.clone(),
            problem: e.to_string(),
        })?;
        fits(&at, &bytes)?;
        self.write(slot, workspace, bytes)
    }

    /// Reads such a record: `None` when there is none; an error naming
    /// `what` it should be when it does not parse or belongs to another
    /// workspace (`owner` says whose it is).
    fn read_record<T: DeserializeOwned>(
        &self,
        workspace: &str,
        slot: Slot,
        what: &str,
        fix: &'static str,
        owner: impl Fn(&T) -> &str,
    ) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.read(slot, workspace)? else {
            return Ok(None);
        };
        let at = self.place_of(slot, workspace);
        let record: T = serde_json::from_slice(&bytes).map_err(|e| StoreError::Format {
            at: at.clone(),
            problem: format!("not a {what} ({e})"),
            fix,
        })?;
        if owner(&record) != workspace {
            return Err(StoreError::Format {
                at,
                problem: format!("it is the {what} of workspace `{}`", owner(&record)),
                fix,
            });
        }
        Ok(Some(record))
    }

    /// Appends `entry` to the audit log, durably (file store: one JSON line
    /// of `audit.log`, fsynced; PostgreSQL: a row of the append-only
    /// `audit_log` table).
    pub fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        match &self.backend {
            Backend::File(f) => f.append_audit(entry),
            Backend::Postgres(p) => p.append_audit(entry),
        }
    }

    /// The whole audit log, oldest first.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        match &self.backend {
            Backend::File(f) => f.audit_entries(),
            Backend::Postgres(p) => p.audit_entries(),
        }
    }

    /// `slot`'s record of `workspace` as stored (sealed for connections),
    /// checked first: a connection must decrypt with this store's key and a
    /// record must parse. For `store migrate`, which copies stores without
    /// ever holding a token in the clear longer than the check takes.
    pub fn export(&self, slot: Slot, workspace: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match slot {
            Slot::Connection | Slot::Rotated => {
                if self.load_from(workspace, slot)?.is_none() {
                    return Ok(None);
                }
            }
            Slot::Marker => drop(self.read_marker(workspace)?),
            Slot::Disconnected => drop(self.read_disconnected(workspace)?),
            Slot::Workspace => drop(self.load_workspace(workspace)?),
        }
        self.read(slot, workspace)
    }

    /// One lease round of `replica` (see `postgres::lease`): renews what it
    /// owns, releases its surplus over a fair share, claims free and
    /// expired leases. Only the PostgreSQL store shares a fleet; on the
    /// file store it is an error.
    pub fn lease_round(
        &self,
        replica: &str,
        lease: std::time::Duration,
        workspaces: &[String],
        before: &std::collections::BTreeMap<String, i64>,
    ) -> Result<LeaseRound, StoreError> {
        match &self.backend {
            Backend::Postgres(p) => p.lease_round(replica, lease, workspaces, before),
            Backend::File(_) => Err(file_store_has_no_leases()),
        }
    }

    /// Whether `replica` holds `workspace`'s lease at `epoch` now.
    pub fn holds_lease(&self, replica: &str, workspace: &str, epoch: i64) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Postgres(p) => p.holds_lease(replica, workspace, epoch),
            Backend::File(_) => Err(file_store_has_no_leases()),
        }
    }

    /// Takes `workspace`'s rotation lock across replicas without waiting:
    /// `Ok(None)` when another replica rotates it now. The file store has
    /// one daemon, whose own lock is enough: always granted.
    pub fn try_rotation_lock(&self, workspace: &str) -> Result<Option<RotationLock>, StoreError> {
        match &self.backend {
            Backend::Postgres(p) => Ok(p
                .try_rotation_lock(workspace)?
                .map(|held| RotationLock { _held: Some(held) })),
            Backend::File(_) => Ok(Some(RotationLock { _held: None })),
        }
    }

    /// Tells the other replicas that `workspace` changed (`kind`:
    /// `changed` or `run`). Nothing to tell on the file store.
    pub fn notify(&self, replica: &str, kind: &str, workspace: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Postgres(p) => p.notify(replica, kind, workspace),
            Backend::File(_) => Ok(()),
        }
    }

    /// Every replica's change notices (PostgreSQL only; `None` on files).
    pub fn listen(
        &self,
        options: &PostgresOptions,
    ) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<Notice>>, StoreError> {
        match &self.backend {
            Backend::Postgres(p) => p.listen(options).map(Some),
            Backend::File(_) => Ok(None),
        }
    }

    /// Writes the verdicts (workspace, lease epoch, `/status` entry) of
    /// `replica`, each only where its lease still holds at that epoch;
    /// returns how many were written. The file store has no other replica
    /// to tell: nothing to write.
    pub fn write_verdicts(&self, replica: &str, verdicts: Vec<(String, i64, String)>) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Postgres(p) => p.write_verdicts(replica, verdicts),
            Backend::File(_) => Ok(0),
        }
    }

    /// The verdicts other replicas wrote: every workspace's, or `only`'s.
    pub fn read_verdicts(&self, only: Option<&str>) -> Result<Vec<Verdict>, StoreError> {
        match &self.backend {
            Backend::Postgres(p) => p.read_verdicts(only),
            Backend::File(_) => Ok(Vec::new()),
        }
    }

    /// Records a pending rotation under `lock`, the rotation lock of its
    /// workspace: on PostgreSQL on the lock's own session and, with
    /// `fence` (replica, lease epoch), only while that lease holds, in the
    /// same statement; the file store writes it as
    /// [`ConnectionStore::write_marker`] does. `Err(StoreError::Fenced)`
    /// when the fence refused: nothing was written.
    pub fn write_marker_locked(
        &self,
        lock: &RotationLock,
        marker: &RotationMarker,
        fence: Option<(String, i64)>,
    ) -> Result<(), StoreError> {
        let (Backend::Postgres(p), Some(held)) = (&self.backend, lock._held.as_ref()) else {
            return self.write_marker(marker);
        };
        check_name(&marker.workspace)?;
        let at = self.place_of(Slot::Marker, &marker.workspace);
        let body = serde_json::to_string(marker).map_err(|e| StoreError::Encode {
            at,
            problem: e.to_string(),
        })?;
        match p.write_marker_locked(held, body, fence)? {
            true => Ok(()),
            false => Err(StoreError::Fenced {
                workspace: marker.workspace.clone(),
            }),
        }
    }

    /// Removes the rotation marker of `workspace` under `lock`, its
    /// rotation lock: on PostgreSQL on the lock's own session and, with
    /// `fence` (replica, lease epoch), only while that lease holds, in the
    /// same statement; the file store removes it as
    /// [`ConnectionStore::clear_marker`] does. `Err(StoreError::Fenced)`
    /// when the fence refused: nothing was removed.
    pub fn clear_marker_locked(
        &self,
        lock: &RotationLock,
        workspace: &str,
        fence: Option<(String, i64)>,
    ) -> Result<(), StoreError> {
        let (Backend::Postgres(p), Some(held)) = (&self.backend, lock._held.as_ref()) else {
            return self.clear_marker(workspace);
        };
        check_name(workspace)?;
        match p.clear_marker_locked(held, fence)? {
            true => Ok(()),
            false => Err(StoreError::Fenced {
                workspace: workspace.to_owned(),
            }),
        }
    }

    /// How many records and audit entries the store holds: `store
    /// migrate` copies into an empty store only.
    pub fn count(&self) -> Result<usize, StoreError> {
        let mut n = self.audit_entries()?.len();
        for slot in Slot::ALL {
            n += self.names(slot)?.len();
        }
        Ok(n)
    }

    /// Writes records [`ConnectionStore::export`] gave (sealed with the
    /// same key) and audit entries, in order. On PostgreSQL all of it is
    /// one transaction: a failure writes nothing. The file store writes one
    /// file after the other, each durably.
    pub fn import(&self, records: Vec<Record>, audit: &[AuditEntry]) -> Result<(), StoreError> {
        for (slot, workspace, bytes) in &records {
            check_name(workspace)?;
            fits(&self.place_of(*slot, workspace), bytes)?;
        }
        match &self.backend {
            Backend::File(f) => {
                for (slot, workspace, bytes) in &records {
                    f.write(*slot, workspace, bytes)?;
                }
                audit.iter().try_for_each(|entry| f.append_audit(entry))
            }
            Backend::Postgres(p) => p.import(records, audit),
        }
    }
}

/// A workspace's rotation lock across replicas, released on drop.
pub struct RotationLock {
    /// Held for its drop, which unlocks.
    _held: Option<postgres::RotationLock>,
}

/// One record as stored: its slot, its workspace, its bytes.
pub type Record = (Slot, String, Vec<u8>);

fn file_store_has_no_leases() -> StoreError {
    StoreError::Database {
        action: "keep leases",
        problem: "the file store cannot be shared by replicas".to_owned(),
        retryable: false,
        fix: "use [store] backend = \"postgres\" to run replicas",
    }
}

/// The PostgreSQL store's key: from the environment, else from the key
/// file, which must exist (with its warnings).
fn postgres_key(key_file: &Path) -> Result<(Key, Vec<StoreWarning>), StoreError> {
    if let Some(key) = key::from_env().transpose()? {
        return Ok((key, Vec::new()));
    }
    let Some(warnings) = file::safety::check_key_file(key_file)? else {
        return Err(postgres::missing_key(key_file));
    };
    let key = key::read_key_file(key_file)?.ok_or_else(|| postgres::missing_key(key_file))?;
    Ok((key, warnings))
}

/// A run-time workspace's name and its record, or why it cannot be read.
pub type ListedRecord = (String, Result<WorkspaceRecord, StoreError>);

/// The writer's side of the readers' limit: what would not be read back is not written.
fn fits(at: &Place, bytes: &[u8]) -> Result<(), StoreError> {
    if bytes.len() as u64 > MAX_RECORD_LEN {
        return Err(StoreError::TooLarge {
            at: at.clone(),
            len: bytes.len(),
            limit: MAX_RECORD_LEN,
        });
    }
    Ok(())
}

/// Checks the name is one config accepts (`[a-z0-9][a-z0-9_-]{0,62}`),
/// which also keeps a file name inside the store directory.
fn check_name(workspace: &str) -> Result<(), StoreError> {
    if !valid_workspace(workspace) {
        return Err(StoreError::InvalidWorkspace {
            name: workspace.to_owned(),
        });
    }
    Ok(())
}

fn valid_workspace(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    name.len() <= 63
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
