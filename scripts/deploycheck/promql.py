"""PromQL parsing shared by the alert and dashboard checks: every expression must parse, select
metrics by a fixed name, and use only names the binaries export."""

from __future__ import annotations

import re

import promql_parser

from .contract import ALLOWED_METRICS, PROMETHEUS_SYNTHETIC
from .report import Report

# Grafana's interval variables stand in for a duration, so the expression still parses.
GRAFANA_INTERVALS = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}")


def promql_names(report: Report, expr: str, where: str) -> set[str]:
    """Parses a PromQL expression; returns the metric names it selects (and records them)."""
    try:
        ast = promql_parser.parse(GRAFANA_INTERVALS.sub("5m", expr))
    except Exception as ex:  # noqa: BLE001 - the parser raises plain exceptions
        report.fail(where, f"PromQL does not parse: {ex}: {expr!r}")
        return set()
    names: set[str] = set()
    unnamed: list[str] = []

    def visit(n) -> bool:
        if isinstance(n, promql_parser.VectorSelector):
            nm = n.name
            if not nm:
                for m in n.matchers.matchers:
                    if m.name == "__name__" and str(m.op).endswith("Equal") and "Not" not in str(m.op):
                        nm = m.value
            if nm:
                names.add(nm)
            else:
                unnamed.append(str(n))
        return True

    promql_parser.walk(ast, visit)
    for u in unnamed:
        report.fail(where, f"selector without a fixed metric name: {u}")
    for nm in names:
        if PROMETHEUS_SYNTHETIC.match(nm):
            continue
        if nm not in ALLOWED_METRICS:
            report.fail(where, f"metric {nm} is not exported by the binaries (contract section 6)")
        report.metric_names.add(nm)
    return names
