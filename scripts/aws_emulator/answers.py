"""Answers the emulator gives itself, in each protocol's own shape: an answer is a tuple
(status, headers, body, reason) that server.Handler._send writes out.

- json (events, logs): `{"__type": code, "message": ...}`, Content-Type `application/x-amz-json-<v>`;
- query (iam, sts, sns, sqs): `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>..` XML;
- rest-json (apigatewayv2, lambda): `{"message": ...}` (lambda: with `"Type"`), the code in
  `x-amzn-ErrorType`;
- rpc-v2-cbor (eventbridgev2): a CBOR map `{"__type": "<namespace>#<Code>", "Message": ...}` with
  the status of the error shape's `httpStatusCode`, headers `smithy-protocol: rpc-v2-cbor` and
  `Content-Type: application/cbor` (Smithy RPC v2 CBOR, "Errors"; aws-sdk-eventbridgev2 1.7's
  cbor_errors.rs reads `__type` and strips the namespace before `#`, and reads `message` or
  `Message`). The namespace is not in botocore's model: `com.amazonaws.<service>` is assumed.
"""

import json
import uuid
from xml.sax.saxutils import escape as xml_escape

import cbor2

# Internal-error codes per service (what each one's model calls its 500).
INTERNAL_ERROR = {"events": "InternalException", "eventbridgev2": "InternalException", "iam": "ServiceFailure", "lambda": "ServiceException", "sts": "InternalFailure",
                  "sns": "InternalError", "sqs": "InternalFailure", "apigatewayv2": "InternalFailure",
                  "logs": "ServiceUnavailableException"}
# The 503 codes where the model has its own (elsewhere: ServiceUnavailable).
UNAVAILABLE_ERROR = {"lambda": "ServiceException", "logs": "ServiceUnavailableException"}
# The code of a model-check refusal for json-protocol services whose AWS answers invalid input with
# another code than ValidationException. CloudWatch Logs: "InvalidParameterException: 1 validation
# error detected: Value ... at 'logGroupName' failed to satisfy constraint" (every logs operation
# declares InvalidParameterException; few declare ValidationException).
JSON_VALIDATION_ERROR = {"logs": "InvalidParameterException"}


def request_id():
    return str(uuid.uuid4())


def rest_error(status, code, message, service=None):
    """A rest-json error (apigatewayv2; lambda with its `Type`)."""
    rid = request_id()
    doc = {"message": message}
    if service == "lambda":
        doc = {"Type": "User" if status < 500 else "Service", "message": message}
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", rid)]
    return status, headers, json.dumps(doc).encode(), None


def bad_request(message):
    """apigatewayv2's 400 BadRequestException."""
    return rest_error(400, "BadRequestException", message)


def json_error(c, code, message, status=400):
    """A json-protocol (events, logs) error."""
    headers = [("Content-Type", f"application/x-amz-json-{c.model.json_version}"), ("x-amzn-RequestId", request_id())]
    return status, headers, json.dumps({"__type": code, "message": message}).encode(), None


def query_error(c, code, message, status=400):
    """A query-protocol (iam, sts, sns, sqs) error: Sender below 500, Receiver from 500."""
    rid = request_id()
    sender = "Sender" if status < 500 else "Receiver"
    body = (
        f'<ErrorResponse xmlns="https://{c.model.name}.amazonaws.com/doc/{c.model.api_version}/">'
        f"<Error><Type>{sender}</Type><Code>{code}</Code><Message>{xml_escape(message)}</Message></Error>"
        f"<RequestId>{rid}</RequestId></ErrorResponse>"
    ).encode()
    return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body, None


CBOR_HEADERS = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]


def cbor_error(c, code, message, status=None):
    """An rpc-v2-cbor error; `status` defaults to the error shape's httpStatusCode (else 400)."""
    if status is None:
        status = c.model.shapes.get(code, {}).get("error", {}).get("httpStatusCode", 400)
    doc = {"__type": f"com.amazonaws.{c.model.name}#{code}", "Message": message}
    return status, CBOR_HEADERS + [("x-amzn-RequestId", request_id())], cbor2.dumps(doc), None


def cbor_answer(doc, status=200):
    """A 2xx rpc-v2-cbor answer: `doc` (timestamps already cbor2.CBORTag(1, epoch seconds))."""
    return status, CBOR_HEADERS + [("x-amzn-RequestId", request_id())], cbor2.dumps(doc or {}), None


def error(c, code, message, status=400):
    """An error in the protocol of the checked request `c`."""
    if c.protocol == "rpc-v2-cbor":
        return cbor_error(c, code, message, status)
    if c.protocol == "query":
        return query_error(c, code, message, status)
    if c.protocol == "json":
        return json_error(c, code, message, status)
    return rest_error(status, code, message, c.model.name)


def json_answer(doc, status=200):
    """A 2xx JSON answer of the emulator's own."""
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id())]
    return status, headers, (b"" if doc is None else json.dumps(doc).encode()), None
