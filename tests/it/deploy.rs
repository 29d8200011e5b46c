//! The Kubernetes manifests in `deploy/kubernetes` against the code: the
//! config they carry loads; the port it listens on is the container's, the
//! Service's and the scrape job's; the probes' paths are the daemon's; every
//! file the config names is mounted where it says; the replica name comes
//! from the pod; the container runs as a non-root user on a read-only root.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use yaml_rust2::{Yaml, YamlLoader};

fn manifest(name: &str) -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/kubernetes")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{name}: one document");
    docs.remove(0)
}

fn str_of<'a>(y: &'a Yaml, what: &str) -> &'a str {
    y.as_str().unwrap_or_else(|| panic!("{what} is not a string: {y:?}"))
}

#[tokio::test]
async fn the_kubernetes_manifests_match_the_code() {
    let deployment = manifest("deployment.yaml");
    let configmap = manifest("configmap.yaml");
    let service = manifest("service.yaml");
    let pods = manifest("service-pods.yaml");
    let pdb = manifest("pdb.yaml");
    let scrape = manifest("prometheus-scrape.yaml");

    let pod = &deployment["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    assert_eq!(deployment["spec"]["replicas"].as_i64(), Some(3));

    // The config: the one the container runs with, valid, on PostgreSQL.
    let args: Vec<&str> = container["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| str_of(a, "arg"))
        .collect();
    let config_path = args[args.iter().position(|a| *a == "--config").unwrap() + 1];
    let mounts = container["volumeMounts"].as_vec().unwrap();
    let config_mount = mounts.iter().find(|m| m["name"].as_str() == Some("config")).unwrap();
    assert_eq!(str_of(&config_mount["mountPath"], "config mount"), config_path);
    let text = str_of(
        &configmap["data"][str_of(&config_mount["subPath"], "subPath")],
        "labwatch.toml",
    );
    let config = labwatch::config::Config::parse(Path::new(config_path), text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.store.backend, labwatch::config::StoreBackend::Postgres);
    let postgres = config.store.postgres.as_ref().unwrap();

    // Every file the config names is a key of the mounted Secret.
    let secrets = mounts.iter().find(|m| m["name"].as_str() == Some("secrets")).unwrap();
    let secret_dir = PathBuf::from(str_of(&secrets["mountPath"], "secrets mount"));
    let secret_volume = pod["spec"]["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str() == Some("secrets"))
        .unwrap();
    assert_eq!(secret_volume["secret"]["secretName"].as_str(), Some("labwatch"));
    for file in [
        config.server.admin_token_file.clone().unwrap(),
        config.store.key_file.clone(),
        postgres.password_file.clone().unwrap(),
    ] {
        assert_eq!(
            file.parent(),
            Some(secret_dir.as_path()),
            "{} is not in the Secret's mount",
            file.display()
        );
    }
    assert_eq!(
        secret_volume["secret"]["defaultMode"].as_i64(),
        Some(0o440),
        "readable by the pod's group only"
    );

    // One port everywhere: the config's, the container's, the Service's, the scrape job's.
    let port = i64::from(config.server.listen.port());
    assert!(
        config.server.listen.ip().is_unspecified(),
        "a pod listens on all interfaces"
    );
    assert_eq!(container["ports"][0]["containerPort"].as_i64(), Some(port));
    let port_name = str_of(&container["ports"][0]["name"], "port name");
    assert_eq!(service["spec"]["ports"][0]["port"].as_i64(), Some(port));
    assert_eq!(service["spec"]["ports"][0]["targetPort"].as_str(), Some(port_name));
    assert_eq!(pods["spec"]["clusterIP"].as_str(), Some("None"), "one address per pod");
    assert_eq!(pods["spec"]["ports"][0]["port"].as_i64(), Some(port));
    let job = &scrape["scrape_configs"][0];
    assert_eq!(job["metrics_path"].as_str(), Some("/metrics"));
    let sd = &job["dns_sd_configs"][0];
    assert_eq!(sd["port"].as_i64(), Some(port));
    let name = str_of(&pods["metadata"]["name"], "headless Service");
    assert!(
        str_of(&sd["names"][0], "scraped name").starts_with(&format!("{name}.")),
        "the job resolves the headless Service"
    );

    // The probes' paths are the daemon's, on the named port.
    let status = crate::http::store();
    crate::http::all_ok(&status);
    for (probe, path) in [("livenessProbe", "/livez"), ("readinessProbe", "/readyz")] {
        assert_eq!(container[probe]["httpGet"]["path"].as_str(), Some(path));
        assert_eq!(container[probe]["httpGet"]["port"].as_str(), Some(port_name));
        assert_eq!(crate::http::get(&status, path).await.0, StatusCode::OK, "{path}");
    }
    assert_eq!(crate::http::get(&status, "/metrics").await.0, StatusCode::OK);

    // Selectors match the pods; the replica is named after its pod.
    let labels = &pod["metadata"]["labels"];
    for selector in [
        &deployment["spec"]["selector"]["matchLabels"],
        &pdb["spec"]["selector"]["matchLabels"],
        &service["spec"]["selector"],
    ] {
        assert_eq!(selector, labels);
    }
    assert_eq!(pdb["spec"]["minAvailable"].as_i64(), Some(2));
    let env = container["env"].as_vec().unwrap();
    let replica = env
        .iter()
        .find(|e| e["name"].as_str() == Some(labwatch::daemon::replicas::REPLICA_ENV))
        .expect("the replica's name comes from the pod");
    assert_eq!(
        replica["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.name")
    );

    // Not root, read-only root file system, nothing to escalate to.
    assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(security["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(security["capabilities"]["drop"][0].as_str(), Some("ALL"));
}

/// `promtool check config` accepts the scrape job as it is.
#[test]
#[cfg_attr(
    not(has_promtool),
    ignore = "promtool not installed: apt-get install prometheus (scripts/test does)"
)]
fn promtool_accepts_the_scrape_job() {
    let promtool = crate::support::tools::require("promtool", "prometheus");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/prometheus-scrape.yaml");
    let out = std::process::Command::new(promtool)
        .args(["check", "config", "--syntax-only"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
