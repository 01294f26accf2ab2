#!/usr/bin/env bash
# Run every test: formatting, lints, unit tests, and the integration tests against a real
# local AWS emulator (moto, started by the tests themselves on free 127.0.0.1 ports).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/venv.sh"
export MOTO_SERVER="$root/.venv/bin/moto_server"
echo "==> cargo fmt --check" >&2
cargo fmt --all -- --check
echo "==> cargo clippy -- -D warnings" >&2
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo test" >&2
# Not --all-targets: that would run benches/ (a benchmark, not a test; `cargo bench` runs it).
cargo test --lib --bins --tests --locked
