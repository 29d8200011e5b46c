//! Regression tests for the issue "Hardening", one file per area: each
//! test failed on the code before its fix.

mod gitlab;
mod http;
mod misc;
mod store;
