"""Schemathesis hooks for api/e2e/openapi-fuzz.e2e.test.ts (SCHEMATHESIS_HOOKS=fuzz_hooks).

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

_AUTHORITY = re.compile(r"^(?P<scheme>[a-z]+)://(?P<userinfo>[^@/]*@)?(?P<host>[^/:]+)(?::\d+)?(?P<rest>/.*)$")


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
    target = {"postgres": os.environ["FUZZ_PG_HOSTPORT"], "mysql": os.environ["FUZZ_MYSQL_HOSTPORT"]}.get(kind)
    match = _AUTHORITY.match(body["url"])
    if target is None or match is None:
        return
    body["url"] = f"{match['scheme']}://{match['userinfo'] or ''}{target}{match['rest']}"


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
    if isinstance(failure, EnsureResourceAvailability) and _parked_key_not_found(case, response):
        return False
    return True


def _sent_value_breaks_pattern(case):
    sent = {"header": case.headers or {}, "query": case.query or {}, "path": case.path_parameters or {}}
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
    if response.status_code != 404 or not re.search(r"/parked/(retry|skip)$", case.operation.path):
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    return body.get("code") == "MESH_NOT_FOUND" and "key" in (body.get("details") or {})
