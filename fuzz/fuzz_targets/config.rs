//! Fuzzes the config parser, `Config::parse`: arbitrary UTF-8 as the text of
//! a config file. It must never panic, and every rejection must say what is
//! wrong and where (`FILE:LINE:COL`), since that is all a person gets.
//!
//! An accepted config must be one the daemon can schedule.
//!
//! Parsing also looks at the file system (a plugin's program must exist, a
//! `ca_file` or `token_file` must be readable), as it does in the daemon.

#![no_main]

use std::path::Path;
use std::time::{Duration, Instant};

use labwatch::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let path = Path::new("fuzz.toml");
    let errors = match Config::parse(path, text) {
        Ok(config) => return schedulable(&config),
        Err(errors) => errors,
    };
    assert!(!errors.0.is_empty(), "a rejection without a single error");
    // Past the end by one: toml points just after the last character at EOF.
    let lines = text.lines().count() + 1;
    for e in &errors.0 {
        assert!(!e.message.trim().is_empty(), "an error without a message: {e:?}");
        assert_eq!(e.file, path, "{e:?}");
        // Line 0 means "the file as a whole", which only `Config::load` uses
        // (it could not read the file); text that was read has a position.
        assert!(e.line >= 1 && e.column >= 1, "an error without a position: {e:?}");
        assert!(e.line <= lines, "an error past the end of the text: {e:?}");
    }
});

/// An accepted config must be one the daemon can run: the scheduler adds
/// each interval, stretched by up to 10% of jitter, and each timeout to the
/// monotonic clock, which panics on overflow.
fn schedulable(config: &Config) {
    let now = Instant::now();
    let mut durations: Vec<(&str, Duration)> = Vec::new();
    for w in &config.workspaces {
        durations.extend([("interval", w.interval), ("timeout", w.timeout)]);
    }
    for p in &config.plugins {
        durations.extend([("plugin interval", p.interval), ("plugin timeout", p.timeout)]);
    }
    for c in &config.http_checks {
        durations.extend([("http_check interval", c.interval), ("http_check timeout", c.timeout)]);
    }
    for (what, d) in durations {
        let stretched = d.checked_add(d / 10);
        assert!(
            stretched.and_then(|d| now.checked_add(d)).is_some(),
            "an accepted {what} of {d:?} overflows the clock"
        );
    }
}
