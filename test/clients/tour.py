"""The README tour through a Python client generated from the API's OpenAPI document by
openapi-python-client, as a service would write it: register a source, wait for it to stream, declare a
view, query it with filters page by page (cursor), and read the error of a 409.

Run by api/e2e/generated-clients.e2e.test.ts with the generated package (`datamesh_api_client`) on
PYTHONPATH. Prints one JSON line of what it saw.
"""

import json
import os
import time

from datamesh_api_client import AuthenticatedClient
from datamesh_api_client.api.sources import get_source, register_source
from datamesh_api_client.api.views import create_view, get_view, query_rows
from datamesh_api_client.models import (
    PostgresSourceRegistration,
    PostgresSourceRegistrationKind,
    QueryRowsFilters,
    RowPage,
    Source,
    View,
    ViewDeclaration,
)

api_url, db_url, source, view = (os.environ[k] for k in ("API_URL", "DB_URL", "SOURCE", "VIEW"))
# Every route needs a token (README "Tokens and access"): sent as Authorization: Bearer.
mesh = AuthenticatedClient(base_url=api_url, token=os.environ["MESH_TOKEN"], raise_on_unexpected_status=True)


def until(what, ok):
    deadline = time.monotonic() + 60
    while not ok():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.25)


registration = PostgresSourceRegistration(
    name=source,
    owner="tour",
    kind=PostgresSourceRegistrationKind.POSTGRES,
    url=db_url,
    tables=["public.orders"],
)
registered = register_source.sync_detailed(client=mesh, body=registration)
assert isinstance(registered.parsed, Source), f"register: {registered.status_code} {registered.content!r}"


def streaming():
    got = get_source.sync(name=source, client=mesh)
    return isinstance(got, Source) and got.status.state.value == "streaming"


until("the source to stream", streaming)

sql = f"CREATE VIEW {view} AS SELECT o.id, o.status, o.total FROM {source}.public.orders o"
declared = create_view.sync_detailed(client=mesh, body=ViewDeclaration(sql=sql))
assert isinstance(declared.parsed, View), f"declare: {declared.status_code} {declared.content!r}"


def ready():
    got = get_view.sync(name=view, client=mesh)
    return isinstance(got, View) and got.status.state.value == "ready"


until("the view to be ready", ready)

filters = QueryRowsFilters()
filters["status"] = "paid"
filters["total[gte]"] = "40"
ids, pages, cursor = [], 0, None
while True:
    kwargs = {"cursor": cursor} if cursor else {}
    page = query_rows.sync(name=view, client=mesh, filters=filters, limit=2, **kwargs)
    assert isinstance(page, RowPage), f"rows: {page!r}"
    pages += 1
    ids.extend(row["id"] for row in page.rows)
    cursor = page.next_
    if not cursor:
        break

again = register_source.sync_detailed(client=mesh, body=registration)
error = again.parsed
conflict = {"status": int(again.status_code), "code": error.code.value, "message": error.message}

print(json.dumps({"ids": ids, "pages": pages, "conflict": conflict}))
