"""The pipeline's own rules for the rendered Kubernetes objects, beyond schema validity: security
context, probes, resources, envFrom, ingest replicas <= partitions, scrape annotations, the HPA,
PDB, Services and query-api's NetworkPolicy (k8s_netpol)."""

from __future__ import annotations

from collections.abc import Callable

from .contract import INPUT_PARTITIONS
from .k8s_netpol import network_policy

EXPECTED = {  # name: (requests, limits, port, command)
    # (requests, limits, probe port, metrics port, command); query-api's /metrics is on ADMIN_ADDR (contract §8).
    "query-api": ({"cpu": "50m", "memory": "64Mi"}, {"cpu": "1", "memory": "128Mi"}, 8080, 9101, ["query-api"]),
    "ingest": ({"cpu": "100m", "memory": "128Mi"}, {"cpu": "1", "memory": "256Mi"}, 9100, 9100, ["ingest", "run"]),
}


def pod_spec(o: dict) -> dict | None:
    spec = o.get("spec") or {}
    if o.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return (spec.get("template") or {}).get("spec") or {}
    return None


def policy(objs: list[dict], where: str, fail: Callable[[str], None]) -> None:
    by = {(o.get("kind"), o["metadata"]["name"]): o for o in objs}

    def need(cond, msg: str) -> None:
        if not cond:
            fail(msg)

    for o in objs:
        need(o["kind"] == "Namespace" or o["metadata"].get("namespace") == "orders",
             f"{o['kind']}/{o['metadata']['name']} not in namespace orders")
        ps = pod_spec(o)
        if ps is not None:
            _pod(by, where, f"{o['kind']}/{o['metadata']['name']}", ps, need, fail)
    _workloads(by, need, fail)
    _scaling_and_services(objs, by, need, fail)
    api = by.get(("Deployment", "query-api"))
    if api:
        template = api["spec"].get("template") or {}
        containers = (template.get("spec") or {}).get("containers") or [{}]
        ports = {p.get("name"): p.get("containerPort") for p in containers[0].get("ports") or []}
        network_policy(by, (template.get("metadata") or {}).get("labels") or {}, ports, fail)


def _pod(by: dict, where: str, name: str, ps: dict, need, fail) -> None:
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
        refs = [e.get("configMapRef", {}).get("name") or e.get("secretRef", {}).get("name")
                for e in c.get("envFrom") or []]
        need(any(r == "order-pipeline-config" for r in refs), f"{cn}: envFrom configMap order-pipeline-config missing")
        # Credentials come as files (contract section 9, *_FILE): the secret is a mounted volume.
        mounted = {m.get("name") for m in c.get("volumeMounts") or []}
        for v in ps.get("volumes") or []:
            if v.get("name") in mounted:
                refs.append((v.get("secret") or {}).get("secretName"))
                # A projected volume: the shared Secret and the component's own, in one folder.
                refs += [(src.get("secret") or {}).get("name")
                         for src in (v.get("projected") or {}).get("sources") or []]
        need(any(r and r.startswith("order-pipeline-secrets") for r in refs),
             f"{cn}: secret order-pipeline-secrets not mounted")
        for r in refs:
            if r and r.startswith("order-pipeline-secrets") and ("Secret", r) not in by \
                    and where.startswith("k8s/overlays"):
                fail(f"{cn}: Secret {r} is not rendered by the overlay")
            if r == "order-pipeline-config" and ("ConfigMap", r) not in by:
                fail(f"{cn}: ConfigMap {r} is not rendered")


def _workloads(by: dict, need, fail) -> None:
    def container(kind: str, n: str):
        o = by.get((kind, n))
        if not o:
            fail(f"{kind}/{n} missing")
            return None, None
        cs = pod_spec(o).get("containers") or []
        return o, (cs[0] if cs else {})

    for n, (req, lim, port, metrics_port, cmd) in EXPECTED.items():
        o, c = container("Deployment", n)
        if not o:
            continue
        need(c.get("command") == cmd, f"Deployment/{n}: command {c.get('command')}, expected {cmd}")
        r = c.get("resources") or {}
        need({k: str(v) for k, v in (r.get("requests") or {}).items()} == req,
             f"Deployment/{n}: requests {r.get('requests')}, expected {req}")
        need({k: str(v) for k, v in (r.get("limits") or {}).items()} == lim,
             f"Deployment/{n}: limits {r.get('limits')}, expected {lim}")
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            g = (c.get(probe) or {}).get("httpGet") or {}
            pp = ports.get(g.get("port"), g.get("port"))
            need(g.get("path") == path and pp == port, f"Deployment/{n}: {probe} must GET {path} on {port}, has {g}")
        ann = ((o["spec"]["template"].get("metadata") or {}).get("annotations")) or {}
        need(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(metrics_port)
             and ann.get("prometheus.io/path") == "/metrics", f"Deployment/{n}: prometheus.io annotations")
    o = by.get(("Deployment", "ingest"))
    if o:
        need(1 <= o["spec"].get("replicas", 1) <= INPUT_PARTITIONS,
             f"Deployment/ingest: replicas {o['spec'].get('replicas')} must be <= {INPUT_PARTITIONS} partitions")
    job, c = container("Job", "migrate")
    if job:
        need(c.get("command") == ["ingest", "migrate", "up"], "Job/migrate: command must be ingest migrate up")


def _scaling_and_services(objs: list[dict], by: dict, need, fail) -> None:
    hpa = by.get(("HorizontalPodAutoscaler", "query-api"))
    if not hpa:
        fail("HorizontalPodAutoscaler/query-api missing")
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
        fail("Service/query-api missing")
    else:
        p = (svc["spec"].get("ports") or [{}])[0]
        need(p.get("port") == 80 and p.get("targetPort") in (8080, "http"), "Service/query-api must map 80 -> 8080")
    metrics_ports = [pp for x in objs if x["kind"] == "Service" for pp in x["spec"].get("ports") or []
                     if pp.get("port") == 9100]
    need(metrics_ports, "no Service exposing ingest metrics port 9100")
    for x in objs:
        if x["kind"] != "Service":
            continue
        sel = x["spec"].get("selector") or {}
        ok = any(
            pod_spec(w) is not None
            and all(((w["spec"]["template"].get("metadata") or {}).get("labels") or {}).get(k) == v
                    for k, v in sel.items())
            for w in objs
        )
        need(ok, f"Service/{x['metadata']['name']}: selector {sel} matches no pod template")
