"""Render charts/webhook-bridge with the real Helm library (helm-sdkpy) and print the manifests.

helm-sdkpy 0.1.32 has no `helm template` (nor a dry run): Helm renders a chart only as part of an
install. So this is `helm install --wait=false` of the chart into the cluster of --kubeconfig,
in --namespace (which must exist), as release --release; it prints what Helm rendered and
created (the release's manifest): YAML documents, or with --json one JSON array of objects.

    .venv/bin/python scripts/helm_render.py --kubeconfig KUBECONFIG --namespace NS --release NAME \\
        [-f values.yaml]... [--set key.path=value]... [--json] [--chart DIR] [--upgrade]

--chart renders another copy of the chart (e.g. an earlier version from git history); --upgrade
runs `helm upgrade` of an existing release instead of `helm install`.

--set takes a dotted key and a YAML value (`replicaCount=2`, `operator.namespaces=[a, b]`), or
Helm's list form (`operator.namespaces={a,b}`). Values merge over the chart's values.yaml, -f
files first, then --set in order; values.schema.json is enforced by Helm as in a real install.
"""
import argparse
import asyncio
import json
import pathlib
import sys

import yaml
from helm_sdkpy import Configuration, Install, Upgrade

from helm_lint import CHART, merge  # same directory: the chart and how values are layered

def parse_set(assignment):
    """`a.b.c=value` -> {"a": {"b": {"c": value}}}"""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise SystemExit(f"--set {assignment!r}: expected key=value")
    if raw.startswith("{") and raw.endswith("}"):
        value = [yaml.safe_load(item) for item in raw[1:-1].split(",") if item.strip()]
    else:
        value = yaml.safe_load(raw) if raw else ""
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True, help="the cluster Helm installs into")
    parser.add_argument("--namespace", required=True, help="the release namespace (must exist)")
    parser.add_argument("--release", required=True, help="the release name")
    parser.add_argument("-f", "--values", action="append", default=[], help="a values file (repeatable)")
    parser.add_argument("--set", action="append", default=[], help="key.path=value (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON array of the objects")
    parser.add_argument("--chart", default=str(CHART), help="the chart directory (default: this repo's)")
    parser.add_argument("--upgrade", action="store_true", help="helm upgrade an existing release")
    args = parser.parse_args()

    values = {}
    for path in args.values:
        values = merge(values, yaml.safe_load(pathlib.Path(path).read_text()) or {})
    for assignment in args.set:
        values = merge(values, parse_set(assignment))

    config = Configuration(namespace=args.namespace, kubeconfig=args.kubeconfig)
    if args.upgrade:
        action = Upgrade(config).run(args.release, args.chart, values=values, wait=False, timeout=60)
    else:
        action = Install(config).run(args.release, args.chart, values=values, wait=False, timeout=60)
    release = asyncio.run(action)
    manifest = release.get("manifest") or ""
    if args.json:
        objects = [doc for doc in yaml.safe_load_all(manifest) if doc]
        print(json.dumps(objects, indent=1))
    else:
        print(manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
