//! Regression tests for the "Hardening" issue, one module per engineer's
//! area.

mod misc;
