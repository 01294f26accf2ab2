"""eventbridgev2 webhook authentication: the rules a webhook EventSource's AuthConfiguration must
follow beyond the model's shapes (refused with InvalidInputException), its credential (given,
or generated), and the verification of one webhook request against it.

The spec is the model's documentation (botocore 1.44.8 eventbridgev2 2025-05-15,
WebhookHmacAuthConfiguration and its members, WebhookStaticTokenAuthConfiguration,
WebhookBasicHttpAuthConfiguration, WebhookCredential) and the user guide "Securing a webhook
event source" (eb-custom-bus-webhook-auth):

- HMAC: the signature header holds one or more signatures (split on Delimiter when set), each
  after SignaturePrefix when set; the request is accepted if ANY matches. TimestampHttpHeader may
  be the signature header itself (then Delimiter, SignaturePrefix and TimestampPrefix are
  required; the timestamp is the part after TimestampPrefix); the timestamp (Unix seconds) must be
  within TimestampToleranceInSeconds (default 300) of the receipt. The signed message is BODY,
  `<timestamp>.<body>` or `<messageId>.<timestamp>.<body>` (Standard Webhooks); a message id
  containing '.' is refused. The key is the secret's characters (RAW) or its base64 decoding
  (BASE64, a leading `whsec_` removed), 16 to 512 bytes. Signatures are HEX (compared without
  regard to case) or BASE64. Every compare is hmac.compare_digest.
- Static token: the whole header value is the token (a provider sending `Bearer <t>` needs the
  prefix in the secret).
- Basic: `Authorization: Basic base64(username:password)`.
- After RotateWebhookCredentials the previous credential stays valid for 15 minutes (the
  operation's documentation); only the one most recently replaced.
"""

import base64
import binascii
import hashlib
import hmac
import secrets

# Header names the model calls reserved ("the names EventBridge's edge writes, such as Host and
# the X-Forwarded-* family, and the hop-by-hop and framing names an HTTP intermediary may
# rewrite, such as Connection and Content-Length. Authorization is allowed."). The list beyond the
# named examples is RFC 9110's hop-by-hop and framing set.
RESERVED_HEADERS = {"host", "connection", "content-length", "transfer-encoding", "keep-alive", "te", "trailer", "upgrade",
                    "proxy-connection", "proxy-authorization", "proxy-authenticate", "forwarded", "via"}
# Metadata headers that cannot be listed: "Headers that carry credentials or that describe the
# network path, and the header that carries the static token" (WebhookEventsSourceConfiguration).
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token"}
PATH_HEADERS = {"host", "forwarded", "via", "x-real-ip", "true-client-ip"}
DEFAULT_TOLERANCE_S = 300
PREVIOUS_VALID_S = 900  # "EventBridge also accepts the previous credential for 15 minutes after the rotation"


def kind(auth):
    """The auth type's member name (exactly one is set: the model check saw to it)."""
    return next((k for k, v in (auth or {}).items() if v is not None), None)


def _reserved(name):
    low = name.lower()
    return low in RESERVED_HEADERS or low.startswith("x-forwarded-")


