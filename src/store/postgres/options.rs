//! How to reach the database: `[store.postgres]` of the config, turned into
//! the driver's settings. The URL never holds the password (a config file
//! is read by many and often committed): it comes from `password_file`, or
//! from the environment variable [`PASSWORD_ENV`].

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;
use zeroize::Zeroizing;

use crate::store::StoreError;

/// The environment variable that holds the password when `password_file`
/// is not set. Never passed to plugins (their environment is cleared).
pub const PASSWORD_ENV: &str = "LABWATCH_POSTGRES_PASSWORD";

/// A password file is one line; anything longer is not one.
const PASSWORD_FILE_CAP: u64 = 4096;
/// Connecting gives up after this long unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The validated `[store.postgres]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresOptions {
    /// `postgres://user@host:port/dbname?sslmode=…`, or the key=value form;
    /// without a password.
    pub url: String,
    /// A file holding the password (its first line).
    pub password_file: Option<PathBuf>,
    /// Connections in the pool.
    pub pool_size: usize,
    /// Extra trust roots for a TLS connection (PEM), beside the system's.
    pub ca_file: Option<PathBuf>,
    /// How long a replica's lease on a workspace lasts unless renewed; it
    /// is renewed every third of that.
    pub lease: Duration,
}

/// The default lease: renewed every 5 s, so a dead replica's workspaces
/// are owned again within 30 s.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

impl PostgresOptions {
    /// The driver's settings, with the password from the file or the
    /// environment. Also what `config check` runs, so a URL with a
    /// password in it is refused before the daemon starts.
    pub fn driver_config(&self) -> Result<tokio_postgres::Config, StoreError> {
        let mut config = parse(self)?;
        if let Some(password) = self.password()? {
            config.password(password.as_bytes());
        }
        if config.get_application_name().is_none() {
            config.application_name("labwatch");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        Ok(config)
    }

    /// The password: the first line of `password_file`, else
    /// [`PASSWORD_ENV`] when set and not empty, else none (trust or peer
    /// authentication, or a client certificate).
    fn password(&self) -> Result<Option<Zeroizing<String>>, StoreError> {
        if let Some(file) = &self.password_file {
            let text = Zeroizing::new(crate::files::read_text_capped(file, PASSWORD_FILE_CAP).map_err(|e| {
                invalid(format!(
                    "cannot read `password_file` {}: {e}; create it with the database user's password on one line, \
                     readable by the user labwatch runs as",
                    file.display()
                ))
            })?);
            let line = Zeroizing::new(text.lines().next().unwrap_or("").trim_end_matches('\r').to_owned());
            if line.is_empty() {
                return Err(invalid(format!(
                    "`password_file` {} is empty; write the database user's password on its first line",
                    file.display()
                )));
            }
            return Ok(Some(line));
        }
        Ok(std::env::var(PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Zeroizing::new))
    }

    /// The TLS connector: the system's roots and `ca_file`, through rustls.
    /// Used when the URL's `sslmode` is `prefer` (the default) or `require`;
    /// `sslmode=disable` never starts TLS.
    pub(super) fn tls(&self) -> Result<MakeRustlsConnect, StoreError> {
        let config = crate::tls::client_config(self.ca_file.as_deref())
            .map_err(|e| invalid(format!("cannot set up TLS for the database: {e}")))?;
        Ok(MakeRustlsConnect::new((*config).clone()))
    }
}

/// Whether `url` is one the driver reads, without a password and with a
/// user: what the config's validation reports at the key's position.
pub fn check_url(url: &str) -> Result<(), String> {
    let options = PostgresOptions {
        url: url.to_owned(),
        password_file: None,
        pool_size: 1,
        ca_file: None,
        lease: DEFAULT_LEASE,
    };
    parse(&options).map(|_| ()).map_err(|e| match e {
        StoreError::Database { problem, .. } => problem,
        other => other.to_string(),
    })
}

fn parse(options: &PostgresOptions) -> Result<tokio_postgres::Config, StoreError> {
    let config = tokio_postgres::Config::from_str(&options.url).map_err(|e| {
        invalid(format!(
            "`url` is not a PostgreSQL URL (postgres://user@host:port/dbname) or key=value connection string: {e}"
        ))
    })?;
    if config.get_password().is_some() {
        return Err(invalid(format!(
            "`url` holds a password; a config file is no place for one. Remove it from the URL and put it in \
             the file `password_file` names, or in the environment variable {PASSWORD_ENV}"
        )));
    }
    if config.get_user().is_none() {
        return Err(invalid(
            "`url` names no user; give one (postgres://labwatch@host/labwatch)".to_owned(),
        ));
    }
    Ok(config)
}

/// `user@host:port/dbname`, for messages and logs; never the password.
pub(super) fn describe(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().unwrap_or("?");
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    let db = config.get_dbname().unwrap_or(user);
    format!("{user}@{}/{db}", hosts.join(","))
}

fn invalid(problem: String) -> StoreError {
    StoreError::Database {
        action: "use [store.postgres] of the config",
        problem,
        retryable: false,
        fix: "Fix [store.postgres] and start labwatch again",
    }
}
