//! labwatch's integration tests: one test binary (ripgrep style), one module
//! per area, shared servers and helpers in `support`.

mod admin;
mod alerting;
mod cli;
mod config;
mod crash;
mod daemon;
mod demo;
mod deploy;
mod engine;
mod faults;
mod fleet;
mod fleet_requests;
mod fuzz_seeds;
mod gitlab_checks;
mod gitlab_client;
mod hardening;
mod http;
mod http_checks;
mod instance;
mod leases;
mod page;
mod plugins;
mod postgres;
mod readme;
mod remote;
mod replicas;
mod rules;
mod sim;
mod sim_api;
mod sim_python_gitlab;
mod store;
mod store_postgres;
mod support;
mod workspaces;
