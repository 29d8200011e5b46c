//! The Prometheus and Alertmanager files labwatch ships: the alerting rules
//! and their unit tests (`promtool test rules`), the example prometheus.yml
//! and alertmanager.yml, checked by the real tools, and kept in step with the
//! daemon (metric names, the alert that triggers a rotation, the listen
//! address).

use std::path::{Path, PathBuf};
use std::process::Command;

use labwatch::config::{Config, DEFAULT_RENEW_ON};

use crate::support::tools;

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

const RULES: &str = "config/prometheus/labwatch-rules.yml";
const PROMETHEUS: &str = "config/prometheus/prometheus.yml";
const ALERTMANAGER: &str = "config/alertmanager/alertmanager.yml";

/// The alerts the rules must define (issue: token expiring, invalid, scopes,
/// instance, repository, renewal overdue or failing, labwatch down or absent).
const ALERTS: &[&str] = &[
    "LabwatchTokenExpiringSoon",
    "LabwatchTokenInvalid",
    "LabwatchScopesMissing",
    "LabwatchInstanceUnreachable",
    "LabwatchRepositoryInaccessible",
    "LabwatchRenewalOverdue",
    "LabwatchRenewalFailing",
    "LabwatchDown",
    "LabwatchAbsent",
];

/// Runs a tool, failing with its whole output when it does not exit 0.
fn run(tool: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "`{} {}` failed ({}):\n{text}",
        tool.display(),
        args.join(" "),
        out.status
    );
    text
}

/// `- alert: Name` lines of the rules file.
fn alert_names(rules: &str) -> Vec<String> {
    rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(|n| n.trim().to_owned())
        .collect()
}

/// The rule blocks of the rules file, by alert name (text up to the next rule).
fn rule_blocks(rules: &str) -> Vec<(String, String)> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in rules.lines() {
        if let Some(name) = line.trim().strip_prefix("- alert:") {
            blocks.push((name.trim().to_owned(), String::new()));
        } else if let Some((_, block)) = blocks.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

#[test]
fn the_rules_define_every_alert_with_severity_and_remediation() {
    let rules = read(RULES);
    assert_eq!(alert_names(&rules), ALERTS, "the alerts of {RULES}");
    for (name, block) in rule_blocks(&rules) {
        assert!(
            block.contains("severity: warning") || block.contains("severity: critical"),
            "{name} needs a severity label (warning or critical)"
        );
        for annotation in ["summary:", "description:", "remediation:"] {
            assert!(block.contains(annotation), "{name} lacks the `{annotation}` annotation");
        }
    }
    // The alert that makes labwatch rotate is the one the daemon listens for.
    assert!(ALERTS.contains(&DEFAULT_RENEW_ON), "{DEFAULT_RENEW_ON}");
}

#[test]
fn the_rules_use_only_metrics_labwatch_documents() {
    // The metrics table of docs/metrics-and-alerting.md is the interface
    // the rules rely on.
    let documented = read("docs/metrics-and-alerting.md");
    let rules = read(RULES);
    let mut used: Vec<&str> = rules
        .match_indices("labwatch_")
        .map(|(at, _)| {
            let rest = &rules[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    used.sort_unstable();
    used.dedup();
    assert!(used.len() >= 6, "{used:?}");
    for metric in used {
        assert!(
            documented.contains(&format!("`{metric}{{")),
            "{RULES} uses `{metric}`, which the metrics table of docs/metrics-and-alerting.md does not list"
        );
    }
}

#[test]
fn every_alert_has_unit_tests() {
    let tests = read("config/prometheus/labwatch-rules.test.yml");
    for alert in ALERTS {
        let cases = tests.matches(&format!("alertname: {alert}\n")).count();
        assert!(cases >= 2, "{alert} needs a firing and a quiet case, has {cases}");
    }
}

#[test]
fn the_examples_point_at_labwatch() {
    let config = Config::load(&repo_path("config/labwatch.toml")).expect("config/labwatch.toml");
    let listen = config.server.listen.to_string();
    let prometheus = read(PROMETHEUS);
    assert!(
        prometheus.contains("job_name: labwatch"),
        "{PROMETHEUS}: scrape job `labwatch`"
    );
    assert!(
        prometheus.contains(&format!("targets: [\"{listen}\"]")),
        "{PROMETHEUS} must scrape {listen}"
    );
    let alertmanager = read(ALERTMANAGER);
    assert!(
        alertmanager.contains(&format!("url: http://{listen}/api/v1/alerts")),
        "{ALERTMANAGER} must post to http://{listen}/api/v1/alerts"
    );
    assert!(alertmanager.contains(&format!("alertname = \"{DEFAULT_RENEW_ON}\"")));
    assert!(read("config/labwatch.toml").contains("admin_token_file = \"/etc/labwatch/admin-token\""));
    assert!(alertmanager.contains("credentials_file: /etc/labwatch/admin-token"));
}

#[test]
#[cfg_attr(
    not(has_promtool),
    ignore = "promtool not installed: apt-get install prometheus (scripts/test does)"
)]
fn promtool_checks_and_tests_the_rules() {
    let promtool = tools::require("promtool", "prometheus");
    let dir = repo_path("config/prometheus");
    let out = run(&promtool, &["check", "rules", "labwatch-rules.yml"], &dir);
    assert!(out.contains(&format!("SUCCESS: {} rules found", ALERTS.len())), "{out}");

    let mut test_files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".test.yml"))
        .collect();
    test_files.sort();
    assert!(
        test_files.contains(&"labwatch-rules.test.yml".to_owned()),
        "{test_files:?}"
    );
    let mut args = vec!["test", "rules"];
    args.extend(test_files.iter().map(String::as_str));
    run(&promtool, &args, &dir);
}

#[test]
#[cfg_attr(
    not(has_promtool),
    ignore = "promtool not installed: apt-get install prometheus (scripts/test does)"
)]
fn promtool_accepts_the_example_prometheus_config() {
    let promtool = tools::require("promtool", "prometheus");
    let out = run(&promtool, &["check", "config", PROMETHEUS], &repo_path(""));
    assert!(out.contains("SUCCESS: 1 rule files found"), "{out}");
}

#[test]
#[cfg_attr(
    not(has_amtool),
    ignore = "amtool not installed: apt-get install prometheus-alertmanager (scripts/test does)"
)]
fn amtool_accepts_the_example_alertmanager_config_and_its_routes() {
    let amtool = tools::require("amtool", "prometheus-alertmanager");
    let root = repo_path("");
    run(&amtool, &["check-config", ALERTMANAGER], &root);
    let config = format!("--config.file={ALERTMANAGER}");
    let routes = |receiver: &str, labels: &[&str]| {
        let mut args = vec!["config", "routes", "test", config.as_str()];
        let verify = format!("--verify.receivers={receiver}");
        args.push(&verify);
        args.extend_from_slice(labels);
        run(&amtool, &args, &root);
    };
    routes(
        "labwatch-renew",
        &[
            &format!("alertname={DEFAULT_RENEW_ON}"),
            "workspace=acme",
            "severity=warning",
        ],
    );
    for alert in ALERTS.iter().filter(|a| **a != DEFAULT_RENEW_ON) {
        routes("default", &[&format!("alertname={alert}"), "workspace=acme"]);
    }
}
