//! The Docker Compose stack, checked without a Docker daemon: `docker-compose config`, promtool
//! and amtool on the configs the containers get, every exporter config through the exporter's
//! own `--config.check`, and every mounted file present in the repository.
//!
//! Each container's view of its files is rebuilt in a temporary directory from the compose
//! file's bind mounts (one symlink per mount), so the tools check the paths the containers will
//! see, not the repository's layout.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_yaml::Value;

const EXPORTERS: [&str; 4] = [
    "rum-gateway",
    "webrtc-probe",
    "synthetic-journey",
    "db-slowquery",
];
/// The exporters that run once per region.
const PROBING: [&str; 2] = ["webrtc-probe", "synthetic-journey"];
const REGIONS: [&str; 2] = ["eu", "us"];

/// One service of the compose file, as `docker-compose config` resolved it.
#[derive(Debug)]
struct Service {
    name: String,
    image: String,
    build_target: Option<String>,
    command: Vec<String>,
    /// Bind mounts: (absolute source on the host, path in the container).
    binds: Vec<(PathBuf, String)>,
}

impl Service {
    /// The value of `--name=value` in the command.
    fn flag(&self, name: &str) -> Option<&str> {
        let prefix = format!("--{name}=");
        self.command
            .iter()
            .find_map(|arg| arg.strip_prefix(&prefix))
    }

    fn config_file(&self) -> &str {
        self.flag("config.file")
            .unwrap_or_else(|| panic!("{}: no --config.file in its command", self.name))
    }

    /// The host file mounted at `path` in the container, directly or inside a mounted directory.
    fn host_path(&self, path: &str) -> Option<PathBuf> {
        let (source, rest) = self
            .binds
            .iter()
            .filter_map(|(source, target)| {
                Some((source, Path::new(path).strip_prefix(target).ok()?))
            })
            .max_by_key(|(_, rest)| std::cmp::Reverse(rest.as_os_str().len()))?;
        Some(if rest.as_os_str().is_empty() {
            source.clone()
        } else {
            source.join(rest)
        })
    }

    /// The container's mounted files, rebuilt under a temporary directory.
    fn view(&self) -> ContainerView {
        let root = tempfile::tempdir().expect("temporary directory");
        let mut binds: Vec<_> = self.binds.iter().collect();
        binds.sort_by_key(|(_, target)| target.len());
        for (source, target) in binds {
            let link = root.path().join(target.trim_start_matches('/'));
            let parent = link.parent().expect("a mount target has a parent");
            // A symlinked ancestor would make the next link land inside the repository.
            assert!(
                parent
                    .ancestors()
                    .all(|dir| !dir.is_symlink() || dir == root.path()),
                "{}: {target} is mounted inside another bind mount",
                self.name
            );
            std::fs::create_dir_all(parent).expect("create the mount's parent");
            std::os::unix::fs::symlink(source, &link).expect("link the mount");
        }
        ContainerView { root }
    }
}

struct ContainerView {
    root: tempfile::TempDir,
}

impl ContainerView {
    fn path(&self, container_path: &str) -> PathBuf {
        self.root
            .path()
            .join(container_path.trim_start_matches('/'))
    }
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// Runs a tool the tests need; a missing tool fails the test, naming its Debian package.
fn run(program: &str, package: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|error| {
            panic!("could not run {program} ({error}); install the Debian package {package} (make deps)")
        })
}

fn text(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn read_yaml(path: &Path) -> Value {
    let content =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_yaml::from_str(&content).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        Value::String(line) => line.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The services of docker-compose.yml, read once through `docker-compose config`.
fn services() -> &'static [Service] {
    static SERVICES: OnceLock<Vec<Service>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        let output = run(
            "docker-compose",
            "docker-compose",
            &["-f", "docker-compose.yml", "config"],
            &repository(),
        );
        assert!(output.status.success(), "{}", text(&output));
        let config: Value =
            serde_yaml::from_slice(&output.stdout).expect("docker-compose config prints YAML");
        let services = config["services"]
            .as_mapping()
            .expect("docker-compose.yml has services");
        services
            .iter()
            .map(|(name, service)| parse_service(name.as_str().unwrap_or_default(), service))
            .collect()
    })
}

