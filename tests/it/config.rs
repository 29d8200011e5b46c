//! Config loading: the shipped example, strictness, and error locations.

use std::path::Path;
use std::time::Duration;

use labwatch::config::{Config, RenewBefore, RenewalMode, RepositorySeries};

fn errors(text: &str) -> Vec<String> {
    match Config::parse(Path::new("lw.toml"), text) {
        Ok(_) => panic!("config should be rejected:\n{text}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_example_config_loads_with_every_documented_value() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/labwatch.toml");
    let config = Config::load(&path).expect("config/labwatch.toml must stay valid");
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:9471");
    assert_eq!(config.engine.concurrency, 16);
    let ws = config.workspace("acme").expect("example has workspace acme");
    assert_eq!(ws.instance_url.as_str(), "https://gitlab.com/");
    assert_eq!(ws.interval, Duration::from_secs(300));
    assert_eq!(ws.timeout, Duration::from_secs(10));
    assert_eq!(ws.required_scopes, ["read_api", "read_repository"]);
    let repos: Vec<_> = ws.repositories.iter().map(|r| r.key()).collect();
    assert_eq!(
        repos,
        ["acme/backend", "acme/frontend"],
        "a URL on the instance itself is just a path"
    );
    assert_eq!(ws.renewal.mode, RenewalMode::Alert);
    assert_eq!(
        ws.renewal.renew_before,
        RenewBefore::Duration(Duration::from_secs(14 * 86_400))
    );
    assert_eq!(ws.renewal.lifetime, Duration::from_secs(90 * 86_400));
}

#[test]
fn a_misspelt_key_is_located_and_the_right_key_suggested() {
    let errs = errors("[defaults]\nintervall = \"5m\"\n\n[[workspace]]\nname = \"a\"\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("lw.toml:2:1: unknown field `intervall`"),
        "{}",
        errs[0]
    );
    assert!(errs[0].contains("did you mean `interval`?"), "{}", errs[0]);
}

#[test]
fn defaults_apply_when_keys_are_left_out() {
    let config = Config::parse(Path::new("lw.toml"), "[[workspace]]\nname = \"min\"\n").unwrap();
    let ws = &config.workspaces[0];
    assert_eq!(ws.instance_url.as_str(), "https://gitlab.com/");
    assert_eq!(ws.required_scopes, ["read_api", "read_repository"]);
    assert_eq!(ws.renewal.mode, RenewalMode::Manual);
    assert!(matches!(ws.renewal.renew_before, RenewBefore::Fraction(f) if (f - 1.0 / 3.0).abs() < 1e-9));
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:9471");
    assert!(config.server.admin_token_file.is_none());
}

#[test]
fn workspace_settings_override_defaults() {
    let config = Config::parse(
        Path::new("lw.toml"),
        "[defaults]\ninterval = \"10m\"\ntimeout = \"30s\"\n[[workspace]]\nname = \"a\"\ninterval = \"1m\"\n\
         nameservers = [\"10.0.0.53\", \"127.0.0.1:5353\", \"[::1]:53\"]\nrequests_per_second = 0.2\n\
         [workspace.renewal]\nrenew_before = \"25%\"\n",
    )
    .unwrap();
    let ws = &config.workspaces[0];
    assert_eq!(
        (ws.interval, ws.timeout),
        (Duration::from_secs(60), Duration::from_secs(30))
    );
    let ns: Vec<_> = ws.nameservers.iter().map(ToString::to_string).collect();
    assert_eq!(ns, ["10.0.0.53:53", "127.0.0.1:5353", "[::1]:53"]);
    assert_eq!(ws.requests_per_second, 0.2);
    assert_eq!(ws.renewal.renew_before, RenewBefore::Fraction(0.25));
}

#[test]
fn every_validation_problem_is_reported_with_its_location() {
    let text = r#"[server]
listen = "localhost"

[[workspace]]
name = "Acme Corp"
instance_url = "ftp://gitlab.example.com"
required_scopes = ["read_api", "read_repositry"]
repositories = ["backend", "acme/app"]
interval = "0s"
nameservers = ["dns.example.com"]
requests_per_second = 0

[workspace.renewal]
mode = "sometimes"
lifetime = "2y"

[[workspace]]
name = "twice"
[[workspace]]
name = "twice"
timeout = "10m"
"#;
    let errs = errors(text);
    let expect = [
        ("lw.toml:2:10:", "not an address to listen on"),
        ("lw.toml:5:8:", "workspace name `Acme Corp` must be"),
        ("lw.toml:6:16:", "uses ftp://"),
        ("lw.toml:7:32:", "did you mean `read_repository`?"),
        ("lw.toml:8:17:", "does not name a project"),
        ("lw.toml:9:12:", "interval must be greater than zero"),
        ("lw.toml:10:16:", "not a DNS server address"),
        ("lw.toml:11:23:", "requests_per_second must be above 0"),
        ("lw.toml:14:8:", "renewal mode `sometimes` is unknown"),
        ("lw.toml:15:12:", "lifetime must be between 1d and 400d"),
        ("lw.toml:20:8:", "workspace `twice` is defined twice"),
        ("lw.toml:21:11:", "timeout (10m) is longer than interval (5m)"),
    ];
    assert_eq!(errs.len(), expect.len(), "{}", errs.join("\n"));
    let mut sorted = errs.clone();
    sorted.sort_by_key(|e| {
        let mut parts = e.split(':').skip(1).map(|n| n.parse::<usize>().unwrap());
        (parts.next(), parts.next())
    });
    assert_eq!(errs, sorted, "errors are listed in file order");
    for (at, what) in expect {
        assert!(
            errs.iter().any(|e| e.starts_with(at) && e.contains(what)),
            "expected `{at} …{what}…` among:\n{}",
            errs.join("\n")
        );
    }
}

#[test]
fn the_metrics_table_chooses_how_repositories_are_exported_and_names_both_choices_when_wrong() {
    let ws = "[[workspace]]\nname = \"acme\"\n";
    let parse = |extra: &str| Config::parse(Path::new("lw.toml"), &format!("{ws}{extra}"));
    assert_eq!(
        parse("").unwrap().metrics.repository_series,
        RepositorySeries::PerRepository
    );
    assert_eq!(
        parse("[metrics]\nrepository_series = \"per-workspace\"\n")
            .unwrap()
            .metrics
            .repository_series,
        RepositorySeries::PerWorkspace
    );
    let errs = errors(&format!("{ws}[metrics]\nrepository_series = \"per-repo\"\n"));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("lw.toml:4:21: "), "{}", errs[0]);
    assert!(
        errs[0].contains("repository_series `per-repo` is unknown; use \"per-repository\"")
            && errs[0].contains("or \"per-workspace\""),
        "{}",
        errs[0]
    );
}

