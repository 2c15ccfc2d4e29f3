"""Schemathesis hooks for api/e2e/openapi-fuzz.e2e.test.ts (SCHEMATHESIS_HOOKS=fuzz_hooks).

A generated source registration names any host; the API would try to reach it. Test traffic stays on this
machine: the host and port of every registration that is valid as sent are replaced, before the call, by
the local stack's Postgres or MariaDB (FUZZ_PG_HOSTPORT, FUZZ_MYSQL_HOSTPORT), whose answers to generated
users, passwords and databases are what the fuzzer then checks. An invalid URL is left as generated, so
the API's refusal of it is still tested.
"""

import os
import re

import schemathesis

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
