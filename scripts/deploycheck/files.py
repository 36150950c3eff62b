"""The plain-file checks: every YAML file parses and passes yamllint, .env.template holds the
contract's variables with comments, and the Dockerfile/.dockerignore keep the image's basics."""

from __future__ import annotations

import glob
import os
import re
import subprocess

import yaml

from .contract import CONTRACT_ENV, ENV_DEFAULTS, EXTRA_ENV
from .report import Report, load_yaml_all, read_text

YAMLLINT_CONFIG = """
extends: default
rules:
  document-start: disable
  line-length: {max: 200, level: warning}
  comments: {min-spaces-from-content: 1}
  comments-indentation: {level: warning}
  truthy: {allowed-values: ["true", "false"], check-keys: false}
  indentation: {spaces: 2, indent-sequences: consistent}
"""


def check_yaml(report: Report) -> None:
    root = report.root
    files = sorted(
        [os.path.join(root, "docker-compose.yml")]
        + glob.glob(os.path.join(root, "deploy", "**", "*.y*ml"), recursive=True)
        + glob.glob(os.path.join(root, "k8s", "**", "*.y*ml"), recursive=True)
    )
    report.section(f"YAML: parse + yamllint ({len(files)} files)")
    for p in files:
        if not os.path.isfile(p):
            report.fail(report.rel(p), "missing")
            continue
        try:
            load_yaml_all(p)
        except yaml.YAMLError as e:
            report.fail(report.rel(p), f"YAML does not parse: {e}")
    existing = [p for p in files if os.path.isfile(p)]
    r = subprocess.run(["yamllint", "-f", "parsable", "-d", YAMLLINT_CONFIG, *existing],
                       capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if "[error]" in line:
            report.fail("yamllint", line.replace(root + "/", ""))
        elif line.strip():
            report.detail(f"yamllint warning: {line.replace(root + '/', '')}")
    if r.returncode not in (0, 1, 2):
        report.fail("yamllint", f"exited {r.returncode}: {r.stderr.strip()}")


def check_env_template(report: Report) -> dict[str, str]:
    """Checks .env.template and returns its variables (the compose and ConfigMap checks use them)."""
    report.section(".env.template")
    env: dict[str, str] = {}
    path = report.path(".env.template")
    if not os.path.isfile(path):
        report.fail(".env.template", "missing")
        return env
    prev = ""
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            prev = line
            continue
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if not m:
            report.fail(f".env.template:{n}", f"not KEY=value: {line!r}")
            continue
        k, v = m.groups()
        if k in env:
            report.fail(f".env.template:{n}", f"{k} defined twice")
        if not prev.lstrip().startswith("#"):
            report.fail(f".env.template:{n}", f"{k} has no comment line above it")
        env[k] = v
        prev = line
    for k in CONTRACT_ENV + EXTRA_ENV:
        if k not in env:
            report.fail(".env.template", f"missing {k}")
    for k, v in ENV_DEFAULTS.items():
        if k in env and env[k] != v:
            report.fail(".env.template", f"{k}={env[k]!r}, the contract default is {v!r}")
    return env


DOCKERFILE_NEEDLES = [
    ("--mount=type=cache", "cargo cache mounts"),
    ("cmake", "cmake for librdkafka"),
    ("libssl-dev", "libssl-dev"),
    ("zlib1g-dev", "zlib headers"),
    ("ca-certificates", "ca-certificates in the runtime"),
    ("10001", "uid 10001"),
    ("/usr/local/bin/", "binaries in /usr/local/bin"),
    ("/app/migrations", "migrations in /app/migrations"),
]


def check_dockerfile(report: Report) -> None:
    report.section("Dockerfile + .dockerignore")
    path = report.path("Dockerfile")
    if not os.path.isfile(path):
        report.fail("Dockerfile", "missing")
    else:
        _dockerfile(report, read_text(path))
    path = report.path(".dockerignore")
    if not os.path.isfile(path):
        report.fail(".dockerignore", "missing")
        return
    entries = {line.strip().strip("/") for line in read_text(path).splitlines()
               if line.strip() and not line.startswith("#")}
    for e in ("target", ".stack", ".git", ".env"):
        if e not in entries:
            report.fail(".dockerignore", f"does not exclude {e}")
    for e in ("migrations", "Cargo.toml", "Cargo.lock"):
        if e in entries:
            report.fail(".dockerignore", f"excludes {e}, which the build needs")


def _dockerfile(report: Report, df: str) -> None:
    # ARG defaults used in FROM lines are resolved first.
    args = dict(re.findall(r"^ARG\s+([A-Za-z_]+)=(\S+)", df, re.M))
    froms = [re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), x)
             for x in re.findall(r"^FROM\s+(.+)$", df, re.M)]
    if not any(x.startswith("rust:1-bookworm") and " AS builder" in x.replace(" as ", " AS ") for x in froms):
        report.fail("Dockerfile", f"no `rust:1-bookworm AS builder` stage (FROM lines: {froms})")
    if not froms or not froms[-1].startswith("debian:bookworm-slim"):
        report.fail("Dockerfile", f"the last (runtime) stage is not debian:bookworm-slim (FROM lines: {froms})")
    for needle, what in DOCKERFILE_NEEDLES:
        if needle not in df:
            report.fail("Dockerfile", f"missing {what} ({needle!r})")
    for b in ("ingest", "query-api", "producer-sim"):
        if not re.search(rf"\b{re.escape(b)}\b", df):
            report.fail("Dockerfile", f"binary {b} not mentioned")
    runtime = df[df.rfind("\nFROM "):]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    if not users or users[-1].split(":")[0] != "10001":
        report.fail("Dockerfile", "the runtime stage must end with USER 10001")
    if not re.search(r"^WORKDIR\s+/app\s*$", runtime, re.M):
        report.fail("Dockerfile", "runtime WORKDIR is not /app")
    if not os.path.isdir(report.path("migrations")):
        report.note("migrations/ does not exist yet: the Dockerfile COPY needs it")
