"""Entry point: `python -m deploycheck [--metric-names FILE]`, run by scripts/validate-deploy.sh
with KUSTOMIZE and PROMTOOL set. Exit status 0 when everything passes, 1 on any problem, 2 on a
usage or setup error."""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from .compose import check_compose
from .files import check_dockerfile, check_env_template, check_yaml
from .grafana import check_grafana
from .k8s import check_k8s
from .prometheus import check_prometheus
from .report import Report

DESCRIPTION = """Offline validation of the deployment and observability files: Dockerfile,
.dockerignore, docker-compose.yml (compose-spec schema + project rules), .env.template, k8s/
(rendered by kustomize, validated by kubernetes-validate, held to the pipeline's policy),
deploy/prometheus (promtool check config/rules, promtool test rules) and deploy/grafana. Every
metric name used by dashboards and alerts must be one the binaries export."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/validate-deploy.sh", description=DESCRIPTION)
    parser.add_argument("--metric-names", metavar="FILE",
                        help="also write every metric name the Grafana dashboards and the alert rules query to "
                             "FILE, one per line, sorted (histogram series keep their _bucket/_sum/_count "
                             "suffix; Prometheus' own up, scrape_* and ALERTS* are left out)")
    return parser.parse_args(argv)


def tool(name: str) -> str:
    path = os.environ.get(name, "")
    if not path or not os.access(path, os.X_OK):
        print(f"validate-deploy: {name} is not set to an executable (scripts/validate-deploy.sh sets it)",
              file=sys.stderr)
        sys.exit(2)
    return path


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    root = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    kustomize, promtool = tool("KUSTOMIZE"), tool("PROMTOOL")
    k8s_version = os.environ.get("K8S_VERSION", "1.32.0")
    report = Report(root)
    try:
        check_yaml(report)
        env_template = check_env_template(report)
        check_dockerfile(report)
        check_compose(report, env_template)
        check_k8s(report, kustomize, k8s_version, env_template)
        check_prometheus(report, promtool)
        check_grafana(report)
    except Exception as e:  # noqa: BLE001 - report what was found before the checker stopped
        traceback.print_exc()
        print(f"\nvalidate-deploy: FAILED (the checker stopped on malformed input: {type(e).__name__}: {e})",
              file=sys.stderr)
        for f in report.failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    if args.metric_names:
        path = os.path.abspath(args.metric_names)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(n + "\n" for n in sorted(report.metric_names))
        print(f"==> wrote {len(report.metric_names)} metric names to {path}", file=sys.stderr)
    for n in report.notes:
        print(f"    note: {n}", file=sys.stderr)
    if report.failures:
        print(f"\nvalidate-deploy: FAILED ({len(report.failures)} problems)", file=sys.stderr)
        for f in report.failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print("validate-deploy: OK", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
