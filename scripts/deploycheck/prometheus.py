"""deploy/prometheus: the config and alert rules parse and follow the project's rules, promtool
checks both, and `promtool test rules` runs the unit tests next to the rules (*.test.yml), which
must cover every alert."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import tempfile

from .promql import promql_names
from .report import Report, load_yaml, read_text

DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
# Alerts the pipeline must have, and the series each must watch.
REQUIRED_ALERTS = (("IngestConsumerLagGrowing", "ingest_consumer_lag"),
                   ("IngestDeadLettersHigh", "ingest_dead_letters_total"),
                   ("QueryApi5xxRatio", "http_requests_total"),
                   ("ServiceNotReady", "up"))
CONTAINER_DIR = "/etc/prometheus/"  # where docker-compose.yml mounts deploy/prometheus


def check_prometheus(report: Report, promtool: str) -> None:
    report.section("Prometheus config + alert rules (promtool check, promtool test rules)")
    prom_dir = report.path("deploy", "prometheus")
    cfg_path = os.path.join(prom_dir, "prometheus.yml")
    alerts_path = os.path.join(prom_dir, "alerts.yml")
    rule_paths = set(_config(report, prom_dir, cfg_path))
    if os.path.isfile(alerts_path):
        rule_paths.add(alerts_path)
    else:
        report.fail(report.rel(alerts_path), "missing")
    rule_paths = sorted(rule_paths)
    alerts = set()
    for path in rule_paths:
        alerts |= _rules(report, path)
    _promtool(report, promtool, prom_dir, cfg_path, rule_paths, alerts)


def _config(report: Report, prom_dir: str, cfg_path: str) -> list[str]:
    """Checks prometheus.yml; returns the local paths of its rule files."""
    if not os.path.isfile(cfg_path):
        report.fail(report.rel(cfg_path), "missing")
        return []
    cfg = load_yaml(cfg_path) or {}
    paths = []
    for rf in cfg.get("rule_files") or []:
        local = os.path.join(prom_dir, rf[len(CONTAINER_DIR):] if rf.startswith(CONTAINER_DIR) else rf)
        found = sorted(glob.glob(local))
        if not found:
            report.fail(report.rel(cfg_path), f"rule file {rf} not found in deploy/prometheus")
        paths += found
    targets = {}
    for sc in cfg.get("scrape_configs") or []:
        for st in sc.get("static_configs") or []:
            for t in st.get("targets") or []:
                targets[t] = sc.get("metrics_path", "/metrics")
    for t in ("ingest:9100", "query-api:9101"):
        if targets.get(t) != "/metrics":
            report.fail(report.rel(cfg_path), f"no scrape of {t}/metrics")
    return paths


def _rules(report: Report, path: str) -> set[str]:
    """Checks one rule file; returns its alert names."""
    where_file = report.rel(path)
    doc = load_yaml(path) or {}
    groups = doc.get("groups")
    if not isinstance(groups, list) or not groups:
        report.fail(where_file, "no rule groups")
        groups = []
    alerts: dict[str, dict] = {}
    group_names = set()
    for g in groups:
        gname = g.get("name")
        if not gname or gname in group_names:
            report.fail(where_file, f"group name missing or duplicated: {gname!r}")
        group_names.add(gname)
        for i, rule in enumerate(g.get("rules") or []):
            where = f"{where_file} group {gname} rule {rule.get('alert') or rule.get('record') or i}"
            if bool(rule.get("alert")) == bool(rule.get("record")):
                report.fail(where, "needs exactly one of alert/record")
            if rule.get("alert"):
                alerts[rule["alert"]] = rule
            _rule(report, rule, where)
    if os.path.basename(path) == "alerts.yml":
        for name, metric in REQUIRED_ALERTS:
            if name not in alerts:
                report.fail(where_file, f"alert {name} missing")
            elif metric not in str(alerts[name].get("expr")):
                report.fail(where_file, f"alert {name} does not use {metric}")
    return set(alerts)


def _rule(report: Report, rule: dict, where: str) -> None:
    expr = rule.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        report.fail(where, "empty expr")
        return
    promql_names(report, expr, where)
    if "for" in rule and not DURATION.match(str(rule["for"])):
        report.fail(where, f"bad `for` duration {rule['for']!r}")
    if rule.get("alert"):
        if not (rule.get("labels") or {}).get("severity"):
            report.fail(where, "no severity label")
        if not (rule.get("annotations") or {}).get("summary"):
            report.fail(where, "no summary annotation")
        for k, v in (rule.get("annotations") or {}).items():
            if str(v).count("{{") != str(v).count("}}"):
                report.fail(where, f"annotation {k}: unbalanced template braces")


def _run(report: Report, what: str, argv: list[str], cwd: str | None = None) -> str:
    r = subprocess.run(argv, capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0:
        report.fail(what, (r.stdout + r.stderr).strip())
    return r.stdout


def _promtool(report: Report, promtool: str, prom_dir: str, cfg_path: str, rule_paths: list[str],
              alerts: set[str]) -> None:
    if rule_paths:
        _run(report, "promtool check rules", [promtool, "check", "rules", *rule_paths])
    if os.path.isfile(cfg_path):
        # The config names its rule files by their path inside the container.
        with tempfile.TemporaryDirectory() as td:
            tmp_cfg = os.path.join(td, "prometheus.yml")
            with open(tmp_cfg, "w", encoding="utf-8") as f:
                f.write(read_text(cfg_path).replace(CONTAINER_DIR, prom_dir + "/"))
            _run(report, "promtool check config", [promtool, "check", "config", tmp_cfg])
    tests = sorted(glob.glob(os.path.join(prom_dir, "*.test.yml")))
    if not tests:
        report.fail(report.rel(prom_dir), "no rule unit tests (*.test.yml for `promtool test rules`)")
        return
    _run(report, "promtool test rules", [promtool, "test", "rules", *tests], cwd=prom_dir)
    tested = set()
    for path in tests:
        for t in (load_yaml(path) or {}).get("tests") or []:
            for case in t.get("alert_rule_test") or []:
                tested.add(case.get("alertname"))
    for name in sorted(alerts - tested):
        report.fail(report.rel(prom_dir), f"alert {name} has no `promtool test rules` case (*.test.yml)")
    report.detail(f"promtool: config and {len(rule_paths)} rule file(s) checked; {len(tests)} test file(s), "
                  f"{len(alerts & tested)}/{len(alerts)} alerts have test cases ({promtool})")
