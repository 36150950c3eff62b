"""k8s/: every kustomization (base and overlays) rendered by the real kustomize binary, each
rendered object validated by kubernetes-validate (strict, schemas shipped in the package) and
held to the pipeline's policy (k8s_policy)."""

from __future__ import annotations

import glob
import os
import re
import subprocess

import kubernetes_validate
import yaml

from .k8s_policy import policy
from .report import Report, load_yaml, load_yaml_all


def render(kustomize: str, kdir: str) -> list[dict]:
    r = subprocess.run([kustomize, "build", kdir], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"kustomize build: {r.stderr.strip()}")
    return [d for d in yaml.safe_load_all(r.stdout) if d is not None]


def listed_files(report: Report, kdir: str) -> set[str]:
    """The resources a kustomization lists; names the missing ones (resources, patches, generator
    files) more plainly than kustomize's error does."""
    kfile = os.path.join(kdir, "kustomization.yaml")
    k = load_yaml(kfile) or {}
    listed = set()
    for res in k.get("resources") or []:
        p = os.path.normpath(os.path.join(kdir, res))
        listed.add(p)
        if not os.path.exists(p):
            report.fail(report.rel(kfile), f"resource {res} does not exist")
    for p in k.get("patches") or []:
        if "path" in p and not os.path.isfile(os.path.join(kdir, p["path"])):
            report.fail(report.rel(kfile), f"patch {p['path']} does not exist")
    for g in (k.get("secretGenerator") or []) + (k.get("configMapGenerator") or []):
        for e in (g.get("envs") or []) + (g.get("files") or []):
            if not os.path.isfile(os.path.join(kdir, e.split("=")[-1])):
                report.fail(report.rel(kfile), f"generator file {e} does not exist")
    return listed


def validate_object(report: Report, k8s_version: str, o: dict, where: str) -> None:
    name = f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}"
    try:
        kubernetes_validate.validate(o, k8s_version, strict=True)
    except kubernetes_validate.ValidationError as e:
        path = "/".join(str(x) for x in e.path)
        report.fail(where, f"{name}: {e.message} (at {path or '.'})")
    except kubernetes_validate.SchemaNotFoundError as e:
        report.fail(where, f"{o.get('kind')}: no schema for {o.get('apiVersion')} in Kubernetes {k8s_version}: {e}")
    except Exception as e:  # noqa: BLE001 - any validator crash is a finding, not a stop
        report.fail(where, f"{o.get('kind')}: validation error {type(e).__name__}: {e}")


def check_k8s(report: Report, kustomize: str, k8s_version: str, env_template: dict[str, str]) -> None:
    report.section(f"k8s: render kustomizations ({kustomize}) + kubernetes-validate {k8s_version}")
    root = report.path("k8s")
    kdirs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(root, "**", "kustomization.yaml"),
                                                          recursive=True)})
    if os.path.join(root, "base") not in kdirs:
        report.fail("k8s/base", "kustomization.yaml missing")
    if not any(d.startswith(os.path.join(root, "overlays") + os.sep) for d in kdirs):
        report.fail("k8s/overlays", "no overlay")
    for kdir in kdirs:
        _check_kustomization(report, kustomize, k8s_version, env_template, kdir)


def _check_kustomization(report: Report, kustomize: str, k8s_version: str, env_template: dict[str, str],
                         kdir: str) -> None:
    where = report.rel(kdir)
    listed = listed_files(report, kdir)
    if where == "k8s/base":
        example = os.path.join(kdir, "secret.example.yaml")
        if not os.path.isfile(example):
            report.fail(where, "secret.example.yaml missing")
        elif example in listed:
            report.fail(where, "secret.example.yaml must not be listed in resources")
        else:
            for o in load_yaml_all(example):
                validate_object(report, k8s_version, o, report.rel(example))
    try:
        objs = render(kustomize, kdir)
    except Exception as e:  # noqa: BLE001 - a render failure is reported, the other dirs still run
        report.fail(where, f"render failed: {e}")
        return
    kinds = sorted(f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}" for o in objs)
    report.detail(f"{where}: {len(objs)} objects: {', '.join(kinds)}")
    for o in objs:
        validate_object(report, k8s_version, o, where)
    _patch_targets(report, kdir, objs)
    try:
        policy(objs, where, lambda msg: report.fail(where, msg))
    except Exception as e:  # noqa: BLE001 - malformed objects were reported above
        report.fail(where, f"policy checks stopped on malformed input: {type(e).__name__}: {e}")
    if where.startswith("k8s/overlays") and not any(
            o["kind"] == "Secret" and o["metadata"]["name"].startswith("order-pipeline-secrets") for o in objs):
        report.fail(where, "overlay does not generate the Secret order-pipeline-secrets")
    for o in objs:
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "order-pipeline-config":
            for key in o.get("data") or {}:
                if env_template and key not in env_template:
                    report.fail(where, f"ConfigMap key {key} is not a variable of .env.template")
            if "DATABASE_URL" in (o.get("data") or {}):
                report.fail(where, "DATABASE_URL belongs in the Secret, not the ConfigMap")


def _patch_targets(report: Report, kdir: str, objs: list[dict]) -> None:
    """kustomize applies a patch whose target selects nothing as a no-op: a renamed resource would
    silently drop the overlay's change, so each target must select a rendered object."""
    kfile = os.path.join(kdir, "kustomization.yaml")
    for p in (load_yaml(kfile) or {}).get("patches") or []:
        tgt = p.get("target") or {}
        if not tgt.get("kind") and not tgt.get("name"):
            continue  # kustomize itself fails on an untargeted patch that matches nothing
        hit = any(
            re.fullmatch(tgt.get("kind") or ".*", o.get("kind") or "")
            and re.fullmatch(tgt.get("name") or ".*", (o.get("metadata") or {}).get("name") or "")
            for o in objs
        )
        if not hit:
            report.fail(report.rel(kfile), f"patch {p.get('path') or '(inline)'}: target {tgt} selects no object")
