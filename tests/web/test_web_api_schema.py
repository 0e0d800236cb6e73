"""Property-based tests of the JSON API against its own OpenAPI schema (schemathesis): no 5xx, ever.

The API is exercised in-process (ASGI) as an admin with an API token, a bounded number of examples
per operation. Two operations are left out: submitting links (it would start fetching whatever
URLs the generator invents) and revoking tokens (it would revoke the test's own token); both are
covered by ``test_web.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from medcurate.models import ItemState
from medcurate.suggest.service import suggest_for_item
from medcurate.users import Role
from websupport import add, make_site, news_item, store, token_for

MAX_EXAMPLES = 12
TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app's schema, bound to the app over a small seeded site."""
    home: Path = tmp_path_factory.mktemp("schemathesis")
    site = make_site(home)
    add(site.database, "root", Role.ADMIN)
    add(site.database, "someone", Role.CURATOR)
    store(site.database, news_item(1, topics=["Healthcare IT News: Cybersecurity"]))
    store(site.database, news_item(2), state=ItemState.APPROVED)
    TOKEN["value"] = token_for(site.database, "root")
    # Load the suggestion model once up front, so no request waits seconds for it to load.
    suggest_for_item(site.database, item_id=1, settings=site.settings)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", site.app)
    yield schema.exclude(path="/api/batches", method="POST").exclude(path_regex=r"^/api/tokens/\{")
    site.database.dispose()


@pytest.mark.slow
def test_api_never_answers_5xx(api_schema: Any) -> None:
    headers = {"Authorization": f"Bearer {TOKEN['value']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
