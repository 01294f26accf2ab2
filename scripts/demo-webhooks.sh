#!/usr/bin/env bash
# Signed webhooks (docs/webhook-sources.md), the second demo: offline first (`webhook-bridge test`
# verifies the example fixtures' signatures, a forged and a stale one refused), then on the local
# emulator (moto behind scripts/aws_emulator, which answers eventsv2 and verifies each webhook
# request as EventBridge documents): apply the gateway (a Custom Event Bus) and the GitHub/Stripe
# bridge, send a GitHub-signed push and a forged one to the source's URL, read the queue, delete.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/venv.sh"
echo "==> building webhook-bridge" >&2
cargo build --quiet --locked --bin webhook-bridge
bin="${CARGO_TARGET_DIR:-$root/target}/debug/webhook-bridge"
py="$root/.venv/bin/python"
ex=examples/webhook-sources
secrets=examples/fixtures/webhook-sources/secrets/test-secrets.yaml

echo "==> offline: webhook-bridge test (signed, forged, stale and unsigned requests)" >&2
"$bin" test -f "$ex/hooks.yaml" examples/fixtures/webhook-sources

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port="$(free_port)"
port="$(free_port)"
"$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
moto=$!
PYTHONPATH="$root/scripts" "$py" -m aws_emulator --port "$port" --upstream "127.0.0.1:$moto_port" 2>/dev/null &
emulator=$!
trap 'kill $moto $emulator 2>/dev/null || true' EXIT
for p in "$moto_port" "$port"; do
  for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
    sleep 0.1
  done
done
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
echo "==> local AWS emulator on $AWS_ENDPOINT_URL; creating the bridge's SQS queues" >&2
"$py" - <<'PY'
import os, boto3
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
for q in ("deploys", "deploys-dlq", "payments"):
    sqs.create_queue(QueueName=q)
PY

echo "==> webhook-bridge apply: the gateway's Custom Event Bus, then the bridge's sources" >&2
"$bin" apply --namespace-label dev:webhooks.example.com/gateway=signed \
  -f "$ex/gateway.yaml" -f "$ex/hooks.yaml" -f "$secrets" | tee /tmp/webhook-bridge-demo-webhooks.yaml
echo "==> a GitHub-signed push to main, and the same push signed with another secret" >&2
"$py" - /tmp/webhook-bridge-demo-webhooks.yaml <<'PY'
import hashlib, hmac, json, os, re, sys, urllib.request, urllib.error, boto3
text = open(sys.argv[1]).read()
url = re.search(r"name: github\s+url: (\S+)", text).group(1)  # status.webhookSources[github].url
body = b'{"ref":"refs/heads/main","after":"abc"}'
def post(secret):
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"X-Hub-Signature-256": sig, "X-GitHub-Event": "push"})
    try:
        return urllib.request.urlopen(req).status
    except urllib.error.HTTPError as e:
        return e.code
signed, forged = post(b"It's a Secret to Everybody"), post(b"a guess")
print(f"    {url}\n    signed: {signed}, forged: {forged}")
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
q = sqs.get_queue_url(QueueName="deploys")["QueueUrl"]
got = [m["Body"] for m in sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10).get("Messages", [])]
print(f"    deploys queue: {len(got)} message(s): {got}")
sys.exit(0 if (signed, forged, len(got)) == (200, 403, 1) else 1)
PY
echo "==> webhook-bridge delete: the bridge, then the gateway (it waits for its bridges)" >&2
"$bin" delete --namespace-label dev:webhooks.example.com/gateway=signed -f "$ex/gateway.yaml" -f "$ex/hooks.yaml" -f "$secrets"
