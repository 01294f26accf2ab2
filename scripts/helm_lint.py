"""helm lint of charts/webhook-bridge with the real Helm library (helm-sdkpy): with the default
values, with each file in charts/webhook-bridge/ci/ (merged over the defaults, as `helm lint -f`
does), and with a values file carrying a typo, which values.schema.json must reject."""
import asyncio
import copy
import pathlib
import shutil
import sys
import tempfile

import yaml
from helm_sdkpy import Configuration
from helm_sdkpy.chart import Lint

CHART = pathlib.Path(__file__).resolve().parent.parent / "charts" / "webhook-bridge"
ERROR = 3  # Helm's support.ErrorSev


def merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def lint(overrides):
    with tempfile.TemporaryDirectory() as tmp:
        chart = pathlib.Path(tmp) / CHART.name
        shutil.copytree(CHART, chart)
        values = yaml.safe_load((CHART / "values.yaml").read_text())
        (chart / "values.yaml").write_text(yaml.safe_dump(merge(values, overrides)))
        result = asyncio.run(Lint(Configuration()).run(str(chart)))
    return [m["Path"] for m in result.get("Messages") or [] if m.get("Severity", 0) >= ERROR]


def main():
    failures = 0
    cases = [("default values", {})]
    cases += [(f"ci/{f.name}", yaml.safe_load(f.read_text()) or {}) for f in sorted((CHART / "ci").glob("*.yaml"))]
    for name, overrides in cases:
        errors = lint(overrides)
        print(f"helm lint {name}: {'ok' if not errors else 'FAILED in ' + ', '.join(errors)}")
        failures += bool(errors)
    for name, typo in [("a misspelled key", {"replicas": 2}), ("a bad enum", {"operator": {"logFormat": "xml"}})]:
        errors = lint(typo)
        print(f"helm lint with {name}: {'rejected (as it must be)' if errors else 'ACCEPTED: values.schema.json is too lax'}")
        failures += not errors
    print(f"{len(cases) + 2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
