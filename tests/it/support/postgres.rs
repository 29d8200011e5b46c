//! A real PostgreSQL server of the test's own: a fresh cluster in a
//! temporary directory, on a free port of 127.0.0.1, removed when the test
//! lets go of it.
//!
//! Why a real one: what the tests check against it (logins with a password,
//! what is in the database afterwards, an outage and the way back) is what a
//! stub gets wrong. Why its own: the cluster Debian's package may start on
//! port 5432 belongs to the machine, has users and settings of its own, and
//! is shared by every test; a cluster per test starts in about a second and
//! leaves nothing behind.
//!
//! The server comes from Debian's package `postgresql`, which keeps initdb,
//! pg_ctl and postgres off PATH, in `/usr/lib/postgresql/<major>/bin/`
//! (`scripts/test` installs it; `build/tools.rs` sets `has_postgres`, which
//! tests needing it check with `cfg_attr(not(has_postgres), ignore = …)`).
//! psql and pg_dump are taken from the same directory, so their version is
//! the server's. `LABWATCH_TEST_POSTGRES_BIN` names another server's bin
//! directory instead, to run the suite against another major version.
//!
//! initdb, pg_ctl and postgres refuse to run as root, and tests run as root
//! here and in CI: then they run as the `postgres` system user the package
//! creates, and the directories they write are handed to it. Clients (psql,
//! pg_dump) run as the test's own user.

use std::ffi::{CString, OsStr};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// The superuser initdb creates; it logs in over the unix socket only
/// (`--auth-local=trust`), so it has no password.
const SUPERUSER: &str = "postgres";
/// The role and database the code under test uses, over TCP with a password.
const ROLE: &str = "labwatch";
const DATABASE: &str = "labwatch";
/// Another test may take the free port between our look and the server's
/// bind; the start is tried again on a new port that many times.
const START_ATTEMPTS: usize = 5;

/// A directory of `initdb`, `pg_ctl` and `postgres` to use instead of
/// Debian's newest (clients not in it are taken from PATH).
const BIN_ENV: &str = "LABWATCH_TEST_POSTGRES_BIN";

/// A running cluster; stopped (`-m immediate`) and removed on drop.
pub struct Postgres {
    dir: TempDir,
    bin: PathBuf,
    /// Who runs initdb, pg_ctl and postgres: the `postgres` user when the
    /// test runs as root, else the test's own user (`None`).
    owner: Option<(u32, u32)>,
    port: u16,
    password: String,
    password_file: PathBuf,
}

impl Postgres {
    /// Creates a cluster with `initdb`, starts it listening on 127.0.0.1
    /// only, and creates the role `labwatch` (LOGIN, a random password) and
    /// the database `labwatch` it owns. Panics with the server's log when
    /// it does not start.
    pub fn start() -> Postgres {
        let bin = server_bin_dir();
        let owner = server_user();
        let dir = tempfile::Builder::new()
            .prefix("labwatch-pg-")
            .tempdir()
            .expect("create a temporary directory for PostgreSQL");
        if owner.is_some() {
            // The server's user has to get through to its directories; it
            // may not list or read anything else here (the password file).
            set_mode(dir.path(), 0o711);
        }
        let pg = Postgres {
            bin,
            owner,
            port: 0,
            password: (0..32).map(|_| fastrand::alphanumeric()).collect(),
            password_file: dir.path().join("password"),
            dir,
        };
        pg.init_cluster();
        let pg = pg.start_on_a_free_port();
        pg.create_role_and_database();
        pg.write_password_file();
        pg
    }

