"""docker-compose.yml against the compose-spec JSON schema (vendored in check-jsonschema, so no
download) and the project's own rules: services present, the app image built once, in-network
addresses, depends_on conditions, bind-mount sources, ${VARS} defined."""

from __future__ import annotations

import json
import os
import re
import subprocess

import yaml

from .report import Report, load_yaml, read_text

WHERE = "docker-compose.yml"
APP_IMAGE = "order-pipeline:local"
SERVICES = ["kafka", "kafka-init", "kafka-ui", "postgres", "pgadmin", "redis", "migrate",
            "ingest", "query-api", "producer-sim", "prometheus", "grafana"]
COMMANDS = {
    "migrate": ["ingest", "migrate", "up"], "ingest": ["ingest", "run"],
    "query-api": ["query-api"], "producer-sim": ["producer-sim", "--rate", "5"],
}
IN_NETWORK = {
    "KAFKA_BROKERS": "kafka:29092",
    "DATABASE_URL": "postgres://${POSTGRES_USER:-orders}:${POSTGRES_PASSWORD:-orders}@postgres:5432/${POSTGRES_DB:-orders}",
    "REDIS_URL": "redis://redis:6379",
}
CONDITIONS = {
    ("migrate", "postgres"): "service_healthy",
    ("ingest", "migrate"): "service_completed_successfully",
    ("ingest", "kafka-init"): "service_completed_successfully",
    ("ingest", "redis"): "service_healthy",
    ("query-api", "migrate"): "service_completed_successfully",
    ("producer-sim", "kafka-init"): "service_completed_successfully",
    ("kafka-init", "kafka"): "service_healthy",
}
HOST_PORTS = (("8088", "kafka-ui"), ("5050", "pgadmin"), ("8080", "query-api"),
              ("9090", "prometheus"), ("3000", "grafana"), ("9092", "kafka"), ("9101", "query-api"))
# Host ports that serve without a credential what only this machine should see.
LOOPBACK_PORTS = {"9101": "query-api admin: /metrics"}


def check_compose(report: Report, env_template: dict[str, str]) -> None:
    report.section("docker-compose.yml: compose-spec schema + project rules")
    path = report.path(WHERE)
    if not os.path.isfile(path):
        report.fail(WHERE, "missing")
        return
    r = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        report.fail(WHERE, "compose-spec schema:\n" + (r.stdout + r.stderr).strip())
    try:
        compose = load_yaml(path)
    except yaml.YAMLError:
        return  # reported by the YAML check
    if not isinstance(compose, dict):
        return
    if "version" in compose:
        report.fail(WHERE, "has a `version:` key (obsolete in the compose spec)")
    services = compose.get("services") or {}
    fail = lambda msg: report.fail(WHERE, msg)  # noqa: E731
    for s in SERVICES:
        if s not in services:
            fail(f"service {s} missing")
    app_services = _app_image(services, fail)
    _app_environment(services, app_services, fail)
    _dependencies(services, fail)
    _service_rules(services, fail)
    _ports(services, fail)
    for n, s in services.items():
        for v in (s or {}).get("volumes") or []:
            src = v.split(":")[0] if isinstance(v, str) else (v.get("source") if v.get("type") == "bind" else None)
            if src and src.startswith((".", "/")) and not os.path.exists(report.path(src)):
                fail(f"{n}: bind-mount source {src} does not exist")
    _variables(read_text(path), env_template, fail)


def _app_image(services: dict, fail) -> list[str]:
    """The app image is built by exactly one service and used by every app service."""
    app_services = [n for n, s in services.items() if (s or {}).get("image") == APP_IMAGE]
    builders = [n for n, s in services.items() if (s or {}).get("build") is not None]
    if builders != ["migrate"] and len(builders) != 1:
        fail(f"the app image must be built by exactly one service, found {builders}")
    for n in builders:
        if services[n].get("image") != APP_IMAGE:
            fail(f"{n}: build without image {APP_IMAGE}")
    for n in ("migrate", "ingest", "query-api", "producer-sim"):
        if n in services and n not in app_services:
            fail(f"{n} does not use image {APP_IMAGE}")
    for n, cmd in COMMANDS.items():
        c = (services.get(n) or {}).get("command")
        if isinstance(c, str):
            c = c.split()
        if n in services and c != cmd:
            fail(f"{n}: command {c}, expected {cmd}")
    return app_services


