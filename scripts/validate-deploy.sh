#!/usr/bin/env bash
# Offline validation of the deployment and observability files:
#   Dockerfile, .dockerignore, docker-compose.yml, .env.template, k8s/, deploy/.
#
# Usage: scripts/validate-deploy.sh [--metric-names FILE] [-h|--help]
#
#   --metric-names FILE  also write every metric name used by the Grafana
#                        dashboards (deploy/grafana/dashboards/*.json) and the
#                        alert rules (deploy/prometheus/alerts.yml) to FILE, one
#                        per line, sorted. Names are written as the queries use
#                        them, so histogram series keep their `_bucket`/`_sum`/
#                        `_count` suffix. Prometheus' own synthetic series
#                        (`up`, `scrape_*`, `ALERTS*`) are left out: no binary
#                        exports them.
#
# What it checks (no Docker engine and no cluster needed, nothing is started):
#   - every YAML file parses and passes yamllint (relaxed config below);
#   - docker-compose.yml against the compose-spec JSON schema (vendored in the
#     check-jsonschema package, so no schema download), plus project rules:
#     services present, the app image built once, in-network addresses,
#     depends_on conditions, bind-mount sources exist, ${VARS} defined;
#   - .env.template holds every variable of the contract, each with a comment;
#   - Dockerfile/.dockerignore basics (stages, non-root uid 10001, binaries);
#   - k8s/: renders the base and every overlay with `kubectl kustomize` when
#     kubectl is on PATH (its bundled kustomize); without kubectl, a small
#     built-in renderer loads every resource listed in the kustomizations and
#     applies namespace, images, merge patches and secret/config generators
#     (enough to validate, not a kustomize replacement). Every rendered object
#     is validated with kubernetes-validate (strict, schemas shipped in the
#     package) and checked against the pipeline's policy (security context,
#     probes, resources, ingest replicas <= partitions, scrape annotations);
#   - deploy/prometheus: config and alert rules parse, every rule has a
#     non-empty `expr` that parses as PromQL (promql-parser), `for` durations are
#     valid; `promtool check config/rules` as well when promtool is on PATH
#     (or PROMTOOL=/path/to/promtool);
#   - deploy/grafana: provisioning files, dashboard JSON, every panel query
#     parses as PromQL and uses the provisioned datasource;
#   - every metric name used by dashboards and alerts is one the binaries
#     export (shared/CONTRACT.md section 6, plus ingest_store_duration_seconds
#     and ingest_batch_size).
#
# Tools come from PyPI into a venv under
#   ${ORDERS_CACHE:-$HOME/.cache/order-pipeline}/venv-deploy
# which is reused while the pinned requirements below do not change.
# Exit status: 0 when everything passes, 1 on any failure, 2 on a usage or
# setup error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${ORDERS_CACHE:-${HOME:-/tmp}/.cache/order-pipeline}"
VENV="$CACHE_DIR/venv-deploy"
K8S_VERSION="${K8S_VERSION:-1.32.0}"

REQUIREMENTS="check-jsonschema==0.39.0
kubernetes-validate==1.37.0
yamllint==1.38.0
PyYAML==6.0.3
promql-parser==0.11.0"