fn parse_service(name: &str, service: &Value) -> Service {
    let binds = service["volumes"]
        .as_sequence()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(parse_bind)
        .collect();
    Service {
        name: name.to_string(),
        image: service["image"].as_str().unwrap_or_default().to_string(),
        build_target: service["build"]["target"].as_str().map(str::to_string),
        command: strings(&service["command"]),
        binds,
    }
}

/// A bind mount, short (`/src:/dst:ro`) or long (`{type: bind, source, target}`) syntax;
/// named volumes give `None`.
fn parse_bind(volume: &Value) -> Option<(PathBuf, String)> {
    if let Some(short) = volume.as_str() {
        let mut parts = short.split(':');
        let (source, target) = (parts.next()?, parts.next()?);
        return source
            .starts_with('/')
            .then(|| (PathBuf::from(source), target.to_string()));
    }
    (volume["type"].as_str() == Some("bind")).then(|| {
        (
            PathBuf::from(volume["source"].as_str().unwrap_or_default()),
            volume["target"].as_str().unwrap_or_default().to_string(),
        )
    })
}

fn service(name: &str) -> &'static Service {
    services()
        .iter()
        .find(|service| service.name == name)
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name}"))
}

fn prometheus_services() -> Vec<&'static Service> {
    services()
        .iter()
        .filter(|service| service.image.starts_with("prom/prometheus:"))
        .collect()
}

fn is_agent(service: &Service) -> bool {
    service
        .command
        .iter()
        .any(|arg| arg == "--agent" || arg == "--enable-feature=agent")
}

/// Every string under a key ending in `_file`, anywhere in the document.
fn file_references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Mapping(mapping) => {
            for (key, value) in mapping {
                let key = key.as_str().unwrap_or_default();
                match value.as_str() {
                    Some(path) if key.ends_with("_file") => found.push(path.to_string()),
                    _ => file_references(value, found),
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| file_references(item, found)),
        _ => {}
    }
}

/// The host of `host:port`, or of a URL.
fn host_of(address: &str) -> &str {
    let address = address.split("://").last().unwrap_or(address);
    address.split(['/', ':']).next().unwrap_or(address)
}

#[test]
fn the_compose_file_is_valid_for_docker_compose() {
    let output = run(
        "docker-compose",
        "docker-compose",
        &["-f", "docker-compose.yml", "config", "-q"],
        &repository(),
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "docker-compose config -q printed something:\n{}",
        text(&output)
    );
}

#[test]
fn every_file_the_compose_file_mounts_is_in_the_repository() {
    let repository = repository();
    for service in services() {
        for (source, target) in &service.binds {
            assert!(
                source.starts_with(&repository) && source.exists(),
                "{}: {} (mounted at {target}) is not in the repository",
                service.name,
                source.display()
            );
        }
    }
}

#[test]
fn every_image_is_pinned_or_built_from_a_dockerfile_target() {
    let dockerfile = std::fs::read_to_string(repository().join("Dockerfile")).expect("Dockerfile");
    let stages: BTreeSet<String> = dockerfile
        .lines()
        .filter(|line| line.to_ascii_uppercase().starts_with("FROM "))
        .filter_map(|line| line.split_whitespace().nth(3).map(str::to_string))
        .collect();
    for service in services() {
        if let Some(target) = &service.build_target {
            assert!(
                stages.contains(target),
                "{}: the Dockerfile has no stage {target} (stages: {stages:?})",
                service.name
            );
            continue;
        }
        let tag = service.image.rsplit_once(':').map(|(_, tag)| tag);
        assert!(
            matches!(tag, Some(tag) if tag != "latest" && !tag.contains('/')),
            "{}: image {} has no pinned version",
            service.name,
            service.image
        );
    }
}

