//! labwatch's integration tests: one test binary (ripgrep style), one module
//! per area, shared servers and helpers in `support`.

mod cli;
mod config;
mod daemon;
mod engine;
mod gitlab_checks;
mod http;
mod instance;
mod readme;
mod sim;
mod support;
