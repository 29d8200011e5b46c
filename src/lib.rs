//! labwatch keeps a development workspace's GitLab connection healthy: it
//! checks, on a schedule, everything that breaks such a connection, explains
//! each failure with the steps that fix it, and serves the results to people,
//! pollers and Prometheus.
//!
//! A map of the modules, in the order data flows:
//!
//! - [`config`]: the TOML file → raw serde types → a validated [`config::Config`];
//!   errors point at `FILE:LINE:COL`.
//! - [`connections`]: identity and token metadata per workspace, for `/status`.
//! - [`engine`]: the [`engine::Check`] trait and its [`engine::Outcome`], the
//!   reason-code registry, the scheduler (interval with jitter, timeout,
//!   concurrency limit, dependency graph) and the [`engine::StatusStore`].
//! - [`actions`]: connect, update token, rotate, disconnect, repositories:
//!   the only code that changes a connection.
//! - [`checks`]: the built-in checks, plugins (external executables) and
//!   declarative HTTP checks, and the explicit registry that builds a
//!   workspace's list of them.
//! - [`gitlab`]: the GitLab API client: typed calls, error taxonomy, request
//!   budget, auth breaker.
//! - [`tls`]: trust roots and rustls configs shared by everything that talks TLS.
//! - [`metrics`]: Prometheus rendering of the status store on an explicit registry.
//! - [`http`]: the axum router for `/livez`, `/readyz`, `/health`, `/status`,
//!   `/metrics`.
//! - [`daemon`]: wires config, scheduler and server together; reloads on SIGHUP,
//!   stops on SIGTERM/SIGINT.
//! - [`report`]: text, JSON and Nagios renderings used by `labwatch check`.
//! - [`remote`]: the admin commands (`connect`, `renew`, `rotate`, `disconnect`,
//!   `repos`): the client side of a running daemon's admin API.
//! - [`cli`]: the command line; [`commands`]: what each command does.

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
