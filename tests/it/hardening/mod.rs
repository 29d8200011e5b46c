//! Tests of the hardening issue, one file per area.

mod store;