#[test]
fn every_prometheus_config_passes_promtool() {
    let generated_rule_files = std::fs::read_dir(repository().join("rules"))
        .expect("rules/")
        .filter_map(Result::ok)
        .filter(|entry| {
            std::fs::read_to_string(entry.path())
                .is_ok_and(|content| content.starts_with("# Code generated by rulegen"))
        })
        .count();
    assert!(
        generated_rule_files > 0,
        "rules/ holds no generated rule file"
    );
    let deploy_rules = repository().join("deploy/compose/rules");
    let rule_files =
        generated_rule_files + std::fs::read_dir(&deploy_rules).expect("rules").count();

    let mut checked = BTreeSet::new();
    for service in prometheus_services() {
        let view = service.view();
        let config = view.path(service.config_file());
        let config_arg = config.to_str().expect("a UTF-8 path");
        let mut args = vec!["check", "config", config_arg];
        if is_agent(service) {
            args.insert(2, "--agent");
        }
        let output = run("promtool", "prometheus", &args, &repository());
        assert!(
            output.status.success(),
            "{}: {}",
            service.name,
            text(&output)
        );

        if !is_agent(service) {
            let expected = format!("SUCCESS: {rule_files} rule files found");
            assert!(
                String::from_utf8_lossy(&output.stdout).contains(&expected),
                "{}: the rule files are not all loaded:\n{}",
                service.name,
                text(&output)
            );
        }
        checked.insert(service.host_path(service.config_file()).expect("mounted"));
    }

    let directory = repository().join("deploy/compose/prometheus");
    for entry in std::fs::read_dir(&directory).expect("deploy/compose/prometheus") {
        let path = entry.expect("a directory entry").path();
        assert!(
            checked.contains(&path),
            "{} is no Prometheus service's config",
            path.display()
        );
    }
}

