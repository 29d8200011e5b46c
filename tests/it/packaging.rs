//! What the Debian package (issue 21, docs/install.md) is made of and can
//! be held to without installing it: a man page for every command, the
//! completion scripts, the assets `Cargo.toml` names, the shipped config
//! and the unit's command line. `scripts/package-test` builds, lints,
//! installs, starts and removes the package itself.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use clap::CommandFactory;
use labwatch::cli::Cli;
use labwatch::config::{Config, StoreBackend};
use predicates::prelude::*;

fn labwatch() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"));
    cmd.env_remove("LABWATCH_CONFIG").env("RUST_LOG", "error");
    cmd
}

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Every command a user can type, nested ones too, as its words after
/// `labwatch` (`["workspaces", "list"]`); hidden ones and clap's `help` left out.
fn visible_commands() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(command: &clap::Command, words: &[String], out: &mut Vec<(Vec<String>, clap::Command)>) {
        for sub in command.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            let mut path = words.to_vec();
            path.push(sub.get_name().to_owned());
            out.push((path.clone(), sub.clone()));
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &[], &mut out);
    out
}

#[test]
fn every_command_has_a_man_page_with_its_description() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let commands = visible_commands();
    // The walk reaches the nested commands, or the assertion below is hollow.
    assert!(commands.iter().any(|(words, _)| words == &["workspaces", "list"]));

    labwatch()
        .arg("manpages")
        .arg(&pages)
        .args(["--date", "2026-12-07"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("{} man pages", commands.len() + 1)));

    let root = std::fs::read_to_string(pages.join("labwatch.1")).expect("labwatch.1");
    // Title, section, date, source: the date in its own slot.
    assert!(
        root.contains(&format!(
            ".TH labwatch 1 2026-12-07 \"labwatch {}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        root.lines().find(|l| l.starts_with(".TH")).unwrap_or_default()
    );
    for (words, command) in &commands {
        let name = format!("labwatch-{}", words.join("-"));
        let page = std::fs::read_to_string(pages.join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("no man page for `labwatch {}`: {e}", words.join(" ")));
        assert!(page.contains(&format!(".TH {name} 1")), "{name}.1 has no title line");
        // The page says what the command does, in the words of its --help
        // (roff escapes '-' and some punctuation, so compare the first word).
        let about = command.get_about().map(|a| a.to_string()).unwrap_or_default();
        let first_word = about.split_whitespace().next().unwrap_or_default();
        assert!(
            !first_word.is_empty() && page.contains(first_word),
            "{name}.1 does not describe the command ({about:?})"
        );
    }
    let written = std::fs::read_dir(&pages).unwrap().count();
    assert_eq!(
        written,
        commands.len() + 1,
        "pages for hidden commands or strays were written"
    );
    assert!(!pages.join("labwatch-manpages.1").exists());
}

#[test]
fn manpages_into_an_unwritable_place_fails_with_the_directory_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    labwatch()
        .arg("manpages")
        .arg(file.join("man1"))
        .assert()
        .code(69)
        .stderr(predicate::str::contains("cannot write the man pages into"))
        .stderr(predicate::str::contains("a-file/man1"));
}

#[test]
fn completions_know_every_command_in_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = labwatch().args(["completions", shell]).assert().code(0);
        let script = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        for (words, _) in visible_commands() {
            let last = words.last().unwrap();
            assert!(
                script.contains(last.as_str()),
                "the {shell} completion lacks `labwatch {}`",
                words.join(" ")
            );
        }
        assert!(
            script.contains("admin-token-file"),
            "the {shell} completion lacks the options"
        );
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error_naming_the_shells() {
    labwatch()
        .args(["completions", "tcsh"])
        .assert()
        .code(64)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("possible values: bash"))
        .stderr(predicate::str::contains("fish"))
        .stderr(predicate::str::contains("zsh"));
}