METRIC_NAMES_FILE=""
usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --metric-names)
      [ $# -ge 2 ] || { echo "validate-deploy: --metric-names needs a FILE" >&2; exit 2; }
      METRIC_NAMES_FILE="$2"; shift 2 ;;
    --metric-names=*) METRIC_NAMES_FILE="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "validate-deploy: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -n "$METRIC_NAMES_FILE" ]; then
  case "$METRIC_NAMES_FILE" in /*) ;; *) METRIC_NAMES_FILE="$PWD/$METRIC_NAMES_FILE" ;; esac
fi

log() { printf '==> %s\n' "$*" >&2; }

# ------------------------------------------------------------------ venv ---
setup_venv() {
  local stamp="$VENV/.requirements" want
  want="$(printf '%s\n' "$REQUIREMENTS")"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
     && "$VENV/bin/python" -c 'import yaml, jsonschema, kubernetes_validate, promql_parser, yamllint, check_jsonschema' 2>/dev/null; then
    log "reusing venv $VENV"
    return
  fi
  # One creator at a time (parallel CI jobs on one machine share the cache).
  mkdir -p "$CACHE_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE_DIR/.venv-deploy.lock"
    flock 9
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
      log "reusing venv $VENV (made by a parallel run)"
      return
    fi
  fi
  log "creating venv $VENV"
  local py
  py="$(command -v python3 || true)"
  [ -n "$py" ] || { echo "validate-deploy: python3 not found" >&2; exit 2; }
  mkdir -p "$CACHE_DIR"
  rm -rf "$VENV"
  if ! "$py" -m venv "$VENV"; then
    echo "validate-deploy: '$py -m venv' failed (on Debian: apt-get install python3-venv)" >&2
    exit 2
  fi
  local req="$VENV/requirements.txt"
  printf '%s\n' "$want" > "$req"
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"; then
    echo "validate-deploy: installing the validation tools from PyPI failed" >&2
    rm -rf "$VENV"
    exit 2
  fi
  printf '%s\n' "$want" > "$stamp"
}
setup_venv

PROMTOOL="${PROMTOOL:-$(command -v promtool || true)}"
KUBECTL="${KUBECTL:-$(command -v kubectl || true)}"
# KUBECTL=none forces the built-in renderer (what a machine without kubectl does).
[ "$KUBECTL" != none ] || KUBECTL=""
[ "$PROMTOOL" != none ] || PROMTOOL=""

export ROOT METRIC_NAMES_FILE K8S_VERSION PROMTOOL KUBECTL
export PATH="$VENV/bin:$PATH"
exec "$VENV/bin/python" - <<'PYEOF'
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml
import promql_parser
import kubernetes_validate

ROOT = os.environ["ROOT"]
K8S_VERSION = os.environ["K8S_VERSION"]
PROMTOOL = os.environ.get("PROMTOOL") or ""
KUBECTL = os.environ.get("KUBECTL") or ""
METRIC_NAMES_FILE = os.environ.get("METRIC_NAMES_FILE") or ""

failures = []
notes = []


def _crash(etype, value, tb):
    import traceback
    traceback.print_exception(etype, value, tb)
    print(f"\nvalidate-deploy: FAILED (the checker stopped on malformed input: {etype.__name__}: {value})",
          file=sys.stderr)
    for f in failures:
        print(f"  - {f}", file=sys.stderr)
    sys.exit(1)


sys.excepthook = _crash


def rel(p):
    return os.path.relpath(p, ROOT)


def fail(where, msg):
    failures.append(f"{where}: {msg}")


def section(title):
    print(f"==> {title}", file=sys.stderr, flush=True)


def load_yaml_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# Names fixed by the contract (shared/CONTRACT.md sections 3 and 6).
CONTRACT_ENV = [
    "KAFKA_BROKERS", "ORDERS_TOPIC", "RETRY_TOPIC", "DLQ_TOPIC", "KAFKA_GROUP",
    "DATABASE_URL", "REDIS_URL", "HTTP_ADDR", "METRICS_ADDR", "RUST_LOG", "LOG_FORMAT",
]
EXTRA_ENV = [
    "ORDER_CACHE_TTL_SECS", "OTEL_EXPORTER_OTLP_ENDPOINT",
    "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB",
    "GF_SECURITY_ADMIN_PASSWORD", "PGADMIN_DEFAULT_EMAIL", "PGADMIN_DEFAULT_PASSWORD",
]
COUNTERS_GAUGES = {
    "ingest_records_total", "ingest_dead_letters_total", "ingest_consumer_lag",
    "http_requests_total", "order_cache_requests_total",
    # ingest's stall metrics (not in the contract; alerts.yml group order-pipeline.ingest-stalls)
    "ingest_stalled", "ingest_stalled_since_seconds", "ingest_produce_errors_total",
    "ingest_retry_backlog_records", "ingest_partition_committed_offset",
    "ingest_partition_log_start_offset", "ingest_partition_high_watermark",
}
HISTOGRAMS = {
    "ingest_batch_duration_seconds", "http_request_duration_seconds",
    # not in the contract, exported by ingest as well
    "ingest_store_duration_seconds", "ingest_batch_size",
}
ALLOWED_METRICS = set(COUNTERS_GAUGES)
for h in HISTOGRAMS:
    ALLOWED_METRICS.update({h + "_bucket", h + "_sum", h + "_count"})
PROMETHEUS_SYNTHETIC = re.compile(r"^(up|scrape_.*|ALERTS|ALERTS_FOR_STATE)$")
INPUT_PARTITIONS = 6

# ------------------------------------------------------------- yamllint ---
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

yaml_files = sorted(
    [os.path.join(ROOT, "docker-compose.yml")]
    + glob.glob(os.path.join(ROOT, "deploy", "**", "*.y*ml"), recursive=True)
    + glob.glob(os.path.join(ROOT, "k8s", "**", "*.y*ml"), recursive=True)
)
section(f"YAML: parse + yamllint ({len(yaml_files)} files)")
for p in yaml_files:
    if not os.path.isfile(p):
        fail(rel(p), "missing")
        continue
    try:
        load_yaml_all(p)
    except yaml.YAMLError as e:
        fail(rel(p), f"YAML does not parse: {e}")
existing_yaml = [p for p in yaml_files if os.path.isfile(p)]
r = subprocess.run(
    ["yamllint", "-f", "parsable", "-d", YAMLLINT_CONFIG] + existing_yaml,
    capture_output=True, text=True,
)
for line in r.stdout.splitlines():
    if "[error]" in line:
        fail("yamllint", os.path.relpath(line, ROOT) if line.startswith(ROOT) else line)
    elif line.strip():
        print(f"    yamllint warning: {line.replace(ROOT + '/', '')}", file=sys.stderr)
if r.returncode not in (0, 1, 2):
    fail("yamllint", f"exited {r.returncode}: {r.stderr.strip()}")

# ---------------------------------------------------------- .env.template ---
section(".env.template")
env_template = {}
env_path = os.path.join(ROOT, ".env.template")
if not os.path.isfile(env_path):
    fail(".env.template", "missing")
else:
    prev = ""
    with open(env_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.rstrip("\n")
            if not s.strip() or s.lstrip().startswith("#"):
                prev = s
                continue
            m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", s)
            if not m:
                fail(f".env.template:{n}", f"not KEY=value: {s!r}")
                continue
            k, v = m.groups()
            if k in env_template:
                fail(f".env.template:{n}", f"{k} defined twice")
            if not prev.lstrip().startswith("#"):
                fail(f".env.template:{n}", f"{k} has no comment line above it")
            env_template[k] = v
            prev = s
    for k in CONTRACT_ENV + EXTRA_ENV:
        if k not in env_template:
            fail(".env.template", f"missing {k}")
    defaults = {
        "KAFKA_BROKERS": "localhost:9092", "ORDERS_TOPIC": "orders", "RETRY_TOPIC": "orders.retry",
        "DLQ_TOPIC": "orders.dlq", "KAFKA_GROUP": "orders-ingest",
        "DATABASE_URL": "postgres://orders:orders@localhost:5432/orders",
        "REDIS_URL": "redis://127.0.0.1:6379", "HTTP_ADDR": "0.0.0.0:8080",
        "METRICS_ADDR": "0.0.0.0:9100", "RUST_LOG": "info", "LOG_FORMAT": "text",
        "ORDER_CACHE_TTL_SECS": "86400", "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    }
    for k, v in defaults.items():
        if k in env_template and env_template[k] != v:
            fail(".env.template", f"{k}={env_template[k]!r}, the contract default is {v!r}")

# ---------------------------------------------------------- Dockerfile ---
section("Dockerfile + .dockerignore")
df_path = os.path.join(ROOT, "Dockerfile")
if not os.path.isfile(df_path):
    fail("Dockerfile", "missing")
else:
    df = open(df_path, encoding="utf-8").read()
    # resolve ARG defaults used in FROM lines
    args = dict(re.findall(r"^ARG\s+([A-Za-z_]+)=(\S+)", df, re.M))
    froms = [re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), x)
             for x in re.findall(r"^FROM\s+(.+)$", df, re.M)]
    if not any(x.startswith("rust:1-bookworm") and " AS builder" in x.replace(" as ", " AS ") for x in froms):
        fail("Dockerfile", f"no `rust:1-bookworm AS builder` stage (FROM lines: {froms})")
    if not froms or not froms[-1].startswith("debian:bookworm-slim"):
        fail("Dockerfile", f"the last (runtime) stage is not debian:bookworm-slim (FROM lines: {froms})")
    for needle, what in [
        ("--mount=type=cache", "cargo cache mounts"),
        ("cmake", "cmake for librdkafka"),
        ("libssl-dev", "libssl-dev"),
        ("zlib1g-dev", "zlib headers"),
        ("ca-certificates", "ca-certificates in the runtime"),
        ("10001", "uid 10001"),
        ("/usr/local/bin/", "binaries in /usr/local/bin"),
        ("/app/migrations", "migrations in /app/migrations"),
    ]:
        if needle not in df:
            fail("Dockerfile", f"missing {what} ({needle!r})")
    for b in ("ingest", "query-api", "producer-sim"):
        if not re.search(rf"\b{re.escape(b)}\b", df):
            fail("Dockerfile", f"binary {b} not mentioned")
    runtime = df[df.rfind("\nFROM "):]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    if not users or not users[-1].split(":")[0] == "10001":
        fail("Dockerfile", "the runtime stage must end with USER 10001")
    if not re.search(r"^WORKDIR\s+/app\s*$", runtime, re.M):
        fail("Dockerfile", "runtime WORKDIR is not /app")
    if not os.path.isdir(os.path.join(ROOT, "migrations")):
        notes.append("migrations/ does not exist yet: the Dockerfile COPY needs it")
di_path = os.path.join(ROOT, ".dockerignore")
if not os.path.isfile(di_path):
    fail(".dockerignore", "missing")
else:
    entries = {l.strip().strip("/") for l in open(di_path, encoding="utf-8") if l.strip() and not l.startswith("#")}
    for e in ("target", ".stack", ".git", ".env"):
        if e not in entries:
            fail(".dockerignore", f"does not exclude {e}")
    for e in ("migrations", "Cargo.toml", "Cargo.lock"):
        if e in entries:
            fail(".dockerignore", f"excludes {e}, which the build needs")

# --------------------------------------------------------------- compose ---
section("docker-compose.yml: compose-spec schema + project rules")
compose_path = os.path.join(ROOT, "docker-compose.yml")
compose = None
if os.path.isfile(compose_path):
    r = subprocess.run(
        ["check-jsonschema", "--builtin-schema", "vendor.compose-spec", compose_path],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        fail("docker-compose.yml", "compose-spec schema:\n" + (r.stdout + r.stderr).strip())
    try:
        compose = yaml.safe_load(open(compose_path, encoding="utf-8"))
    except yaml.YAMLError:
        compose = None
else:
    fail("docker-compose.yml", "missing")

if isinstance(compose, dict):
    where = "docker-compose.yml"
    if "version" in compose:
        fail(where, "has a `version:` key (obsolete in the compose spec)")
    services = compose.get("services") or {}
    expected = ["kafka", "kafka-init", "kafka-ui", "postgres", "pgadmin", "redis", "migrate",
                "ingest", "query-api", "producer-sim", "prometheus", "grafana"]
    for s in expected:
        if s not in services:
            fail(where, f"service {s} missing")
    app_services = [n for n, s in services.items() if (s or {}).get("image") == "order-pipeline:local"]
    builders = [n for n, s in services.items() if (s or {}).get("build") is not None]
    if builders != ["migrate"] and len(builders) != 1:
        fail(where, f"the app image must be built by exactly one service, found {builders}")
    for n in builders:
        if services[n].get("image") != "order-pipeline:local":
            fail(where, f"{n}: build without image order-pipeline:local")
    for n in ("migrate", "ingest", "query-api", "producer-sim"):
        if n in services and n not in app_services:
            fail(where, f"{n} does not use image order-pipeline:local")
    want_cmd = {
        "migrate": ["ingest", "migrate", "up"], "ingest": ["ingest", "run"],
        "query-api": ["query-api"], "producer-sim": ["producer-sim", "--rate", "5"],
    }
    for n, cmd in want_cmd.items():
        c = (services.get(n) or {}).get("command")
        if isinstance(c, str):
            c = c.split()
        if n in services and c != cmd:
            fail(where, f"{n}: command {c}, expected {cmd}")
    in_net = {
        "KAFKA_BROKERS": "kafka:29092",
        "DATABASE_URL": "postgres://${POSTGRES_USER:-orders}:${POSTGRES_PASSWORD:-orders}@postgres:5432/${POSTGRES_DB:-orders}",
        "REDIS_URL": "redis://redis:6379",
    }
    for n in app_services:
        env = services[n].get("environment") or {}
        if isinstance(env, list):
            env = dict(x.split("=", 1) for x in env)
        for k, v in in_net.items():
            if str(env.get(k)) not in (v, v.replace("${POSTGRES_USER:-orders}", "orders")
                                       .replace("${POSTGRES_PASSWORD:-orders}", "orders")
                                       .replace("${POSTGRES_DB:-orders}", "orders")):
                fail(where, f"{n}: environment {k}={env.get(k)!r}, expected {v!r}")
        ef = services[n].get("env_file")
        ef_paths = []
        for e in (ef if isinstance(ef, list) else [ef] if ef else []):
            ef_paths.append(e if isinstance(e, str) else e.get("path"))
        if ".env" not in ef_paths:
            fail(where, f"{n}: env_file .env missing")
    ing = services.get("ingest") or {}
    ing_env = ing.get("environment") or {}
    if ing_env.get("METRICS_ADDR") != "0.0.0.0:9100":
        fail(where, "ingest: METRICS_ADDR must be 0.0.0.0:9100")
    conds = {
        ("migrate", "postgres"): "service_healthy",
        ("ingest", "migrate"): "service_completed_successfully",
        ("ingest", "kafka-init"): "service_completed_successfully",
        ("ingest", "redis"): "service_healthy",
        ("query-api", "migrate"): "service_completed_successfully",
        ("producer-sim", "kafka-init"): "service_completed_successfully",
        ("kafka-init", "kafka"): "service_healthy",
    }
    for n, s in services.items():
        deps = (s or {}).get("depends_on") or {}
        dep_names = deps if isinstance(deps, list) else list(deps)
        for d in dep_names:
            if d not in services:
                fail(where, f"{n}: depends_on unknown service {d}")
            elif isinstance(deps, dict) and (deps[d] or {}).get("condition") == "service_healthy" \
                    and "healthcheck" not in services[d]:
                fail(where, f"{n}: waits for {d} to be healthy, but {d} has no healthcheck")
    for (n, d), c in conds.items():
        deps = (services.get(n) or {}).get("depends_on") or {}
        got = deps.get(d, {}).get("condition") if isinstance(deps, dict) else None
        if got != c:
            fail(where, f"{n}: depends_on {d} should have condition {c}, has {got}")
    for n in ("kafka", "postgres", "redis"):
        if n in services and "healthcheck" not in services[n]:
            fail(where, f"{n}: no healthcheck")
    kafka_hc = json.dumps((services.get("kafka") or {}).get("healthcheck"))
    if "kafka-broker-api-versions.sh" not in kafka_hc:
        fail(where, "kafka: healthcheck must use kafka-broker-api-versions.sh")
    redis_cmd = " ".join(map(str, (services.get("redis") or {}).get("command") or []))
    if "--maxmemory 256mb" not in redis_cmd or "--maxmemory-policy allkeys-lru" not in redis_cmd:
        fail(where, "redis: command must set --maxmemory 256mb --maxmemory-policy allkeys-lru")
    init_cmd = json.dumps((services.get("kafka-init") or {}).get("command"))
    if "--partitions 6" not in init_cmd:
        fail(where, "kafka-init: topics must be created with 6 partitions")
    if (services.get("migrate") or {}).get("restart") != "no":
        fail(where, 'migrate: restart must be "no"')
    ports = {}
    for n, s in services.items():
        for p in (s or {}).get("ports") or []:
            host = str(p).split(":")[0] if ":" in str(p) else str(p)
            if host in ports:
                fail(where, f"host port {host} used by {ports[host]} and {n}")
            ports[host] = n
    for port, n in (("8088", "kafka-ui"), ("5050", "pgadmin"), ("8080", "query-api"),
                    ("9090", "prometheus"), ("3000", "grafana"), ("9092", "kafka")):
        if ports.get(port) != n:
            fail(where, f"host port {port} should belong to {n}, not {ports.get(port)}")
    # bind mounts must exist in the repo
    for n, s in services.items():
        for v in (s or {}).get("volumes") or []:
            src = v.split(":")[0] if isinstance(v, str) else (v.get("source") if v.get("type") == "bind" else None)
            if src and (src.startswith(".") or src.startswith("/")):
                if not os.path.exists(os.path.join(ROOT, src)):
                    fail(where, f"{n}: bind-mount source {src} does not exist")
    # every ${VAR} without a default must be defined in .env.template
    text = open(compose_path, encoding="utf-8").read()
    for m in re.finditer(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+][^}]*)?\}", text):
        var, mod = m.group(1), m.group(2)
        if not mod and var not in env_template:
            fail(where, f"${{{var}}} has no default and is not in .env.template")
    for m in re.finditer(r"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)", text):
        fail(where, f"bare ${m.group(1)}: write ${{{m.group(1)}}} (compose) or $${m.group(1)} (container shell)")

# ------------------------------------------------------------ Kubernetes ---
section(f"k8s: render kustomizations ({'kubectl kustomize' if KUBECTL else 'built-in renderer, kubectl not found'}) + kubernetes-validate {K8S_VERSION}")


def deep_merge(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = deep_merge(base.get(k), v) if k in base else v
        return out
    return patch


def parse_env_file(path):
    data = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        data[k.strip()] = v
    return data


def builtin_render(kdir, seen=None):
    """Minimal kustomize: resources (files and directories), namespace,
    images, patches (merge patches, target by kind/name), secretGenerator and
    configMapGenerator (envs/literals). No name hashes, no other transformers."""
    import base64
    seen = seen or set()
    kfile = next((os.path.join(kdir, n) for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
                  if os.path.isfile(os.path.join(kdir, n))), None)
    if kfile is None:
        raise RuntimeError(f"{rel(kdir)}: no kustomization.yaml")
    if kfile in seen:
        raise RuntimeError(f"{rel(kfile)}: cycle")
    seen.add(kfile)
    k = yaml.safe_load(open(kfile, encoding="utf-8")) or {}
    objs = []
    for res in k.get("resources") or []:
        p = os.path.normpath(os.path.join(kdir, res))
        if os.path.isdir(p):
            objs += builtin_render(p, seen)
        elif os.path.isfile(p):
            objs += load_yaml_all(p)
        else:
            raise RuntimeError(f"{rel(kfile)}: resource {res} not found")
    for gen_key, kind in (("secretGenerator", "Secret"), ("configMapGenerator", "ConfigMap")):
        for g in k.get(gen_key) or []:
            data = {}
            for e in g.get("envs") or []:
                data.update(parse_env_file(os.path.join(kdir, e)))
            for lit in g.get("literals") or []:
                kk, _, vv = lit.partition("=")
                data[kk] = vv
            obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": g["name"]}}
            if kind == "Secret":
                obj["type"] = g.get("type", "Opaque")
                obj["data"] = {kk: base64.b64encode(vv.encode()).decode() for kk, vv in data.items()}
            else:
                obj["data"] = data
            objs.append(obj)
    for p in k.get("patches") or []:
        patch_docs = load_yaml_all(os.path.join(kdir, p["path"])) if "path" in p else [yaml.safe_load(p["patch"])]
        tgt = p.get("target") or {}
        for pd in patch_docs:
            if isinstance(pd, list):
                raise RuntimeError(f"{rel(kfile)}: JSON6902 patches are not supported by the built-in renderer")
            kind = tgt.get("kind") or pd.get("kind")
            name = tgt.get("name") or (pd.get("metadata") or {}).get("name")
            hit = False
            for i, o in enumerate(objs):
                if o.get("kind") == kind and o["metadata"].get("name") == name:
                    objs[i] = deep_merge(o, {kk: vv for kk, vv in pd.items() if kk not in ("apiVersion", "kind")})
                    hit = True
            if not hit:
                raise RuntimeError(f"{rel(kfile)}: patch {p} matches no resource")
    ns = k.get("namespace")
    if ns:
        for o in objs:
            if o.get("kind") != "Namespace":
                o.setdefault("metadata", {})["namespace"] = ns
    images = {i["name"]: i for i in k.get("images") or []}

    def fix_containers(spec):
        for c in (spec or {}).get("containers", []) + (spec or {}).get("initContainers", []):
            img = c.get("image", "")
            name, _, tag = img.partition(":")
            if name in images:
                i = images[name]
                c["image"] = i.get("newName", name) + ":" + str(i.get("newTag", tag or "latest"))

    for o in objs:
        spec = o.get("spec") or {}
        if "template" in spec:
            fix_containers(spec["template"].get("spec"))
        if o.get("kind") == "CronJob":
            fix_containers(spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec"))
    return objs


def render(kdir):
    if KUBECTL:
        r = subprocess.run([KUBECTL, "kustomize", kdir], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"kubectl kustomize {rel(kdir)}: {r.stderr.strip()}")
        return [d for d in yaml.safe_load_all(r.stdout) if d is not None]
    return builtin_render(kdir)


def check_kustomization_files(kdir):
    kfile = os.path.join(kdir, "kustomization.yaml")
    k = yaml.safe_load(open(kfile, encoding="utf-8")) or {}
    listed = set()
    for res in k.get("resources") or []:
        p = os.path.normpath(os.path.join(kdir, res))
        listed.add(p)
        if not os.path.exists(p):
            fail(rel(kfile), f"resource {res} does not exist")
    for p in k.get("patches") or []:
        if "path" in p and not os.path.isfile(os.path.join(kdir, p["path"])):
            fail(rel(kfile), f"patch {p['path']} does not exist")
    for g in (k.get("secretGenerator") or []) + (k.get("configMapGenerator") or []):
        for e in (g.get("envs") or []) + (g.get("files") or []):
            if not os.path.isfile(os.path.join(kdir, e.split("=")[-1])):
                fail(rel(kfile), f"generator file {e} does not exist")
    return k, listed


def validate_k8s_object(o, where):
    try:
        kubernetes_validate.validate(o, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        path = "/".join(str(x) for x in e.path)
        fail(where, f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}: {e.message} (at {path or '.'})")
    except kubernetes_validate.SchemaNotFoundError as e:
        fail(where, f"{o.get('kind')}: no schema for {o.get('apiVersion')} in Kubernetes {K8S_VERSION}: {e}")
    except Exception as e:  # noqa: BLE001
        fail(where, f"{o.get('kind')}: validation error {type(e).__name__}: {e}")


def pod_spec(o):
    spec = o.get("spec") or {}
    if o.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return (spec.get("template") or {}).get("spec") or {}
    return None


def policy(objs, where):
    by = {(o.get("kind"), o["metadata"]["name"]): o for o in objs}

    def need(cond, msg):
        if not cond:
            fail(where, msg)

    for o in objs:
        need(o["kind"] == "Namespace" or o["metadata"].get("namespace") == "orders",
             f"{o['kind']}/{o['metadata']['name']} not in namespace orders")
        ps = pod_spec(o)
        if ps is None:
            continue
        name = f"{o['kind']}/{o['metadata']['name']}"
        psc = ps.get("securityContext") or {}
        need(psc.get("runAsNonRoot") is True, f"{name}: pod runAsNonRoot must be true")
        need(psc.get("runAsUser") == 10001, f"{name}: pod runAsUser must be 10001")
        need((psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", f"{name}: seccompProfile RuntimeDefault")
        for c in ps.get("containers") or []:
            cn = f"{name} container {c.get('name')}"
            sc = c.get("securityContext") or {}
            need(sc.get("readOnlyRootFilesystem") is True, f"{cn}: readOnlyRootFilesystem must be true")
            need(sc.get("allowPrivilegeEscalation") is False, f"{cn}: allowPrivilegeEscalation must be false")
            need("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), f"{cn}: capabilities must drop ALL")
            res = c.get("resources") or {}
            need(res.get("requests") and res.get("limits"), f"{cn}: resource requests and limits required")
            refs = [e.get("configMapRef", {}).get("name") or e.get("secretRef", {}).get("name") for e in c.get("envFrom") or []]
            need(any(r == "order-pipeline-config" for r in refs), f"{cn}: envFrom configMap order-pipeline-config missing")
            need(any(r and r.startswith("order-pipeline-secrets") for r in refs), f"{cn}: envFrom secret order-pipeline-secrets missing")
            for r in refs:
                if r and r.startswith("order-pipeline-secrets"):
                    if ("Secret", r) not in by and where.startswith("k8s/overlays"):
                        fail(where, f"{cn}: Secret {r} is not rendered by the overlay")
                if r == "order-pipeline-config" and ("ConfigMap", r) not in by:
                    fail(where, f"{cn}: ConfigMap {r} is not rendered")

    def container(kind, n):
        o = by.get((kind, n))
        if not o:
            fail(where, f"{kind}/{n} missing")
            return None, None
        cs = pod_spec(o).get("containers") or []
        return o, (cs[0] if cs else {})

    expected_res = {
        "query-api": ({"cpu": "50m", "memory": "64Mi"}, {"cpu": "1", "memory": "128Mi"}, 8080, ["query-api"]),
        "ingest": ({"cpu": "100m", "memory": "128Mi"}, {"cpu": "1", "memory": "256Mi"}, 9100, ["ingest", "run"]),
    }
    for n, (req, lim, port, cmd) in expected_res.items():
        o, c = container("Deployment", n)
        if not o:
            continue
        need(c.get("command") == cmd, f"Deployment/{n}: command {c.get('command')}, expected {cmd}")
        r = c.get("resources") or {}
        need({k: str(v) for k, v in (r.get("requests") or {}).items()} == req, f"Deployment/{n}: requests {r.get('requests')}, expected {req}")
        need({k: str(v) for k, v in (r.get("limits") or {}).items()} == lim, f"Deployment/{n}: limits {r.get('limits')}, expected {lim}")
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            g = (c.get(probe) or {}).get("httpGet") or {}
            pp = g.get("port")
            pp = ports.get(pp, pp)
            need(g.get("path") == path and pp == port, f"Deployment/{n}: {probe} must GET {path} on {port}, has {g}")
        ann = ((o["spec"]["template"].get("metadata") or {}).get("annotations")) or {}
        need(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(port)
             and ann.get("prometheus.io/path") == "/metrics", f"Deployment/{n}: prometheus.io annotations")
    o = by.get(("Deployment", "ingest"))
    if o:
        need(1 <= o["spec"].get("replicas", 1) <= INPUT_PARTITIONS,
             f"Deployment/ingest: replicas {o['spec'].get('replicas')} must be <= {INPUT_PARTITIONS} partitions")
    hpa = by.get(("HorizontalPodAutoscaler", "query-api"))
    if not hpa:
        fail(where, "HorizontalPodAutoscaler/query-api missing")
    else:
        s = hpa["spec"]
        need(s.get("scaleTargetRef", {}).get("name") == "query-api", "HPA query-api: wrong scaleTargetRef")
        need(s.get("maxReplicas") == 10 and s.get("minReplicas", 1) >= 2, "HPA query-api: min >= 2, max 10")
        cpu = [m for m in s.get("metrics") or [] if (m.get("resource") or {}).get("name") == "cpu"]
        need(cpu and cpu[0]["resource"]["target"].get("averageUtilization") == 70, "HPA query-api: CPU 70%")
        d = by.get(("Deployment", "query-api"))
        if d:
            need(d["spec"].get("replicas", 1) >= s.get("minReplicas", 1),
                 "Deployment/query-api: replicas below the HPA minimum")
    pdb = by.get(("PodDisruptionBudget", "query-api"))
    need(pdb and pdb["spec"].get("minAvailable") == 1, "PodDisruptionBudget/query-api minAvailable 1 missing")
    svc = by.get(("Service", "query-api"))
    if not svc:
        fail(where, "Service/query-api missing")
    else:
        p = (svc["spec"].get("ports") or [{}])[0]
        need(p.get("port") == 80 and p.get("targetPort") in (8080, "http"), "Service/query-api must map 80 -> 8080")
    svcs = [x for x in objs if x["kind"] == "Service" and any(pp.get("port") == 9100 for pp in x["spec"].get("ports") or [])]
    need(svcs, "no Service exposing ingest metrics port 9100")
    job, c = container("Job", "migrate")
    if job:
        need(c.get("command") == ["ingest", "migrate", "up"], "Job/migrate: command must be ingest migrate up")
    # Services select existing pods
    for x in objs:
        if x["kind"] != "Service":
            continue
        sel = x["spec"].get("selector") or {}
        ok = any(
            pod_spec(w) is not None and all(((w["spec"]["template"].get("metadata") or {}).get("labels") or {}).get(k) == v
                                            for k, v in sel.items())
            for w in objs
        )
        need(ok, f"Service/{x['metadata']['name']}: selector {sel} matches no pod template")


k8s_root = os.path.join(ROOT, "k8s")
kdirs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(k8s_root, "**", "kustomization.yaml"), recursive=True)})
if os.path.join(k8s_root, "base") not in kdirs:
    fail("k8s/base", "kustomization.yaml missing")
if not any(d.startswith(os.path.join(k8s_root, "overlays") + os.sep) for d in kdirs):
    fail("k8s/overlays", "no overlay")
for kdir in kdirs:
    where = rel(kdir)
    _, listed = check_kustomization_files(kdir)
    if where == "k8s/base":
        ex = os.path.join(kdir, "secret.example.yaml")
        if not os.path.isfile(ex):
            fail(where, "secret.example.yaml missing")
        elif ex in listed:
            fail(where, "secret.example.yaml must not be listed in resources")
        else:
            for o in load_yaml_all(ex):
                validate_k8s_object(o, rel(ex))
    try:
        objs = render(kdir)
    except Exception as e:  # noqa: BLE001
        fail(where, f"render failed: {e}")
        continue
    kinds = sorted(f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}" for o in objs)
    print(f"    {where}: {len(objs)} objects: {', '.join(kinds)}", file=sys.stderr)
    for o in objs:
        validate_k8s_object(o, where)
    try:
        policy(objs, where)
    except Exception as e:  # noqa: BLE001 - malformed objects were reported above
        fail(where, f"policy checks stopped on malformed input: {type(e).__name__}: {e}")
    if where.startswith("k8s/overlays"):
        if not any(o["kind"] == "Secret" and o["metadata"]["name"].startswith("order-pipeline-secrets") for o in objs):
            fail(where, "overlay does not generate the Secret order-pipeline-secrets")
        # configmap keys must be known env vars
    for o in objs:
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "order-pipeline-config":
            for key in o.get("data") or {}:
                if env_template and key not in env_template:
                    fail(where, f"ConfigMap key {key} is not a variable of .env.template")
            if "DATABASE_URL" in (o.get("data") or {}):
                fail(where, "DATABASE_URL belongs in the Secret, not the ConfigMap")

# ------------------------------------------------------------- PromQL ---
metric_names = set()


def promql_names(expr, where):
    """Parse a PromQL expression; return the metric names it selects."""
    e = re.sub(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}", "5m", expr)
    try:
        ast = promql_parser.parse(e)
    except Exception as ex:  # noqa: BLE001
        fail(where, f"PromQL does not parse: {ex}: {expr!r}")
        return set()
    names = set()
    unnamed = []

    def visit(n):
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
        fail(where, f"selector without a fixed metric name: {u}")
    for nm in names:
        if PROMETHEUS_SYNTHETIC.match(nm):
            continue
        if nm not in ALLOWED_METRICS:
            fail(where, f"metric {nm} is not exported by the binaries (contract section 6)")
        metric_names.add(nm)
    return names


DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")

section("Prometheus config + alert rules")
prom_dir = os.path.join(ROOT, "deploy", "prometheus")
prom_cfg_path = os.path.join(prom_dir, "prometheus.yml")
alerts_path = os.path.join(prom_dir, "alerts.yml")
if not os.path.isfile(prom_cfg_path):
    fail(rel(prom_cfg_path), "missing")
else:
    cfg = yaml.safe_load(open(prom_cfg_path, encoding="utf-8")) or {}
    for rf in cfg.get("rule_files") or []:
        local = os.path.join(prom_dir, os.path.basename(rf)) if rf.startswith("/etc/prometheus/") else os.path.join(prom_dir, rf)
        if not glob.glob(local):
            fail(rel(prom_cfg_path), f"rule file {rf} not found in deploy/prometheus")
    targets = {}
    for sc in cfg.get("scrape_configs") or []:
        for st in sc.get("static_configs") or []:
            for t in st.get("targets") or []:
                targets[t] = sc.get("metrics_path", "/metrics")
    for t in ("ingest:9100", "query-api:8080"):
        if targets.get(t) != "/metrics":
            fail(rel(prom_cfg_path), f"no scrape of {t}/metrics")
if not os.path.isfile(alerts_path):
    fail(rel(alerts_path), "missing")
else:
    rules_doc = yaml.safe_load(open(alerts_path, encoding="utf-8")) or {}
    alert_names = set()
    groups = rules_doc.get("groups")
    if not isinstance(groups, list) or not groups:
        fail(rel(alerts_path), "no rule groups")
    group_names = set()
    for g in groups or []:
        gname = g.get("name")
        if not gname or gname in group_names:
            fail(rel(alerts_path), f"group name missing or duplicated: {gname!r}")
        group_names.add(gname)
        for i, rule in enumerate(g.get("rules") or []):
            where = f"{rel(alerts_path)} group {gname} rule {rule.get('alert') or rule.get('record') or i}"
            if bool(rule.get("alert")) == bool(rule.get("record")):
                fail(where, "needs exactly one of alert/record")
            if rule.get("alert"):
                alert_names.add(rule["alert"])
            expr = rule.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                fail(where, "empty expr")
                continue
            promql_names(expr, where)
            if "for" in rule and not DURATION.match(str(rule["for"])):
                fail(where, f"bad `for` duration {rule['for']!r}")
            if rule.get("alert"):
                if not (rule.get("labels") or {}).get("severity"):
                    fail(where, "no severity label")
                if not (rule.get("annotations") or {}).get("summary"):
                    fail(where, "no summary annotation")
                for k, v in (rule.get("annotations") or {}).items():
                    if str(v).count("{{") != str(v).count("}}"):
                        fail(where, f"annotation {k}: unbalanced template braces")
    for a, metric in (("IngestConsumerLagGrowing", "ingest_consumer_lag"),
                      ("IngestDeadLettersHigh", "ingest_dead_letters_total"),
                      ("QueryApi5xxRatio", "http_requests_total"),
                      ("ServiceNotReady", "up")):
        if a not in alert_names:
            fail(rel(alerts_path), f"alert {a} missing")
        else:
            r = next(r for g in groups for r in g.get("rules") or [] if r.get("alert") == a)
            if metric not in r["expr"]:
                fail(rel(alerts_path), f"alert {a} does not use {metric}")
if PROMTOOL:
    r = subprocess.run([PROMTOOL, "check", "rules", alerts_path], capture_output=True, text=True)
    if r.returncode != 0:
        fail("promtool check rules", (r.stdout + r.stderr).strip())
    with tempfile.TemporaryDirectory() as td:
        cfg_text = open(prom_cfg_path, encoding="utf-8").read().replace("/etc/prometheus/", prom_dir + "/")
        tmp_cfg = os.path.join(td, "prometheus.yml")
        open(tmp_cfg, "w", encoding="utf-8").write(cfg_text)
        r = subprocess.run([PROMTOOL, "check", "config", tmp_cfg], capture_output=True, text=True)
        if r.returncode != 0:
            fail("promtool check config", (r.stdout + r.stderr).strip())
    print(f"    promtool check rules + config done ({PROMTOOL})", file=sys.stderr)
else:
    notes.append("promtool not on PATH: alert rules were checked with promql-parser only")

# ------------------------------------------------------------- Grafana ---
section("Grafana provisioning + dashboards")
gdir = os.path.join(ROOT, "deploy", "grafana")
ds_uids = set()
for p in sorted(glob.glob(os.path.join(gdir, "provisioning", "datasources", "*.y*ml"))):
    d = yaml.safe_load(open(p, encoding="utf-8")) or {}
    if d.get("apiVersion") != 1:
        fail(rel(p), "apiVersion must be 1")
    for ds in d.get("datasources") or []:
        if not ds.get("uid") or not ds.get("type") or not ds.get("url"):
            fail(rel(p), f"datasource needs uid, type and url: {ds}")
        ds_uids.add(ds.get("uid"))
if not ds_uids:
    fail("deploy/grafana/provisioning/datasources", "no datasource provisioned")
providers = glob.glob(os.path.join(gdir, "provisioning", "dashboards", "*.y*ml"))
if not providers:
    fail("deploy/grafana/provisioning/dashboards", "no dashboard provider")
for p in providers:
    d = yaml.safe_load(open(p, encoding="utf-8")) or {}
    if d.get("apiVersion") != 1 or not d.get("providers"):
        fail(rel(p), "needs apiVersion 1 and providers")
    for pr in d.get("providers") or []:
        if pr.get("type") != "file" or not (pr.get("options") or {}).get("path"):
            fail(rel(p), f"provider {pr.get('name')}: type file with options.path expected")
dash_files = sorted(glob.glob(os.path.join(gdir, "dashboards", "*.json")))
if not dash_files:
    fail("deploy/grafana/dashboards", "no dashboard JSON")
dash_uids = {}
dash_exprs = []
for p in dash_files:
    try:
        d = json.load(open(p, encoding="utf-8"))
    except json.JSONDecodeError as e:
        fail(rel(p), f"invalid JSON: {e}")
        continue
    for k in ("uid", "title", "panels", "schemaVersion"):
        if k not in d:
            fail(rel(p), f"missing {k}")
    if d.get("uid") in dash_uids:
        fail(rel(p), f"uid {d.get('uid')} also used by {dash_uids[d.get('uid')]}")
    dash_uids[d.get("uid")] = rel(p)
    panels = []

    def collect(ps):
        for pn in ps or []:
            panels.append(pn)
            collect(pn.get("panels"))

    collect(d.get("panels"))
    ids = [pn.get("id") for pn in panels]
    if len(ids) != len(set(ids)) or None in ids:
        fail(rel(p), "panel ids missing or not unique")
    for pn in panels:
        where = f"{rel(p)} panel {pn.get('id')} {pn.get('title')!r}"
        if "gridPos" not in pn:
            fail(where, "no gridPos")
        if pn.get("type") == "row":
            continue
        if not pn.get("targets"):
            fail(where, "no targets")
        for t in pn.get("targets") or []:
            ds = t.get("datasource") or pn.get("datasource") or {}
            uid = ds.get("uid") if isinstance(ds, dict) else ds
            if uid not in ds_uids:
                fail(where, f"datasource uid {uid!r} is not provisioned ({sorted(ds_uids)})")
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                fail(where, f"target {t.get('refId')}: empty expr")
                continue
            dash_exprs.append(expr)
            promql_names(expr, f"{where} target {t.get('refId')}")
    for v in (d.get("templating") or {}).get("list") or []:
        q = v.get("query")
        if v.get("type") == "query" and isinstance(q, dict) and q.get("query"):
            m = re.match(r"label_values\((.*),\s*\w+\)$", q["query"])
            if m:
                promql_names(m.group(1), f"{rel(p)} variable {v.get('name')}")
wanted_panels = {
    "ingest_records_total": "ingest throughput by outcome",
    "ingest_dead_letters_total": "DLQ rate by kind",
    "ingest_consumer_lag": "consumer lag",
    "ingest_batch_duration_seconds_bucket": "batch/store latency p99",
    "http_requests_total": "HTTP rate by route/status and 5xx ratio",
    "http_request_duration_seconds_bucket": "HTTP latency p50/p99",
    "order_cache_requests_total": "cache hit ratio",
}
all_dash = "\n".join(dash_exprs)
for m, what in wanted_panels.items():
    if not re.search(rf"\b{m}\b", all_dash):
        fail("deploy/grafana/dashboards", f"no panel for {what} ({m})")

# ------------------------------------------------------------- result ---
if METRIC_NAMES_FILE:
    os.makedirs(os.path.dirname(METRIC_NAMES_FILE) or ".", exist_ok=True)
    with open(METRIC_NAMES_FILE, "w", encoding="utf-8") as f:
        for n in sorted(metric_names):
            f.write(n + "\n")
    print(f"==> wrote {len(metric_names)} metric names to {METRIC_NAMES_FILE}", file=sys.stderr)

for n in notes:
    print(f"    note: {n}", file=sys.stderr)
if failures:
    print(f"\nvalidate-deploy: FAILED ({len(failures)} problems)", file=sys.stderr)
    for f in failures:
        print(f"  - {f}", file=sys.stderr)
    sys.exit(1)
print("validate-deploy: OK", file=sys.stderr)
PYEOF
