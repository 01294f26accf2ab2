#!/usr/bin/env bash
# Create .venv with the pinned Python tools (moto) unless it is already up to date.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha"
want="$(cat "$root/scripts/requirements.txt" "$root/scripts/requirements-helm.txt" | sha256sum | cut -d' ' -f1)"
if [ -x "$venv/bin/moto_server" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "==> installing pinned Python tools into .venv" >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/requirements.txt"
"$venv/bin/pip" install --quiet --disable-pip-version-check --ignore-requires-python -r "$root/scripts/requirements-helm.txt"
echo "$want" > "$stamp"