#[test]
fn the_regions_remote_write_to_the_centre_with_the_exporters_job_names() {
    let (agents, centres): (Vec<_>, Vec<_>) =
        prometheus_services().into_iter().partition(|s| is_agent(s));
    let [centre] = centres.as_slice() else {
        panic!("expected one central Prometheus, found {centres:?}");
    };
    assert!(
        centre
            .command
            .contains(&"--web.enable-remote-write-receiver".to_string()),
        "{}: the remote-write receiver is off",
        centre.name
    );

    let mut regions = BTreeSet::new();
    let mut jobs = BTreeSet::new();
    for agent in agents {
        let config = read_yaml(&agent.host_path(agent.config_file()).expect("mounted"));
        let region = config["global"]["external_labels"]["region"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no region in external_labels", agent.name));
        regions.insert(region.to_string());

        let writes = config["remote_write"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        assert!(!writes.is_empty(), "{}: no remote_write", agent.name);
        for write in writes {
            let url = write["url"].as_str().unwrap_or_default();
            assert_eq!(
                (host_of(url), url.ends_with("/api/v1/write")),
                (centre.name.as_str(), true),
                "{}: remote_write to {url}",
                agent.name
            );
        }

        let region_jobs = check_scrape_configs(agent, &config);
        for exporter in PROBING {
            assert!(
                region_jobs.contains(exporter),
                "region {region} has no job {exporter}"
            );
        }
        jobs.extend(region_jobs);
    }
    assert_eq!(regions, REGIONS.iter().map(|r| r.to_string()).collect());
    for exporter in EXPORTERS {
        assert!(jobs.contains(exporter), "no region scrapes {exporter}");
    }
}

/// The job names of an agent's config, checking that every address it scrapes or probes through
/// is a service of the compose file.
fn check_scrape_configs(agent: &Service, config: &Value) -> BTreeSet<String> {
    let names: BTreeSet<&str> = services().iter().map(|s| s.name.as_str()).collect();
    let mut jobs = BTreeSet::new();
    for job in config["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
    {
        jobs.insert(job["job_name"].as_str().unwrap_or_default().to_string());
        let mut addresses: Vec<String> = Vec::new();
        for group in job["static_configs"]
            .as_sequence()
            .cloned()
            .unwrap_or_default()
        {
            addresses.extend(strings(&group["targets"]));
        }
        for rule in job["relabel_configs"]
            .as_sequence()
            .cloned()
            .unwrap_or_default()
        {
            if rule["target_label"].as_str() == Some("__address__") {
                addresses.extend(rule["replacement"].as_str().map(str::to_string));
            }
        }
        for address in addresses {
            let host = host_of(&address);
            assert!(
                host == "localhost" || names.contains(host),
                "{}: job {:?} scrapes {address}, which is no compose service",
                agent.name,
                job["job_name"]
            );
        }
    }
    jobs
}

#[test]
fn the_alertmanager_config_passes_amtool_and_its_secret_files_are_mounted() {
    let alertmanager = service("alertmanager");
    let view = alertmanager.view();
    let config = view.path(alertmanager.config_file());
    let output = run(
        "amtool",
        "prometheus-alertmanager",
        &["check-config", config.to_str().expect("a UTF-8 path")],
        &repository(),
    );
    assert!(output.status.success(), "{}", text(&output));

    let mut files = Vec::new();
    file_references(&read_yaml(&config), &mut files);
    assert!(
        !files.is_empty(),
        "the generated config names no secret file"
    );
    for file in files {
        assert!(
            view.path(&file).is_file(),
            "alertmanager: {file} is not mounted"
        );
    }

    let centre = prometheus_services()
        .into_iter()
        .find(|s| !is_agent(s))
        .expect("a central Prometheus");
    let central = read_yaml(&centre.host_path(centre.config_file()).expect("mounted"));
    let targets = strings(&central["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]);
    assert!(
        targets.iter().any(|t| host_of(t) == alertmanager.name),
        "the central Prometheus sends alerts to {targets:?}"
    );
}

/// Builds the exporters in the profile of this test binary and returns their directory.
fn exporter_binaries() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<this test>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let target_dir = profile_dir.parent().expect("target/");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut build = Command::new(cargo);
    build
        .current_dir(repository())
        .arg("build")
        .arg("--target-dir")
        .arg(target_dir);
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        build.arg("--release");
    }
    for exporter in EXPORTERS {
        build.args(["-p", exporter]);
    }
    let output = build.output().expect("cargo runs");
    assert!(output.status.success(), "cargo build: {}", text(&output));
    profile_dir.to_path_buf()
}

#[test]
fn every_exporter_config_passes_the_exporters_own_check() {
    let binaries = exporter_binaries();
    let mut checked = BTreeSet::new();
    for service in services() {
        let Some(exporter) = service.build_target.as_deref() else {
            continue;
        };
        if !EXPORTERS.contains(&exporter) {
            continue;
        }
        let config = service
            .host_path(service.config_file())
            .unwrap_or_else(|| panic!("{}: its --config.file is not mounted", service.name));
        let output = Command::new(binaries.join(exporter))
            .arg("--config.check")
            .arg(format!("--config.file={}", config.display()))
            .output()
            .expect("the exporter runs");
        assert!(
            output.status.success(),
            "{}: {}",
            service.name,
            text(&output)
        );

        let view = service.view();
        let mut files = Vec::new();
        file_references(&read_yaml(&config), &mut files);
        for file in files {
            assert!(
                view.path(&file).is_file(),
                "{}: {file} is not mounted",
                service.name
            );
        }
        checked.insert(exporter);
    }
    assert_eq!(checked, EXPORTERS.into_iter().collect());
}

#[test]
fn grafana_gets_the_generated_dashboards_and_the_central_prometheus() {
    let grafana = service("grafana");
    let view = grafana.view();
    let generated = std::fs::read_dir(repository().join("grafana/dashboards"))
        .expect("grafana/dashboards")
        .count();

    let providers = view.path("/etc/grafana/provisioning/dashboards");
    let mut dashboards = 0;
    for entry in std::fs::read_dir(&providers).expect("dashboard providers are mounted") {
        let provisioning = read_yaml(&entry.expect("a directory entry").path());
        for provider in provisioning["providers"].as_sequence().expect("providers") {
            let path = provider["options"]["path"].as_str().expect("options.path");
            dashboards += std::fs::read_dir(view.path(path))
                .unwrap_or_else(|error| panic!("grafana: dashboards path {path}: {error}"))
                .count();
        }
    }
    assert_eq!(dashboards, generated, "dashboards provisioned");

    let repository_source =
        read_yaml(&repository().join("grafana/provisioning/datasources/prometheus.yml"));
    let sources = view.path("/etc/grafana/provisioning/datasources");
    for entry in std::fs::read_dir(&sources).expect("data sources are mounted") {
        let provisioning = read_yaml(&entry.expect("a directory entry").path());
        let source = &provisioning["datasources"][0];
        assert_eq!(source["name"], repository_source["datasources"][0]["name"]);
        let url = source["url"].as_str().expect("url");
        let centre = prometheus_services().into_iter().find(|s| !is_agent(s));
        assert_eq!(Some(host_of(url)), centre.map(|s| s.name.as_str()), "{url}");
    }
}

#[test]
fn webrtc_probe_reads_the_password_coturn_is_configured_with() {
    let coturn = service("coturn");
    let conf = std::fs::read_to_string(
        coturn
            .host_path("/etc/coturn/turnserver.conf")
            .expect("coturn's config is mounted"),
    )
    .expect("coturn's config");
    for name in ["webrtc-probe-eu", "webrtc-probe-us"] {
        let probe = service(name);
        let config = read_yaml(&probe.host_path(probe.config_file()).expect("mounted"));
        let view = probe.view();
        for module in config["modules"].as_mapping().expect("modules").values() {
            let turn = &module["turn"];
            let Some(file) = turn["password_file"].as_str() else {
                continue;
            };
            let password = std::fs::read_to_string(view.path(file)).expect("the password file");
            let user = format!(
                "user={}:{}",
                turn["username"].as_str().unwrap_or_default(),
                password.trim_end()
            );
            assert!(
                conf.lines().any(|line| line.trim() == user),
                "{name}: coturn has no `{user}`"
            );
        }
    }
}

#[test]
fn the_readme_prometheus_examples_pass_promtool() {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let start = readme
        .find("\n## Running in production")
        .expect("a Running in production section");
    let section = &readme[start + 1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let examples: Vec<&str> = section
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter(|block| !block.contains("datasources:"))
        .collect();
    assert!(examples.len() >= 6, "found {} examples", examples.len());

    let directory = tempfile::tempdir().expect("temporary directory");
    for (index, example) in examples.iter().enumerate() {
        let path = directory.path().join(format!("example-{index}.yml"));
        std::fs::write(&path, example).expect("write the example");
        let output = run(
            "promtool",
            "prometheus",
            &[
                "check",
                "config",
                "--syntax-only",
                path.to_str().expect("UTF-8"),
            ],
            &repository(),
        );
        assert!(output.status.success(), "{example}\n{}", text(&output));
    }
}

#[test]
fn the_hand_written_rules_of_the_stack_pass_their_unit_tests() {
    let directory = repository().join("deploy/compose/rules-tests");
    for entry in std::fs::read_dir(&directory).expect("deploy/compose/rules-tests") {
        let path = entry.expect("a directory entry").path();
        let output = run(
            "promtool",
            "prometheus",
            &["test", "rules", path.to_str().expect("UTF-8")],
            &directory,
        );
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            text(&output)
        );
    }
}

#[test]
fn the_demo_pages_send_beacons_to_the_port_rum_gateway_takes_them_on() {
    let gateway = service("rum-gateway");
    let intake = gateway
        .flag("intake.listen-address")
        .expect("rum-gateway serves its intake on its own listener");
    let port = intake.rsplit(':').next().expect("a port");
    let snippet = std::fs::read_to_string(repository().join("deploy/docker/rum-start.html"))
        .expect("deploy/docker/rum-start.html");
    assert!(
        snippet.contains(&format!("\":{port}/beacon\"")),
        "the snippet does not send to port {port}:\n{snippet}"
    );
}
