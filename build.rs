//! Lays out the release binary's code so that the functions a running daemon
//! executes sit together, at the front of `.text`.
//!
//! Why: an idle daemon's memory is mostly its own code pages, and the kernel
//! maps code in blocks of 64 KiB or more around every page that is touched.
//! In the linker's default order the 2 MiB of functions a daemon runs are
//! spread over all 4.6 MiB of code, so nearly all of it became resident. Listed in
//! `link/hot-functions.txt` (written by `scripts/hot-functions` from a
//! profiled daemon), they are placed first, and idle RSS drops from 7.7 to
//! 5.8 MiB. Nothing else changes: the same functions, in another order.
//!
//! The list names functions by their mangled symbols, whose hashes change
//! with the compiler and, for labwatch's own functions, with its list of
//! dependencies (not with the checkout's directory). Symbols a build does not
//! have are skipped silently: the layout drifts back towards the linker's,
//! the build never breaks. `scripts/check-hot-functions` (run by CI) says
//! how much of the list still matches; regenerate it when that drops.
//!
//! Applied only where it is known to work: release builds for
//! x86_64-unknown-linux-gnu with Rust ≥ 1.90, whose default linker is LLD,
//! and no linker configured by the user (GNU ld does not know the option).
//! `LABWATCH_NO_CODE_ORDER=1` turns it off.

use std::env;
use std::path::Path;
use std::process::Command;

const LIST: &str = "link/hot-functions.txt";

fn main() {
    println!("cargo::rerun-if-changed={LIST}");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=LABWATCH_NO_CODE_ORDER");
    let list = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(LIST);
    match skip_reason() {
        Some(why) => {
            // Quiet for debug builds, where it is expected.
            if env::var("PROFILE").as_deref() == Ok("release") {
                println!("cargo::warning=code layout left to the linker: {why}");
            }
        }
        None if !list.is_file() => {
            println!("cargo::warning=code layout left to the linker: {LIST} is missing");
        }
        None => {
            println!(
                "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
                list.display()
            );
            println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        }
    }
}

/// Why this build keeps the linker's default layout, if it does.
fn skip_reason() -> Option<String> {
    if env::var_os("LABWATCH_NO_CODE_ORDER").is_some_and(|v| !v.is_empty() && v != "0") {
        return Some("LABWATCH_NO_CODE_ORDER is set".into());
    }
    if env::var("PROFILE").as_deref() != Ok("release") {
        return Some("not a release build".into());
    }
    let target = env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" {
        return Some(format!("target {target} may not link with LLD"));
    }
    if env::var_os("RUSTC_LINKER").is_some() {
        return Some("a linker is configured".into());
    }
    // Flags that pick another linker (or flavour) may not take the option.
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if ["linker", "link-self-contained", "fuse-ld"]
        .iter()
        .any(|f| flags.contains(f))
    {
        return Some("RUSTFLAGS choose the linker".into());
    }
    match rustc_minor() {
        Some(minor) if minor >= 90 => None,
        Some(minor) => Some(format!("Rust 1.{minor} links with GNU ld")),
        None => Some("the Rust version is unknown".into()),
    }
}

/// The minor version of the compiler building this crate (1.x).
fn rustc_minor() -> Option<u32> {
    let rustc = env::var_os("RUSTC")?;
    let out = Command::new(rustc).arg("--version").output().ok()?;
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.split_whitespace().nth(1)?;
    let mut parts = version.split('.');
    (parts.next()? == "1").then_some(())?;
    parts.next()?.parse().ok()
}
