"""deploy/grafana: provisioning files, dashboard JSON, every panel query parses as PromQL over
exported metrics and uses the provisioned datasource, and the panels the runbook relies on exist."""

from __future__ import annotations

import glob
import json
import os
import re

from .promql import promql_names
from .report import Report, load_yaml

WANTED_PANELS = {
    "ingest_records_total": "ingest throughput by outcome",
    "ingest_dead_letters_total": "DLQ rate by kind",
    "ingest_consumer_lag": "consumer lag",
    "ingest_batch_duration_seconds_bucket": "batch/store latency p99",
    "http_requests_total": "HTTP rate by route/status and 5xx ratio",
    "http_request_duration_seconds_bucket": "HTTP latency p50/p99",
    "order_cache_requests_total": "cache hit ratio",
}


def check_grafana(report: Report) -> None:
    report.section("Grafana provisioning + dashboards")
    gdir = report.path("deploy", "grafana")
    ds_uids = _provisioning(report, gdir)
    files = sorted(glob.glob(os.path.join(gdir, "dashboards", "*.json")))
    if not files:
        report.fail("deploy/grafana/dashboards", "no dashboard JSON")
    dash_uids: dict[str, str] = {}
    exprs: list[str] = []
    for p in files:
        exprs += _dashboard(report, p, ds_uids, dash_uids)
    all_exprs = "\n".join(exprs)
    for m, what in WANTED_PANELS.items():
        if not re.search(rf"\b{m}\b", all_exprs):
            report.fail("deploy/grafana/dashboards", f"no panel for {what} ({m})")


def _provisioning(report: Report, gdir: str) -> set[str]:
    """Checks the datasource and dashboard providers; returns the datasource uids."""
    ds_uids = set()
    for p in sorted(glob.glob(os.path.join(gdir, "provisioning", "datasources", "*.y*ml"))):
        d = load_yaml(p) or {}
        if d.get("apiVersion") != 1:
            report.fail(report.rel(p), "apiVersion must be 1")
        for ds in d.get("datasources") or []:
            if not ds.get("uid") or not ds.get("type") or not ds.get("url"):
                report.fail(report.rel(p), f"datasource needs uid, type and url: {ds}")
            ds_uids.add(ds.get("uid"))
    if not ds_uids:
        report.fail("deploy/grafana/provisioning/datasources", "no datasource provisioned")
    providers = glob.glob(os.path.join(gdir, "provisioning", "dashboards", "*.y*ml"))
    if not providers:
        report.fail("deploy/grafana/provisioning/dashboards", "no dashboard provider")
    for p in providers:
        d = load_yaml(p) or {}
        if d.get("apiVersion") != 1 or not d.get("providers"):
            report.fail(report.rel(p), "needs apiVersion 1 and providers")
        for pr in d.get("providers") or []:
            if pr.get("type") != "file" or not (pr.get("options") or {}).get("path"):
                report.fail(report.rel(p), f"provider {pr.get('name')}: type file with options.path expected")
    return ds_uids


def _panels(panels: list | None) -> list[dict]:
    """Every panel, rows' nested panels included."""
    out = []
    for pn in panels or []:
        out.append(pn)
        out += _panels(pn.get("panels"))
    return out


def _dashboard(report: Report, p: str, ds_uids: set[str], dash_uids: dict[str, str]) -> list[str]:
    """Checks one dashboard; returns its panel queries."""
    where_file = report.rel(p)
    try:
        with open(p, encoding="utf-8") as f:
            d = json.load(f)
    except json.JSONDecodeError as e:
        report.fail(where_file, f"invalid JSON: {e}")
        return []
    for k in ("uid", "title", "panels", "schemaVersion"):
        if k not in d:
            report.fail(where_file, f"missing {k}")
    if d.get("uid") in dash_uids:
        report.fail(where_file, f"uid {d.get('uid')} also used by {dash_uids[d.get('uid')]}")
    dash_uids[d.get("uid")] = where_file
    panels = _panels(d.get("panels"))
    ids = [pn.get("id") for pn in panels]
    if len(ids) != len(set(ids)) or None in ids:
        report.fail(where_file, "panel ids missing or not unique")
    exprs = []
    for pn in panels:
        where = f"{where_file} panel {pn.get('id')} {pn.get('title')!r}"
        if "gridPos" not in pn:
            report.fail(where, "no gridPos")
        if pn.get("type") == "row":
            continue
        if not pn.get("targets"):
            report.fail(where, "no targets")
        for t in pn.get("targets") or []:
            ds = t.get("datasource") or pn.get("datasource") or {}
            uid = ds.get("uid") if isinstance(ds, dict) else ds
            if uid not in ds_uids:
                report.fail(where, f"datasource uid {uid!r} is not provisioned ({sorted(ds_uids)})")
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                report.fail(where, f"target {t.get('refId')}: empty expr")
                continue
            exprs.append(expr)
            promql_names(report, expr, f"{where} target {t.get('refId')}")
    for v in (d.get("templating") or {}).get("list") or []:
        q = v.get("query")
        if v.get("type") == "query" and isinstance(q, dict) and q.get("query"):
            m = re.match(r"label_values\((.*),\s*\w+\)$", q["query"])
            if m:
                promql_names(report, m.group(1), f"{where_file} variable {v.get('name')}")
    return exprs
