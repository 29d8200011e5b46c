//! labwatch keeps development workspaces' GitLab connections healthy: it
//! checks, on a schedule, everything that breaks such a connection, explains
//! each failure with the steps that fix it, serves the results to people,
//! pollers and Prometheus, and acts: connect, update token, rotate,
//! disconnect.
//!
//! The modules, from the command line down; each uses only those below it
//! (`docs/ARCHITECTURE.md` draws the map and follows a round of checks and
//! an action through it):
//!
//! - [`cli`]: the command line: what each command does, the demo, and the
//!   client of a running daemon's admin API.
//! - [`daemon`]: the wiring of `labwatch run`: store, runtime, actions and
//!   HTTP server; reload on SIGHUP, stop on SIGTERM/SIGINT.
//! - [`http`]: the axum router: probes, `/status`, `/metrics`, the status
//!   page and its forms, the admin API. Handlers translate; they decide
//!   nothing.
//! - [`metrics`]: `/metrics`, rendered from the status store at scrape time.
//! - [`actions`]: connect, update token, rotate, disconnect, repositories,
//!   alert-driven and automatic renewal, settling interrupted rotations: the
//!   only code that changes a connection, and every change audited.
//! - [`runtime`]: the running workspaces, each built from the config and its
//!   stored connection; re-planned by actions, replaced by reloads.
//! - [`checks`]: the built-in checks, plugins and declarative HTTP checks,
//!   and the registry of a workspace's checks. Checks only observe.
//! - [`config`]: the TOML file → raw serde types → a validated
//!   [`config::Config`]; errors point at `FILE:LINE:COL`.
//! - [`store`]: the encrypted [`store::ConnectionStore`]: connections,
//!   rotation markers, disconnect records, the audit log.
//! - [`gitlab`]: the GitLab API client: typed calls, error taxonomy, request
//!   budget, auth breaker.
//! - [`report`]: renderings of the status: the `/status` document with each
//!   workspace's connection, text, Nagios.
//! - [`wire`]: the admin API's JSON, declared once for daemon and client.
//! - [`tls`], [`files`]: trust roots; capped reads of the files people name.
//! - [`engine`]: the [`engine::Check`] trait and its [`engine::Outcome`], the
//!   reason-code registry, the scheduler and the [`engine::StatusStore`]. It
//!   knows nothing about GitLab.
//! - [`sim`]: the GitLab simulator, apart from all of the above.
//!
//! The `labwatch` executable (`src/bin/labwatch`) adds what belongs to the
//! process as a whole: allocator policy, the subreaper flag, `exp`/`pow`.

// Checks return `Result<_, Outcome>` where a step's failure *is* the check's
// result (failure as data). An Outcome is a few hundred bytes, made once per
// check run; boxing it on that path would buy nothing.
#![allow(clippy::result_large_err)]

pub mod actions;
pub mod checks;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod files;
pub mod gitlab;
pub mod http;
pub mod metrics;
pub mod report;
pub mod runtime;
pub mod sim;
pub mod store;
pub mod tls;
pub mod wire;