/// `[package.metadata.deb]` of Cargo.toml.
fn deb_metadata() -> toml::Table {
    let manifest: toml::Table = std::fs::read_to_string(repo_file("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest["package"]["metadata"]["deb"].as_table().unwrap().clone()
}

#[test]
fn the_package_ships_the_example_config_whose_store_is_where_the_package_makes_it() {
    let assets = deb_metadata()["assets"].as_array().unwrap().clone();
    let config_asset = assets
        .iter()
        .map(|a| a.as_array().unwrap())
        .find(|a| a[1].as_str() == Some("etc/labwatch/labwatch.toml"))
        .expect("an asset installs /etc/labwatch/labwatch.toml");
    assert_eq!(config_asset[0].as_str(), Some("config/labwatch.toml"));

    let config = Config::load(&repo_file("config/labwatch.toml")).expect("the shipped config loads");
    // Where postinst makes the store and its key, and StateDirectory= lets the service write.
    assert!(matches!(config.store.backend, StoreBackend::File));
    assert_eq!(config.store.dir, Path::new("/var/lib/labwatch"));
    assert_eq!(config.store.key_file, Path::new("/etc/labwatch/store.key"));
    let postinst = std::fs::read_to_string(repo_file("packaging/debian/postinst")).unwrap();
    assert!(postinst.contains("STORE=/var/lib/labwatch") && postinst.contains("KEY=/etc/labwatch/store.key"));
    // No secret ships: every token comes later, from the operator.
    assert_eq!(config.server.admin_token_file, None);
    assert!(config.workspaces.iter().all(|w| w.token_file.is_none()));
}

#[test]
fn every_asset_the_package_names_is_in_the_repository_or_made_by_scripts_package() {
    let script = std::fs::read_to_string(repo_file("scripts/package")).unwrap();
    for asset in deb_metadata()["assets"].as_array().unwrap() {
        let source = asset.as_array().unwrap()[0].as_str().unwrap();
        if source == "target/release/labwatch" {
            continue;
        }
        if let Some(made) = source.strip_prefix("target/package-assets/") {
            // Made from the binary by scripts/package, never committed.
            let file = made.rsplit('/').next().unwrap();
            let made_by = if file.ends_with(".1") {
                "manpages \"$assets/man\"".to_owned()
            } else {
                format!(">\"$assets/{made}\"")
            };
            assert!(
                script.contains("assets=target/package-assets") && script.contains(&made_by),
                "scripts/package does not make {source}"
            );
            continue;
        }
        let (dir, pattern) = match source.rsplit_once('/') {
            Some((dir, pattern)) => (repo_file(dir), pattern),
            None => (repo_file(""), source),
        };
        let matched = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{source}: {e}"))
            .filter_map(Result::ok)
            .any(|f| match pattern.strip_prefix('*') {
                Some(suffix) => f.file_name().to_string_lossy().ends_with(suffix),
                None => f.file_name() == pattern,
            });
        assert!(matched, "the package names {source}, which is not in the repository");
    }
}

#[test]
fn the_units_command_line_runs_the_daemon_on_the_shipped_config() {
    let unit = std::fs::read_to_string(repo_file("packaging/debian/labwatch.service")).unwrap();
    let exec_start = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    let words: Vec<&str> = exec_start.split_whitespace().collect();
    assert_eq!(words[0], "/usr/bin/labwatch");
    let parsed = <Cli as clap::Parser>::try_parse_from(&words).expect("ExecStart parses");
    match parsed.command {
        labwatch::cli::Command::Run(args) => {
            assert_eq!(args.config.as_deref(), Some(Path::new("/etc/labwatch/labwatch.toml")))
        }
        other => panic!("ExecStart runs {other:?}, not `run`"),
    }
    for line in [
        "User=labwatch",
        "StateDirectory=labwatch",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "CapabilityBoundingSet=",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }
}

#[test]
fn the_debian_changelog_is_at_the_crates_version() {
    // cargo-deb versions the package `<crate version>-1`; a changelog whose
    // newest entry says otherwise is one lintian and dpkg users are misled by.
    let changelog = std::fs::read_to_string(repo_file("packaging/debian/changelog")).unwrap();
    let first = changelog.lines().next().unwrap_or_default();
    let expected = format!("labwatch ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(
        first.starts_with(&expected),
        "packaging/debian/changelog begins {first:?}; add an entry for {expected:?} on top"
    );
}
