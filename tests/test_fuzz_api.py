"""Schemathesis against the server's own OpenAPI schema, over HTTP on 127.0.0.1.

Every operation of ``/openapi.json`` is called with requests Hypothesis builds from the
schema (valid and not), as an IM officer, a bounded number of times per operation. No
answer may be a 5xx, and every answer must match what the schema says of it (its JSON
schema, its media type). A second pass sends the same operations with no credentials,
and a third as an observer: each is refused or answered, never a 5xx.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from clearfield import services
from clearfield.users import add_user
from server import PASSWORD, login, running

BASE = Path(__file__).parent / "data" / "good" / "base.geojson"
EXAMPLES = int(os.environ.get("CLEARFIELD_FUZZ_EXAMPLES", "25"))  # per operation and user
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def fuzz_server(database_url: str) -> Iterator[dict[str, str]]:
    """A server on each store holding the base programme; a token per role, by name."""
    url = database_url
    store = services.open_store(url)
    features = json.loads(BASE.read_text(encoding="utf-8"))["features"]
    services.import_features(store, features, source="base", actor="t")
    for name, role, org in (("officer", "im_officer", None), ("observer", "observer", None), ("lead", "field_lead", "ORG-A")):  # fmt: skip
        add_user(store, name, role, org, PASSWORD, actor="t")
    store.close()
    with running(url) as base:
        tokens = {"base": base}
        for name in ("officer", "observer", "lead"):
            with login(base, name, PASSWORD) as client:
                tokens[name] = client.headers["Authorization"]
        yield tokens


@pytest.fixture(scope="module")
def api_schema(fuzz_server: dict[str, str]) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_server['base']}/openapi.json")


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure reproduces
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _operations(schema: Any) -> list[Any]:
    """Every operation of the schema but the event stream (a stream never ends)."""
    out = [r.ok() for r in schema.get_all_operations()]
    return [op for op in out if op.path != "/api/events"]


def _fuzz(op: Any, mode: GenerationMode, examples: int, call: Any) -> str | None:
    """Run ``call(case)`` on ``examples`` cases of ``op``; the first failure, as text."""

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(FUZZ, max_examples=examples)
    def run(case: schemathesis.Case) -> None:
        call(case)

    try:
        run()
    except Unsatisfiable:  # no invalid request exists (an operation without parameters)
        return None
    except (
        Exception,
        BaseExceptionGroup,
    ) as exc:  # a check's failure, reported with the operation's name
        return f"{op.method.upper()} {op.path} ({mode.value}): {exc}"
    return None


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_no_operation_answers_a_5xx_or_off_schema(
    api_schema: Any, fuzz_server: dict[str, str], mode: GenerationMode
) -> None:
    """Valid and invalid requests of every operation, as an IM officer: never a 5xx, and
    every answer as the schema describes it."""
    headers = {"Authorization": fuzz_server["officer"]}

    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=fuzz_server["base"], headers=headers, checks=CHECKS, timeout=60)  # fmt: skip

    operations = _operations(api_schema)
    assert len(operations) >= 25
    failures = [f for op in operations if (f := _fuzz(op, mode, EXAMPLES, call))]
    assert not failures, "\n\n".join(failures)


def test_other_roles_and_strangers_are_answered_never_with_a_5xx(
    api_schema: Any, fuzz_server: dict[str, str]
) -> None:
    def call(case: schemathesis.Case) -> None:
        for who in (None, "observer", "lead"):
            headers = {} if who is None else {"Authorization": fuzz_server[who]}
            case.call_and_validate(base_url=fuzz_server["base"], headers=headers, checks=[not_a_server_error], timeout=60)  # fmt: skip

    examples = max(3, EXAMPLES // 5)
    failures = [f for op in _operations(api_schema) if (f := _fuzz(op, GenerationMode.POSITIVE, examples, call))]  # fmt: skip
    assert not failures, "\n\n".join(failures)


def test_the_schema_lists_every_operation(fuzz_server: dict[str, str]) -> None:
    """The fuzzing above reaches what the schema lists: it must list the API."""
    paths = httpx.get(f"{fuzz_server['base']}/openapi.json", timeout=10).json()["paths"]
    for path in ("/api/records", "/api/records/{rtype}", "/api/stats", "/api/ingest/kobo", "/ogc/collections/{cid}/items", "/api/reports/weekly"):  # fmt: skip
        assert path in paths, path
