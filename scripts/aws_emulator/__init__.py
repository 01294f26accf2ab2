"""The AWS emulator the tests and benchmarks run against: moto_server (pinned in
scripts/requirements.txt) behind a validating proxy that makes it answer as AWS does, never more
leniently. Every AWS request is checked against AWS's own service model before it reaches moto,
which accepts nearly anything; a request the model forbids is answered with the protocol's 400 and
recorded (a test with recorded violations fails).

Modules, one per concern:

- models.py: botocore's service models, the rest-json routes, AWS's Java patterns in Python's re;
- check.py: a request decoded (json, query, rest-json, rpc-v2-cbor) and validated against its
  operation's input;
- answers.py: the emulator's own answers, in each protocol's error shape;
- faults.py: fault injection (`/__faults`) and kill points (`/__faults/hold`);
- quotas.py: AWS's default quotas, enforced before a create reaches moto (`/__quotas`);
- shims_apigatewayv2.py, shims_events.py, shims_lambda.py: per service, what moto 5.2.5 lacks or
  does unlike AWS, answered as AWS does (the EMULATIONS) and AWS's refusals moto lacks (the GUARDS);
- shims_eventsv2.py: eventbridgev2 (the Custom Event Bus API, `eventsv2`, Smithy RPC v2 CBOR),
  which moto lacks entirely: every operation emulated in memory (eventsv2_store.py: the state and
  its CREATING/ACTIVE/DELETING transitions); eventsv2_auth.py: webhook AuthConfiguration rules and
  request verification (HMAC, static token, basic); eventsv2_webhooks.py: the data plane
  (`/__webhooks/<id>`, delivery to subscribers, SQS through moto) and `/__eventsv2/...` test
  endpoints;
- server.py: the HTTP server (endpoints, the order of the steps, forwarding to moto) and main.

Adding a service: a module like shims_events.py (SERVICE, EMULATIONS, GUARDS, init, reset, and
optionally forward / after), listed in server.SHIMS, with its service-2.json name in
models.SERVICES; quotas of its own are entries of quotas.QUOTAS.

Run: `PYTHONPATH=scripts python -m aws_emulator --port PUBLIC --upstream 127.0.0.1:MOTO
--violations FILE.jsonl [--trace FILE.jsonl] [--quotas JSON]` (tests/common/mod.rs does).
"""