#[test]
fn a_timeout_over_the_interval_in_defaults_is_reported_once_where_it_is_set() {
    // Every workspace, plugin and HTTP check inherits both values; the
    // problem is the one line in [defaults], not each table that inherits it.
    let errs = errors(
        "[defaults]\ninterval = \"20s\"\ntimeout = \"2m\"\n\
         [[workspace]]\nname = \"a\"\n[[workspace]]\nname = \"b\"\n\
         [[http_check]]\nname = \"version\"\nurl = \"api/v4/version\"\nconditions = [\"[STATUS] == 200\"]\n",
    );
    assert_eq!(errs.len(), 1, "{}", errs.join("\n"));
    assert!(
        errs[0].starts_with("lw.toml:3:11:") && errs[0].contains("timeout (2m) is longer than interval (20s)"),
        "{}",
        errs[0]
    );
}

#[test]
fn a_repository_listed_as_path_and_as_url_of_the_instance_is_a_duplicate() {
    let errs = errors(
        "[[workspace]]\nname = \"a\"\ninstance_url = \"https://git.example.com\"\n\
         repositories = [\"acme/app\", \"https://git.example.com/acme/app.git\", \"https://other.example/acme/app\"]\n",
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("lw.toml:4:29:") && errs[0].contains("`acme/app` is listed twice"),
        "{}",
        errs[0]
    );
}

