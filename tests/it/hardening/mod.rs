//! Regression tests for the issue "Hardening", one file per area.

mod http;
