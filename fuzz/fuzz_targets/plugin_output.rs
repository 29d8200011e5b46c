//! Fuzzes what a plugin prints: the first byte is its exit code, the rest
//! its stdout, read the way `PluginCheck` reads it (lossy UTF-8, then
//! `protocol::parse`, which handles both the Nagios plugin API with its
//! performance data and the labwatch JSON outcome). Plugins are written by
//! anyone, so nothing they print may panic labwatch, and what it keeps stays
//! within the documented caps.

#![no_main]

use labwatch::checks::plugin::{perfdata, protocol};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&code, stdout)) = data.split_first() else {
        return;
    };
    // The check turns codes above 3 into an error before parsing.
    let code = code % 4;
    let stdout = String::from_utf8_lossy(stdout);
    match protocol::parse(code, &stdout) {
        Ok(p) => {
            assert!(!p.summary.trim().is_empty(), "an outcome without a summary: {p:?}");
            assert!(p.summary.chars().count() <= 300, "summary over its cap: {p:?}");
            assert!(
                p.details.len() <= 20 && p.steps.len() <= 20,
                "lists over their cap: {p:?}"
            );
            for (name, _) in &p.measurements {
                // The JSON protocol rejects empty names; perfdata must too.
                assert!(!name.is_empty(), "a measurement without a name: {p:?}");
            }
        }
        Err(problem) => assert!(!problem.trim().is_empty(), "a protocol error without words"),
    }
    // Perfdata on its own as well: the parser sees every line, not only
    // what follows a `|`.
    if let Ok(items) = perfdata::parse(&stdout) {
        perfdata::measurements(&items);
    }
});
