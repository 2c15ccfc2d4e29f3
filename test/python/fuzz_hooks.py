"""Schemathesis hooks for api/e2e/openapi-fuzz.e2e.test.ts (SCHEMATHESIS_HOOKS=fuzz_hooks).

Checks of our own, on every response of both runs:
- no_secret_in_response: none of the secrets in FUZZ_SECRETS (one a line: the admin token, a service token,
  the source database's password) appears in a response's body or headers;
- protected_routes_need_a_token: with FUZZ_NO_TOKEN=1 (the run without a token), every operation but the
  open probes (/healthz, /readyz) answers 401, never anything else (a method the path does not take: 405).

before_call:
A generated source registration names any host; the API would try to reach it. Test traffic stays on this
machine: the host and port of every registration that is valid as sent are replaced, before the call, by
the local stack's Postgres or MariaDB (FUZZ_PG_HOSTPORT, FUZZ_MYSQL_HOSTPORT), whose answers to generated
users, passwords and databases are what the fuzzer then checks. An invalid URL is left as generated, so
the API's refusal of it is still tested.
"""

import json
import os
import re

import schemathesis
from schemathesis.openapi.checks import EnsureResourceAvailability, RejectedPositiveData

_AUTHORITY = re.compile(
    r"^(?P<scheme>[a-z]+)://(?P<userinfo>[^@/]*@)?(?P<host>[^/:]+)(?::\d+)?(?P<rest>/.*)$"
)


_OPEN_PATHS = {"/healthz", "/readyz"}


def _note(check, case, response):
    """Appends what a check saw to FUZZ_CHECK_LOG, so the test can tell it ran (and on what)."""
    path = os.environ.get("FUZZ_CHECK_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(
                f"{check}\t{case.operation.method.upper()}\t{case.operation.path}\t"
                f"{case.method.upper()}\t{response.status_code}\n"
            )


def _secrets():
    return [line for line in os.environ.get("FUZZ_SECRETS", "").split("\n") if line]


@schemathesis.check
def no_secret_in_response(ctx, response, case):
    text = bytes(response.content or b"").decode("utf-8", "replace")
    headers = "\n".join(
        f"{k}: {v}"
        for k, vs in response.headers.items()
        for v in (vs if isinstance(vs, list) else [vs])
    )
    _note("no_secret_in_response", case, response)
    for i, secret in enumerate(_secrets()):
        if secret in text or secret in headers:
            # The secret itself is not repeated in the report (CI logs are read by many).
            raise AssertionError(
                f"secret #{i + 1} of FUZZ_SECRETS appears in the response"
            )


@schemathesis.check
def protected_routes_need_a_token(ctx, response, case):
    if os.environ.get("FUZZ_NO_TOKEN") != "1" or case.operation.path in _OPEN_PATHS:
        return
    _note("protected_routes_need_a_token", case, response)
    # A method the path does not take is 405 with Allow before any token is read (lib/http/methods.ts).
    if case.method.upper() != case.operation.method.upper() and response.status_code == 405:
        return
    if response.status_code != 401:
        raise AssertionError(
            f"{case.operation.method.upper()} {case.operation.path} answered {response.status_code} without a token; "
            "every route but /healthz and /readyz must answer 401"
        )


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = case.operation
    if operation.method.upper() != "POST" or operation.path != "/v1/sources":
        return
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        return
    kind = body.get("kind")
    if not isinstance(kind, str):
        return
    target = {
        "postgres": os.environ["FUZZ_PG_HOSTPORT"],
        "mysql": os.environ["FUZZ_MYSQL_HOSTPORT"],
    }.get(kind)
    match = _AUTHORITY.match(body["url"])
    if target is None or match is None:
        return
    body["url"] = (
        f"{match['scheme']}://{match['userinfo'] or ''}{target}{match['rest']}"
    )


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but two kinds the document is not at fault for, each re-checked here:

    - "schema-valid request rejected" for a request whose header, query or path value breaks the pattern
      the document gives it: a type mutation (e.g. the integer 0 for a string header) that schemathesis
      judged valid once serialized, checking its type but not its pattern;
    - "created resource not found" for POST /v1/views/{name}/parked/retry|skip on a view just created:
      the view exists, the 404 names the parked key of the body, which a new view cannot hold.
    """
    if isinstance(failure, RejectedPositiveData) and _sent_value_breaks_pattern(case):
        return False
    if isinstance(failure, EnsureResourceAvailability) and _parked_key_not_found(
        case, response
    ):
        return False
    return True


def _sent_value_breaks_pattern(case):
    sent = {
        "header": case.headers or {},
        "query": case.query or {},
        "path": case.path_parameters or {},
    }
    for parameter in case.operation.iter_parameters():
        definition = parameter.definition
        pattern = definition.get("schema", {}).get("pattern")
        values = sent.get(definition.get("in"), {})
        name = definition.get("name")
        value = next((v for k, v in values.items() if k.lower() == name.lower()), None)
        if pattern and value is not None and not isinstance(value, (list, dict)):
            text = value if isinstance(value, str) else json.dumps(value)
            if re.search(pattern, text) is None:
                return True
    return False


def _parked_key_not_found(case, response):
    if response.status_code != 404 or not re.search(
        r"/parked/(retry|skip)$", case.operation.path
    ):
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    return body.get("code") == "MESH_NOT_FOUND" and "key" in (body.get("details") or {})
