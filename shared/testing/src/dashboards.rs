//! The metric names the shipped Grafana dashboard and Prometheus alert rules query, so each
//! binary's tests can prove it exports every one of them (a renamed metric must not silently
//! blank a panel or disarm an alert).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn deploy_files() -> Vec<PathBuf> {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let mut files = vec![deploy.join("prometheus/alerts.yml")];
    if let Ok(entries) = std::fs::read_dir(deploy.join("grafana/dashboards")) {
        files.extend(entries.flatten().map(|entry| entry.path()));
    }
    files
}

/// Every identifier starting with one of `prefixes` in the dashboards and alert rules, e.g.
/// `ingest_batch_duration_seconds_bucket`.
pub fn dashboard_metric_names(prefixes: &[&str]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in deploy_files() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", file.display()));
        let identifiers =
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'));
        for identifier in identifiers {
            if prefixes.iter().any(|prefix| identifier.starts_with(prefix)) {
                names.insert(identifier.to_owned());
            }
        }
    }
    names
}

/// Panics unless every dashboard/alert metric with one of `prefixes` has a sample in `rendered`
/// (Prometheus text format).
pub fn assert_dashboards_covered(rendered: &str, prefixes: &[&str]) {
    let wanted = dashboard_metric_names(prefixes);
    assert!(
        !wanted.is_empty(),
        "no {prefixes:?} metrics found in deploy/: wrong path?"
    );
    let exported = crate::metrics::metric_names(rendered);
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|name| !exported.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "queried by deploy/ but not exported: {missing:?}"
    );
}