def _app_environment(services: dict, app_services: list[str], fail) -> None:
    for n in app_services:
        env = services[n].get("environment") or {}
        if isinstance(env, list):
            env = dict(x.split("=", 1) for x in env)
        for k, v in IN_NETWORK.items():
            plain = (v.replace("${POSTGRES_USER:-orders}", "orders")
                     .replace("${POSTGRES_PASSWORD:-orders}", "orders")
                     .replace("${POSTGRES_DB:-orders}", "orders"))
            if str(env.get(k)) not in (v, plain):
                fail(f"{n}: environment {k}={env.get(k)!r}, expected {v!r}")
        ef = services[n].get("env_file")
        ef_paths = [e if isinstance(e, str) else e.get("path")
                    for e in (ef if isinstance(ef, list) else [ef] if ef else [])]
        if ".env" not in ef_paths:
            fail(f"{n}: env_file .env missing")
    ingest_env = (services.get("ingest") or {}).get("environment") or {}
    if ingest_env.get("METRICS_ADDR") != "0.0.0.0:9100":
        fail("ingest: METRICS_ADDR must be 0.0.0.0:9100")


def _dependencies(services: dict, fail) -> None:
    for n, s in services.items():
        deps = (s or {}).get("depends_on") or {}
        for d in (deps if isinstance(deps, list) else list(deps)):
            if d not in services:
                fail(f"{n}: depends_on unknown service {d}")
            elif isinstance(deps, dict) and (deps[d] or {}).get("condition") == "service_healthy" \
                    and "healthcheck" not in services[d]:
                fail(f"{n}: waits for {d} to be healthy, but {d} has no healthcheck")
    for (n, d), c in CONDITIONS.items():
        deps = (services.get(n) or {}).get("depends_on") or {}
        got = deps.get(d, {}).get("condition") if isinstance(deps, dict) else None
        if got != c:
            fail(f"{n}: depends_on {d} should have condition {c}, has {got}")


def _service_rules(services: dict, fail) -> None:
    for n in ("kafka", "postgres", "redis"):
        if n in services and "healthcheck" not in services[n]:
            fail(f"{n}: no healthcheck")
    if "kafka-broker-api-versions.sh" not in json.dumps((services.get("kafka") or {}).get("healthcheck")):
        fail("kafka: healthcheck must use kafka-broker-api-versions.sh")
    redis_cmd = " ".join(map(str, (services.get("redis") or {}).get("command") or []))
    if "--maxmemory 256mb" not in redis_cmd or "--maxmemory-policy allkeys-lru" not in redis_cmd:
        fail("redis: command must set --maxmemory 256mb --maxmemory-policy allkeys-lru")
    if "--partitions 6" not in json.dumps((services.get("kafka-init") or {}).get("command")):
        fail("kafka-init: topics must be created with 6 partitions")
    if (services.get("migrate") or {}).get("restart") != "no":
        fail('migrate: restart must be "no"')


def _ports(services: dict, fail) -> None:
    ports: dict[str, str] = {}
    for n, s in services.items():
        for p in (s or {}).get("ports") or []:
            # "HOST:CONTAINER" or "IP:HOST:CONTAINER" (short syntax only).
            parts = str(p).split(":")
            ip, host = (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0])
            if host in ports:
                fail(f"host port {host} used by {ports[host]} and {n}")
            ports[host] = n
            if host in LOOPBACK_PORTS and ip != "127.0.0.1":
                fail(f"{n}: host port {host} ({LOOPBACK_PORTS[host]}) must be published on 127.0.0.1 only, "
                     f'as "127.0.0.1:{host}:..."')
    for port, n in HOST_PORTS:
        if ports.get(port) != n:
            fail(f"host port {port} should belong to {n}, not {ports.get(port)}")


def _variables(text: str, env_template: dict[str, str], fail) -> None:
    """Every ${VAR} without a default is defined in .env.template; no bare $VAR."""
    for m in re.finditer(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+][^}]*)?\}", text):
        var, mod = m.group(1), m.group(2)
        if not mod and var not in env_template:
            fail(f"${{{var}}} has no default and is not in .env.template")
    for m in re.finditer(r"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)", text):
        fail(f"bare ${m.group(1)}: write ${{{m.group(1)}}} (compose) or $${m.group(1)} (container shell)")
