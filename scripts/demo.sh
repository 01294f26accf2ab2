#!/usr/bin/env bash
# The main job on the local AWS emulator: start moto, provision examples/orders.yaml with the
# webhook-bridge CLI, print its status and webhook URL, show that a re-run is a no-op, delete it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/venv.sh"
echo "==> building webhook-bridge" >&2
cargo build --quiet --locked --bin webhook-bridge
bin="${CARGO_TARGET_DIR:-$root/target}/debug/webhook-bridge"

port="$("$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
echo "==> local AWS emulator (moto) on $AWS_ENDPOINT_URL; creating the createOrder/cancelOrder functions" >&2
"$root/.venv/bin/python" "$root/scripts/seed_lambdas.py" "$AWS_ENDPOINT_URL" createOrder cancelOrder

echo "==> webhook-bridge simulate: a 'create' order, offline, before anything exists in AWS" >&2
"$bin" simulate -f examples/orders.yaml --route webhook \
  --body '{"event_type": "create", "event_time": "2026-11-27T10:00:00Z", "order_id": "o-1", "amount": 42}'
echo "==> webhook-bridge test: the routing fixtures of examples/fixtures/orders" >&2
"$bin" test -f examples/orders.yaml examples/fixtures/orders

echo "==> webhook-bridge plan -f examples/orders.yaml" >&2
"$bin" plan -f examples/orders.yaml
echo "==> webhook-bridge apply -f examples/orders.yaml" >&2
"$bin" apply -f examples/orders.yaml | tee /tmp/webhook-bridge-demo-status.yaml
url="$(grep -E '^\s+url: ' /tmp/webhook-bridge-demo-status.yaml | head -1 | awk '{print $2}')"
echo "==> webhook URL: $url" >&2
echo "==> apply again: nothing to do" >&2
"$bin" apply -f examples/orders.yaml >/dev/null
echo "==> webhook-bridge delete -f examples/orders.yaml" >&2
"$bin" delete -f examples/orders.yaml
