"""What the NetworkPolicy `query-api` lets in (contract section 8, docs/SECURITY.md): it selects the
query-api pods and restricts Ingress; the HTTP port is reachable only from the ingress
controller's namespace or from pods labelled as the API gateway; the admin port (/metrics) only
from Prometheus; no rule admits every source or every port."""

from __future__ import annotations

from collections.abc import Callable

NAME = "query-api"
HTTP_PORT, ADMIN_PORT = 8080, 9101
INGRESS_NAMESPACES = {"ingress-nginx"}
GATEWAY_LABEL = ("order-pipeline/api-gateway", "true")
PROMETHEUS = {"namespace": "monitoring", "app.kubernetes.io/name": "prometheus"}
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def _labels(selector: dict | None) -> dict | None:
    """A selector's matchLabels; None for a selector that is absent or uses matchExpressions
    (which this check does not interpret, so they are refused)."""
    if selector is None or selector.get("matchExpressions"):
        return None
    return {k: str(v) for k, v in (selector.get("matchLabels") or {}).items()}


def _is_gateway(peer: dict) -> bool:
    """The ingress controller's namespace (any pod in it), or a labelled gateway pod."""
    if set(peer) == {"namespaceSelector"}:
        ns = _labels(peer["namespaceSelector"]) or {}
        return ns.get(NAMESPACE_LABEL) in INGRESS_NAMESPACES and set(ns) == {NAMESPACE_LABEL}
    pods = _labels(peer.get("podSelector"))
    return pods is not None and pods.get(GATEWAY_LABEL[0]) == GATEWAY_LABEL[1]


def _is_prometheus(peer: dict) -> bool:
    """Prometheus pods in the monitoring namespace: both selectors, both pinned."""
    ns, pods = _labels(peer.get("namespaceSelector")), _labels(peer.get("podSelector"))
    return (ns is not None and pods is not None and "ipBlock" not in peer
            and ns.get(NAMESPACE_LABEL) == PROMETHEUS["namespace"]
            and pods.get("app.kubernetes.io/name") == PROMETHEUS["app.kubernetes.io/name"])


def network_policy(by: dict, pod_labels: dict, container_ports: dict,
                   fail: Callable[[str], None]) -> None:
    """`pod_labels`: the query-api pod template's labels; `container_ports`: its port names to
    numbers (to resolve named ports in the policy)."""
    np = by.get(("NetworkPolicy", NAME))
    if not np:
        fail(f"NetworkPolicy/{NAME} missing")
        return
    spec = np.get("spec") or {}
    where = f"NetworkPolicy/{NAME}"
    selected = _labels(spec.get("podSelector"))
    if not selected or any(pod_labels.get(k) != v for k, v in selected.items()):
        fail(f"{where}: podSelector {spec.get('podSelector')} does not select the query-api pods")
    if "Ingress" not in (spec.get("policyTypes") or ["Ingress"]):
        fail(f"{where}: policyTypes must include Ingress")
    admitted: dict[int, bool] = {HTTP_PORT: False, ADMIN_PORT: False}
    for i, rule in enumerate(spec.get("ingress") or []):
        peers, ports = rule.get("from") or [], rule.get("ports") or []
        if not peers or not ports:
            fail(f"{where}: ingress rule {i} must name both its sources and its ports "
                 "(an empty list admits everything)")
            continue
        for p in ports:
            port = container_ports.get(p.get("port"), p.get("port"))
            if port not in admitted or p.get("endPort"):
                fail(f"{where}: ingress rule {i} admits port {p.get('port')}: only {HTTP_PORT} and {ADMIN_PORT}")
                continue
            check = _is_gateway if port == HTTP_PORT else _is_prometheus
            who = "the ingress controller or the API gateway" if port == HTTP_PORT else "Prometheus"
            for peer in peers:
                if not check(peer):
                    fail(f"{where}: ingress rule {i} admits {peer} to port {port}: only {who} may reach it")
            admitted[port] = True
    for port, ok in admitted.items():
        if not ok:
            fail(f"{where}: no rule admits anyone to port {port}")