#[test]
fn a_syntax_error_points_at_the_line() {
    let errs = errors("[[workspace]]\nname = \"a\"\ninterval = 5m\n");
    assert!(errs[0].starts_with("lw.toml:3:"), "{}", errs[0]);
}

#[test]
fn a_wrong_type_is_located() {
    let errs = errors("[defaults]\nconcurrency = \"many\"\n[[workspace]]\nname = \"a\"\n");
    assert!(errs[0].starts_with("lw.toml:2:15:"), "{}", errs[0]);
}

/// humantime takes up to 2^64 s: such an interval passed `config check` and
/// then panicked the daemon's scheduler (`now + interval` overflowed). The
/// `config` fuzz target asserts that accepted configs are schedulable.
#[test]
fn an_interval_beyond_a_year_is_refused_before_the_scheduler_overflows() {
    let errs = errors("[defaults]\ninterval = \"18446744073709551615s\"\n[[workspace]]\nname = \"a\"\n");
    assert!(
        errs[0].starts_with("lw.toml:2:12:") && errs[0].contains("at most 365d"),
        "{}",
        errs[0]
    );
    let errs =
        errors("[[workspace]]\nname = \"a\"\n[[plugin]]\nname = \"p\"\ncommand = [\"/bin/sh\"]\ninterval = \"366d\"\n");
    assert!(
        errs[0].starts_with("lw.toml:6:12:") && errs[0].contains("at most 365d"),
        "{}",
        errs[0]
    );
}

#[test]
fn a_config_without_workspaces_says_what_to_add() {
    let errs = errors("[server]\nlisten = \"127.0.0.1:9471\"\n");
    assert!(errs[0].contains("no [[workspace]] is configured"), "{}", errs[0]);
}

#[test]
fn a_missing_ca_file_is_caught_at_load_time() {
    let errs = errors("[[workspace]]\nname = \"a\"\nca_file = \"/nonexistent/ca.pem\"\n");
    assert!(
        errs[0].starts_with("lw.toml:3:11:") && errs[0].contains("cannot read ca_file"),
        "{}",
        errs[0]
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let errs = errors(&format!(
        "[[workspace]]\nname = \"a\"\nca_file = \"{}\"\n",
        empty.display()
    ));
    assert!(errs[0].contains("holds no certificate"), "{}", errs[0]);
}

/// A token_file or ca_file at `/dev/zero` made validation allocate until the
/// process was killed (the `config` fuzz target reports it as out-of-memory).
#[test]
fn an_endless_token_file_or_ca_file_is_refused_not_read_to_the_end() {
    let errs = errors("[[workspace]]\nname = \"a\"\ntoken_file = \"/dev/zero\"\n");
    assert!(
        errs[0].starts_with("lw.toml:3:14:") && errs[0].contains("a character device, not a regular file"),
        "{}",
        errs[0]
    );
    let errs = errors("[[workspace]]\nname = \"a\"\nca_file = \"/dev/zero\"\n");
    assert!(
        errs[0].starts_with("lw.toml:3:11:") && errs[0].contains("a character device, not a regular file"),
        "{}",
        errs[0]
    );
}

#[test]
fn an_unreadable_file_names_the_file_and_the_fix() {
    let err = Config::load(Path::new("/nonexistent/labwatch.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("/nonexistent/labwatch.toml: cannot read the config file"),
        "{err}"
    );
    assert!(err.contains("LABWATCH_CONFIG"), "{err}");
}
