//! Test support: servers on loopback, config files, the binary as a child.

pub mod browser;
pub mod client;
pub mod config;
pub mod demo;
pub mod in_process;
pub mod net;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod sim_http;
pub mod stub;
pub mod tools;
