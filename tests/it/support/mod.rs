//! Test support: servers on loopback, config files, the binary as a child.

pub mod client;
pub mod config;
// pub mod net; (temporarily off)
pub mod process;
pub mod stub;
pub mod tools;