def config_problem(webhook):
    """Why a WebhookEventsConfiguration breaks a documented rule, or None."""
    auth = webhook.get("AuthConfiguration") or {}
    k = kind(auth)
    cfg = auth.get(k) or {}
    headers = []
    if k == "HmacAuthConfiguration":
        comp = cfg.get("SignedMessageComposition")
        sig, ts = cfg.get("SignatureHttpHeader"), cfg.get("TimestampHttpHeader")
        headers = [h for h in (sig, ts, cfg.get("MessageIdHttpHeader")) if h]
        if comp == "BODY" and ts:
            return "TimestampHttpHeader is not allowed when SignedMessageComposition is BODY (BODY does not sign the timestamp)"
        if comp == "BODY" and cfg.get("TimestampToleranceInSeconds") is not None:
            return "TimestampToleranceInSeconds is not allowed when SignedMessageComposition is BODY"
        if comp in ("TIMESTAMP_DOT_BODY", "MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY") and not ts:
            return f"TimestampHttpHeader is required when SignedMessageComposition is {comp}"
        if cfg.get("TimestampToleranceInSeconds") is not None and not ts:
            return "TimestampToleranceInSeconds requires TimestampHttpHeader"
        if comp == "MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY" and not cfg.get("MessageIdHttpHeader"):
            return "MessageIdHttpHeader is required when SignedMessageComposition is MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY"
        if ts and sig and ts.lower() == sig.lower():
            missing = [m for m in ("Delimiter", "SignaturePrefix", "TimestampPrefix") if not cfg.get(m)]
            if missing:
                return f"{', '.join(missing)} required when TimestampHttpHeader is the same header as SignatureHttpHeader"
    elif k == "StaticTokenAuthConfiguration":
        headers = [cfg.get("TokenHttpHeader") or ""]
    elif k == "BasicHttpAuthConfiguration":
        if (cfg.get("Username") is None) != (cfg.get("Password") is None):
            return "Supply both Username and Password, or omit both so that EventBridge generates the pair"
    for h in headers:
        if _reserved(h):
            return f"{h} is a reserved header name"
    seen = set()
    token = (cfg.get("TokenHttpHeader") or "").lower()
    for h in webhook.get("MetadataHttpHeaders") or []:
        low = h.lower()
        if low in seen:
            return f"MetadataHttpHeaders: {h} repeats (header names are case-insensitive)"
        seen.add(low)
        if low in CREDENTIAL_HEADERS or low in PATH_HEADERS or low.startswith("x-forwarded-") or low == token:
            return f"MetadataHttpHeaders: {h} carries credentials or describes the network path and can't be listed"
    return secret_problem(auth, cfg.get("SecretValue") if k != "BasicHttpAuthConfiguration" else None)


def hmac_key(cfg, value):
    """The HMAC key of secret `value` (RAW: its UTF-8 bytes; BASE64: decoded after `whsec_`), or
    None if it is not valid base64."""
    if (cfg.get("SecretEncoding") or "RAW") == "BASE64":
        text = value[len("whsec_"):] if value.startswith("whsec_") else value
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
    return value.encode()


def secret_problem(auth, value):
    """Why an HMAC secret value breaks "16 to 512 bytes; with BASE64 SecretEncoding, this is
    measured after decoding", or None (other types: the model's 6..512 characters suffice)."""
    cfg = (auth or {}).get("HmacAuthConfiguration")
    if cfg is None or value is None:
        return None
    key = hmac_key(cfg, value)
    if key is None:
        return "SecretValue is not valid base64 (SecretEncoding BASE64)"
    if not 16 <= len(key) <= 512:
        return f"The HMAC secret must be 16 to 512 bytes; it is {len(key)} bytes" + (" after base64 decoding" if cfg.get("SecretEncoding") == "BASE64" else "")
    return None


def generate(auth):
    """A generated credential: (value, username or None)."""
    k = kind(auth)
    cfg = auth.get(k) or {}
    if k == "HmacAuthConfiguration":
        if (cfg.get("SecretEncoding") or "RAW") == "BASE64":
            return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(), None
        return secrets.token_hex(32), None
    if k == "BasicHttpAuthConfiguration":
        return secrets.token_urlsafe(24), "eventbridge-" + secrets.token_hex(4)
    return secrets.token_urlsafe(32), None


def _eq(a, b):
    return hmac.compare_digest(a.encode() if isinstance(a, str) else a, b.encode() if isinstance(b, str) else b)


