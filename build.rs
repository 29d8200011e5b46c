//! Two things: which test tools are installed (`build/tools.rs`, `cfg`s for
//! the test suite), and an optional release step: lay out the binary's code so that the
//! functions a running daemon executes sit together, at the front of
//! `.text`. Off unless `LABWATCH_CODE_ORDER` names a list of functions
//! (written by `scripts/hot-functions`); `docs/performance.md` says how to
//! make one and what it saves.
//!
//! Why it exists: an idle daemon's memory is mostly its own code pages, and
//! the kernel maps code in blocks of 64 KiB or more around every page that
//! is touched. In the linker's default order the 2 MiB of functions a daemon
//! runs are spread over all of its code, so nearly all of it becomes
//! resident; placed first, the rest stays on disk (about 2 MiB less idle
//! RSS). Nothing else changes: the same functions, in another order.
//!
//! Why it is optional: the list names functions by their mangled symbols,
//! which change with the compiler, the dependencies and labwatch's own
//! module paths, and making it takes valgrind and a few minutes. Symbols a
//! build does not have are skipped: a stale list never breaks a build, it
//! only saves less (`scripts/check-hot-functions` tells how much matches).
//!
//! Applied only where it is known to work: release builds for
//! x86_64-unknown-linux-gnu with Rust ≥ 1.90, whose default linker is LLD,
//! and no linker configured by the user (GNU ld does not know the option).

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// Names the list of functions to place first; unset: the linker's order.
const LIST_ENV: &str = "LABWATCH_CODE_ORDER";

#[path = "build/tools.rs"]
mod tools;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=build/tools.rs");
    tools::emit();
    code_order();
}

/// The optional code layout (see the top of this file).
fn code_order() {
    println!("cargo::rerun-if-env-changed={LIST_ENV}");
    let Some(list) = env::var_os(LIST_ENV).filter(|v| !v.is_empty()).map(PathBuf::from) else {
        return;
    };
    println!("cargo::rerun-if-changed={}", list.display());
    if let Some(why) = skip_reason() {
        println!("cargo::warning={LIST_ENV} is set, but the code layout is left to the linker: {why}");
        return;
    }
    let Ok(list) = list.canonicalize() else {
        println!(
            "cargo::warning={LIST_ENV} names {}, which does not exist; make it with scripts/hot-functions",
            list.display()
        );
        return;
    };
    println!(
        "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// Why this build keeps the linker's default layout, if it does.
fn skip_reason() -> Option<String> {
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
