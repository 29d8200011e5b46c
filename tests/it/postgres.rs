//! The test PostgreSQL server itself (`support::postgres`): it takes the
//! `labwatch` role's password over TCP and refuses a wrong one, and it is
//! really down after `stop()` and up again after `restart_after_stop()`.
//!
//! Why: the tests built on it count on each of these; were the server to
//! accept any password, or `stop()` to leave it running, they would pass
//! without testing what they say. Here the harness is shown able to fail.

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use crate::support::postgres::Postgres;

/// `select current_user` as `labwatch` over TCP, the way the daemon
/// connects, with `password`.
fn psql_over_tcp(pg: &Postgres, password: &str) -> Output {
    pg.client("psql")
        .args(["-X", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p"])
        .arg(pg.port().to_string())
        .args(["-U", "labwatch", "-c", "select current_user", "labwatch"])
        .env("PGPASSWORD", password)
        .output()
        .expect("start psql")
}

fn assert_logs_in(pg: &Postgres, when: &str) {
    let out = psql_over_tcp(pg, pg.password());
    assert!(
        out.status.success(),
        "{when}: psql over TCP with the password failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "labwatch", "{when}");
}

fn assert_refused(out: &Output, when: &str, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{when}: psql succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(expected),
        "{when}: expected {expected:?} from psql, got:\n{stderr}"
    );
}

#[test]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
fn the_test_server_takes_the_password_and_comes_back_after_a_restart() {
    let pg = Postgres::start();
    assert_eq!(
        pg.url(),
        format!("postgres://labwatch@127.0.0.1:{}/labwatch", pg.port())
    );
    assert_eq!(std::fs::read_to_string(pg.password_file()).unwrap(), pg.password());
    let mode = std::fs::metadata(pg.password_file()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "password file mode {mode:o}");
    assert_logs_in(&pg, "after start");

    let wrong = psql_over_tcp(&pg, "not-the-password");
    assert_refused(&wrong, "wrong password", "password authentication failed");

    // Something to find after the restart: stop() writes the data out.
    pg.superuser_psql(
        "labwatch",
        "create table survives (n int);\ninsert into survives values (42);",
    );

    let before = pg.postmaster_pid();
    assert!(
        std::path::Path::new(&format!("/proc/{before}")).exists(),
        "the server runs as {before}"
    );
    pg.stop();
    let down = psql_over_tcp(&pg, pg.password());
    assert_refused(&down, "after stop", "Connection refused");

    pg.restart_after_stop();
    assert_logs_in(&pg, "after restart");
    assert_ne!(pg.postmaster_pid(), before, "a new server process");
    assert_eq!(pg.superuser_psql("labwatch", "select n from survives").trim(), "42");
    let dump = pg.dump();
    assert!(dump.contains("CREATE TABLE public.survives"), "pg_dump:\n{dump}");
    assert_eq!(
        pg.superuser_psql("labwatch", "select current_database()").trim(),
        "labwatch"
    );
}