def verify(auth, credentials, headers, body, now):
    """(accepted, reason, status): `credentials` the valid (value, username) pairs (the current
    one, and the previous within 15 minutes of a rotation); `headers` case-insensitive. Missing
    credentials are answered 401, present but wrong ones 403 (an assumption: the user guide's
    opening does not give the status; API Gateway answers a missing identity 401 and a denied
    one 403)."""
    k = kind(auth)
    cfg = auth.get(k) or {}
    if k == "StaticTokenAuthConfiguration":
        got = headers.get(cfg["TokenHttpHeader"])
        if got is None:
            return False, f"missing token header {cfg['TokenHttpHeader']}", 401
        ok = [_eq(got, v) for v, _ in credentials]
        return (True, "token matches", 200) if any(ok) else (False, f"token in {cfg['TokenHttpHeader']} does not match", 403)
    if k == "BasicHttpAuthConfiguration":
        got = headers.get("Authorization")
        if got is None or not got.startswith("Basic "):
            return False, "missing Authorization: Basic header", 401
        ok = [_eq(got[6:].strip(), base64.b64encode(f"{u}:{v}".encode()).decode()) for v, u in credentials]
        return (True, "basic credentials match", 200) if any(ok) else (False, "basic credentials do not match", 403)
    return _verify_hmac(cfg, credentials, headers, body, now)


def _verify_hmac(cfg, credentials, headers, body, now):
    sig_header, ts_header = cfg["SignatureHttpHeader"], cfg.get("TimestampHttpHeader")
    value = headers.get(sig_header)
    if value is None:
        return False, f"missing signature header {sig_header}", 401
    delim = cfg.get("Delimiter")
    parts = [p.strip() for p in (value.split(delim) if delim else [value])]
    prefix = cfg.get("SignaturePrefix") or ""
    signatures = [p[len(prefix):] for p in parts if p.startswith(prefix)] if prefix else parts
    timestamp = None
    if ts_header:
        ts_prefix = cfg.get("TimestampPrefix") or ""
        if ts_header.lower() == sig_header.lower():
            # One header: SignaturePrefix is required there, so the timestamp part is no signature.
            stamps = [p[len(ts_prefix):] for p in parts if p.startswith(ts_prefix)]
            timestamp = stamps[0] if stamps else None
        else:
            raw = headers.get(ts_header)
            timestamp = raw[len(ts_prefix):] if raw is not None and raw.startswith(ts_prefix) else None
        if timestamp is None:
            return False, f"missing timestamp ({ts_header}{' ' + ts_prefix if ts_prefix else ''})", 401
        try:
            seconds = int(timestamp)
        except ValueError:
            return False, f"timestamp {timestamp!r} is not Unix seconds", 403
        tolerance = cfg.get("TimestampToleranceInSeconds") or DEFAULT_TOLERANCE_S
        if abs(now - seconds) > tolerance:
            return False, f"timestamp {seconds} is {int(now - seconds)} s from now, outside the tolerance of {tolerance} s", 403
    if not signatures:
        return False, f"no signature{' with prefix ' + repr(prefix) if prefix else ''} in {sig_header}", 401
    message = body
    comp = cfg["SignedMessageComposition"]
    if comp in ("TIMESTAMP_DOT_BODY", "MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY"):
        message = timestamp.encode() + b"." + body
    if comp == "MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY":
        mid_header = cfg["MessageIdHttpHeader"]
        mid = headers.get(mid_header)
        if mid is None:
            return False, f"missing message id header {mid_header}", 401
        if "." in mid:
            return False, f"message id {mid!r} contains '.'", 403
        message = mid.encode() + b"." + message
    algorithm = hashlib.sha1 if cfg["Algorithm"] == "SHA1" else hashlib.sha256
    matched = False
    for value, _ in credentials:
        key = hmac_key(cfg, value)
        if key is None:
            continue
        digest = hmac.new(key, message, algorithm).digest()
        if cfg["Encoding"] == "HEX":
            expected = digest.hex()
            results = [_eq(expected, s.lower()) for s in signatures]
        else:
            expected = base64.b64encode(digest).decode()
            results = [_eq(expected, s) for s in signatures]
        matched = matched or any(results)
    if matched:
        return True, "signature matches", 200
    return False, f"no signature in {sig_header} matches ({len(signatures)} checked)", 403
