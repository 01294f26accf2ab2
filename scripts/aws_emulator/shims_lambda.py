"""lambda: what moto 5.2.5 accepts and AWS refuses, refused as AWS does before it reaches moto.

- `AddPermission` with a `StatementId` the policy already holds: 409 `ResourceConflictException`
  (moto appends a second statement with that id; a retried write meets what the first attempt made).
- `AddPermission` that would take a function's resource policy past AWS's 20 KB quota: 400
  `PolicyLengthExceededException` (moto has no cap).
"""

import json
from urllib.parse import unquote

from . import answers
from .check import json_object

SERVICE = "lambda"

# Lambda quotas: "Function resource-based policy: 20 KB" (AddPermission beyond it is refused).
LAMBDA_POLICY_LIMIT = 20480


def _policy_size_after(statements, doc, path):
    """The length of a function's resource policy (compact JSON, as Lambda measures it) once
    AddPermission `doc` (to the function of request `path`) has added its statement."""
    function = unquote(path.split("/functions/", 1)[-1].split("/", 1)[0])
    resource = next((x.get("Resource") for x in statements if isinstance(x, dict) and x.get("Resource")), None)
    if resource is None:
        resource = function if function.startswith("arn:") else f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
    principal = doc.get("Principal", "")
    statement = {
        "Sid": doc.get("StatementId"),
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": doc.get("Action"),
        "Resource": resource,
    }
    if doc.get("SourceArn"):
        statement["Condition"] = {"ArnLike": {"AWS:SourceArn": doc["SourceArn"]}}
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": [*statements, statement]}
    return len(json.dumps(policy, separators=(",", ":")))


def add_permission_refusal(h, c, body):
    """AddPermission with a StatementId the policy already holds: AWS refuses (409
    ResourceConflictException), moto appends a second statement with that id. AddPermission that
    would take the function's resource policy past 20 KB: AWS refuses (400
    PolicyLengthExceededException "The final policy size (N) is bigger than the limit (20480).";
    Lambda quotas, "Function resource-based policy: 20 KB"), moto has no cap."""
    doc = json_object(body)
    if doc is None:
        return None
    existing = h._upstream_get_json()
    sid = doc.get("StatementId")
    try:
        statements = json.loads((existing or {}).get("Policy") or "{}").get("Statement") or []
    except (ValueError, AttributeError):
        return None
    if any(isinstance(x, dict) and x.get("Sid") == sid for x in statements):
        message = f"The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
        return answers.rest_error(409, "ResourceConflictException", message, SERVICE)
    size = _policy_size_after(statements, doc, h.path)
    if size <= LAMBDA_POLICY_LIMIT:
        return None
    message = f"The final policy size ({size}) is bigger than the limit ({LAMBDA_POLICY_LIMIT})."
    return answers.rest_error(400, "PolicyLengthExceededException", message, SERVICE)


def init(state):
    pass


def reset(state):
    pass


EMULATIONS = {}
# AWS's refusals of a call moto would accept, checked before it is forwarded: Op -> (h, c, body) -> answer or None.
GUARDS = {"AddPermission": add_permission_refusal}