    /// `postgres://labwatch@127.0.0.1:PORT/labwatch`, without the password
    /// (see [`Postgres::password`] and [`Postgres::password_file`]).
    pub fn url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The server's process id (the first line of `postmaster.pid`).
    pub fn postmaster_pid(&self) -> u32 {
        let file = self.data().join("postmaster.pid");
        std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no pid in {}", file.display()))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The role `labwatch`'s password: 32 random letters and digits.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// A file holding exactly the password (no newline), mode 0600, owned
    /// by the test's user.
    pub fn password_file(&self) -> &Path {
        &self.password_file
    }

    /// Runs `sql` (any number of statements) in database `db` as the
    /// superuser, over the unix socket, and returns what psql prints: rows
    /// only, unaligned, `|` between columns, no command tags. Panics with
    /// psql's words at the first error.
    pub fn superuser_psql(&self, db: &str, sql: &str) -> String {
        let mut psql = self.client("psql");
        psql.args(["-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .args(self.superuser_connection())
            .arg("-d")
            .arg(db);
        let out = run_with_stdin(psql, sql);
        assert!(
            out.status.success(),
            "psql as {SUPERUSER} in database {db} failed ({}):\n{}\n--- sql ---\n{sql}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("psql prints UTF-8")
    }

    /// The database `labwatch` as plain SQL (`pg_dump`, as the superuser).
    pub fn dump(&self) -> String {
        let mut pg_dump = self.client("pg_dump");
        pg_dump
            .args(["--format=plain", "-w"])
            .args(self.superuser_connection())
            .arg(DATABASE);
        let out = pg_dump.output().expect("start pg_dump");
        assert!(
            out.status.success(),
            "pg_dump {DATABASE} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("pg_dump prints UTF-8")
    }

    /// Stops the server the way an administrator would (`-m fast`: clients
    /// are disconnected, the data is written out), for outage tests.
    pub fn stop(&self) {
        let out = self.pg_ctl(&["-m", "fast", "stop"]);
        assert!(out.status.success(), "pg_ctl stop failed:\n{}", output_text(&out));
    }

    /// Starts the server again after [`Postgres::stop`]: same data, same
    /// port, same password. Returns once it accepts connections.
    pub fn restart_after_stop(&self) {
        let from = self.log_len();
        let out = self.pg_ctl_start();
        if !out.status.success() {
            panic!(
                "PostgreSQL did not start again:\n{}\n{}",
                output_text(&out),
                self.log_since(from)
            );
        }
    }

    /// A client program (`psql`, `pg_dump`, …) of the server's version, with
    /// the caller's `PG*` variables (PGHOST, PGPASSWORD, PGSERVICE, …)
    /// removed so that only the arguments say where it connects, and its
    /// messages in English for tests to match. Pass `-w` (never prompt) when
    /// a password may be asked: psql prompts on the terminal, not on stdin.
    pub fn client(&self, program: &str) -> Command {
        let beside_server = self.bin.join(program);
        let path = if beside_server.is_file() {
            beside_server
        } else {
            // Not through `support::tools`: benches/fleet shares this file.
            std::env::var_os("PATH")
                .and_then(|paths| {
                    std::env::split_paths(&paths)
                        .map(|d| d.join(program))
                        .find(|p| p.is_file())
                })
                .unwrap_or_else(|| panic!("`{program}` not found; install the Debian package `postgresql-client`"))
        };
        let mut command = Command::new(path);
        without_pg_environment(&mut command);
        command.env("LC_ALL", "C.UTF-8");
        command
    }

    /// Turns TLS on (`ssl = on`, with `cert_pem` and `key_pem` as the
    /// server's certificate and key), without a restart.
    pub fn enable_tls(&self, cert_pem: &str, key_pem: &str) {
        for (name, pem, mode) in [("server.crt", cert_pem, 0o644), ("server.key", key_pem, 0o600)] {
            let path = self.data().join(name);
            let mut file = OpenOptions::new()
                .create_new(true)
                .write(true)
                .mode(mode)
                .open(&path)
                .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
            file.write_all(pem.as_bytes())
                .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            // The server refuses a key that others may read, or not its own.
            self.hand_over(&path);
        }
        self.superuser_psql("postgres", "ALTER SYSTEM SET ssl = on;\nSELECT pg_reload_conf();");
    }

    // ------------------------------------------------------------ private

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn superuser_connection(&self) -> Vec<String> {
        vec![
            "-h".into(),
            self.socket_dir().display().to_string(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            SUPERUSER.into(),
        ]
    }

    /// initdb into `data`, after making the directories the server writes
    /// and handing them to its user.
    fn init_cluster(&self) {
        // data: initdb wants 0700; socket: clients of any user must get
        // through to the socket in it.
        for (dir, mode) in [(self.data(), 0o700), (self.socket_dir(), 0o711)] {
            fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
            set_mode(&dir, mode);
            self.hand_over(&dir);
        }
        // pg_ctl appends the server's output here as the server's user.
        OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o644)
            .open(self.log())
            .expect("create the server log");
        self.hand_over(&self.log());

        let mut initdb = self.server_command("initdb");
        initdb
            .arg("-D")
            .arg(self.data())
            .args(["-U", SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256"])
            // C locale: a container may have no other, and initdb refuses a
            // LANG it cannot load. --no-sync: the cluster is thrown away.
            .args(["--locale=C", "--encoding=UTF8", "--no-sync"]);
        let out = initdb.output().expect("start initdb");
        if !out.status.success() {
            let hint = match self.owner {
                Some(_) => format!(
                    "\n(initdb runs as the `{SUPERUSER}` user, which must be able to reach {}: \
                     every directory above it needs o+x)",
                    self.dir.path().display()
                ),
                None => String::new(),
            };
            panic!("initdb failed ({}):\n{}{hint}", out.status, output_text(&out));
        }

        // Settings for this cluster, after initdb's; `port` is appended by
        // each start attempt (a later line wins).
        let conf = format!(
            "\n# labwatch tests (tests/it/support/postgres.rs)\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n",
            self.socket_dir().display().to_string().replace('\'', "''")
        );
        append(&self.data().join("postgresql.conf"), &conf);
    }

    /// `pg_ctl -w start` on a port that was free a moment ago; again on
    /// another one if something took it in between.
    fn start_on_a_free_port(mut self) -> Postgres {
        for attempt in 1..=START_ATTEMPTS {
            self.port = free_port();
            append(&self.data().join("postgresql.conf"), &format!("port = {}\n", self.port));
            let from = self.log_len();
            let out = self.pg_ctl_start();
            if out.status.success() {
                return self;
            }
            let log = self.log_since(from);
            let port_taken = log.contains("could not bind") || log.contains("Address already in use");
            if !port_taken || attempt == START_ATTEMPTS {
                panic!(
                    "PostgreSQL did not start on 127.0.0.1:{} (attempt {attempt}):\n{}\n--- {} ---\n{log}",
                    self.port,
                    output_text(&out),
                    self.log().display()
                );
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    fn create_role_and_database(&self) {
        // The password is letters and digits: nothing to quote.
        self.superuser_psql(
            "postgres",
            &format!(
                "SET password_encryption = 'scram-sha-256';\n\
                 CREATE ROLE {ROLE} LOGIN PASSWORD '{}';\n\
                 CREATE DATABASE {DATABASE} OWNER {ROLE};\n",
                self.password
            ),
        );
    }

    fn write_password_file(&self) {
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&self.password_file)
            .expect("create the password file");
        file.write_all(self.password.as_bytes())
            .expect("write the password file");
    }

    fn pg_ctl_start(&self) -> Output {
        let log = self.log();
        self.pg_ctl(&[OsStr::new("-l"), log.as_os_str(), OsStr::new("start")])
    }

    /// `pg_ctl -w -D data ARGS` as the server's user. `-w`: start returns
    /// once the server accepts connections, stop once it is gone.
    fn pg_ctl<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let mut pg_ctl = self.server_command("pg_ctl");
        pg_ctl.args(["-w", "-t", "60", "-D"]).arg(self.data()).args(args);
        // -l sends the server's output to the log, so the pipes close when
        // pg_ctl exits rather than when the server does.
        pg_ctl.stdin(Stdio::null()).output().expect("start pg_ctl")
    }

    /// One of initdb, pg_ctl, postgres, run as the server's user, from the
    /// temporary directory (a `postgres` user may not enter the test's).
    fn server_command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        without_pg_environment(&mut command);
        command.current_dir(self.dir.path());
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn hand_over(&self, path: &Path) {
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("chown {} to {SUPERUSER}: {e}", path.display()));
        }
    }

    fn log_len(&self) -> u64 {
        fs::metadata(self.log()).map(|m| m.len()).unwrap_or(0)
    }

    fn log_since(&self, from: u64) -> String {
        let log = fs::read(self.log()).unwrap_or_default();
        String::from_utf8_lossy(log.get(from as usize..).unwrap_or_default()).into_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Errors ignored: after stop() there is nothing to stop, and a
        // panic here would hide the test's own.
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}

/// The directory of initdb, pg_ctl and postgres: the newest
/// `/usr/lib/postgresql/<major>/bin` (Debian's layout), else the one an
/// `initdb` on PATH really lives in.
fn server_bin_dir() -> PathBuf {
    // Another server's binaries, to run the suite against another major
    // version than Debian's (docs/development.md, "Another PostgreSQL").
    if let Some(dir) = std::env::var_os(BIN_ENV).filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("initdb").is_file() && dir.join("pg_ctl").is_file(),
            "{BIN_ENV}={} holds no initdb and pg_ctl; point it at a PostgreSQL bin directory",
            dir.display()
        );
        return dir;
    }
    let debian = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: Vec<u32> = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max();
    if let Some((_, bin)) = debian {
        return bin;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("initdb"))
            .find(|p| p.is_file())
    });
    // Canonical: a symlink's directory may not hold pg_ctl and postgres.
    match on_path.and_then(|initdb| fs::canonicalize(initdb).ok()) {
        Some(initdb) => initdb.parent().expect("initdb is in a directory").to_path_buf(),
        None => panic!(
            "PostgreSQL's initdb not found in /usr/lib/postgresql/*/bin/ or on PATH; \
             install the Debian package `postgresql` (scripts/test does)"
        ),
    }
}

/// The uid and gid to run the server as: the `postgres` user when the test
/// runs as root (initdb and postgres refuse root), else `None`.
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid takes no arguments, touches no memory and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = CString::new(SUPERUSER).expect("no NUL in the user name");
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value (null pointers, zero ids);
    // getpwnam_r only writes it.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to live memory of the stated size; the
    // strings getpwnam_r stores in `entry` point into `buf`, and only the
    // ids are read, before `buf` goes.
    let rc = unsafe { libc::getpwnam_r(name.as_ptr(), &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() {
        panic!(
            "running as root, and there is no `{SUPERUSER}` user to run PostgreSQL as (initdb refuses root); \
             install the Debian package `postgresql`, which creates it (scripts/test does)"
        );
    }
    Some((entry.pw_uid, entry.pw_gid))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

fn without_pg_environment(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PG") {
            command.env_remove(name);
        }
    }
}

fn run_with_stdin(mut command: Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", command.get_program()));
    // Written from a thread: psql prints while it reads, and a full stdout
    // pipe would stop it while we were still writing.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("wait for the client");
    if let Err(e) = writer.join().expect("stdin writer") {
        panic!("write to {:?}: {e}\n{}", command.get_program(), output_text(&out));
    }
    out
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

fn append(path: &Path, text: &str) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
