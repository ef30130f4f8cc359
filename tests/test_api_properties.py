"""A property-based run of the REST API from its own OpenAPI document (schemathesis): every
operation, with valid and invalid input, against the real Flask app on a real store, as a
real officer with a real API token; no answer may be a server error."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from admin_app import create_app
from tests.helpers import BAGMATI, HETAUDA, MAKWANPUR, SUBMISSION, FakeClock, file
from tests.test_api import token_for
from ticketing.store.db import Store

Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]
# Enough to find the classic mistakes (types, lengths, ranges, encodings) in well under a minute.
EXAMPLES_PER_OPERATION = 25


def steered(operation: Operation, mode: GenerationMode, known: dict[str, Any]) -> st.SearchStrategy[Case]:
    """The operation's generated requests; half of them name the case, project, place and so
    on that exist wherever they name one, so that the run gets past "not found" to the work."""

    @st.composite
    def cases(draw: st.DrawFn) -> Case:
        case: Case = draw(operation.as_strategy(generation_mode=mode))
        if draw(st.booleans()):
            for given_values in (case.path_parameters, case.body):
                if isinstance(given_values, dict):
                    given_values.update({name: known[name] for name in given_values if name in known})
        if isinstance(case.path_parameters, dict):
            # A client escapes "?" and "#" in a path segment; sent raw, werkzeug's test client
            # takes them for a query string or a fragment and refuses the request itself.
            case.path_parameters = {
                name: value.replace("?", "%3F").replace("#", "%23") if isinstance(value, str) else value
                for name, value in case.path_parameters.items()
            }
        return case

    return cases()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_the_document_allows_gets_a_server_error(
    demo: Store, clock: FakeClock, mode: GenerationMode
) -> None:
    case_on_file = file(demo, clock)
    known = {
        "reference": case_on_file.reference,
        "project_code": "KKR-01",
        "phone": SUBMISSION.phone,
        "email": "citizen@example.org",
        "language": "ne",
        "category_code": "environment.dust",
        "province_id": BAGMATI,
        "district_id": MAKWANPUR,
        "municipality_id": HETAUDA,
        "ward": 4,
    }
    app = create_app({"TESTING": True, "GRM_STORE": demo, "SECRET_KEY": "test"})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    token = token_for(demo, clock, "admin@grm.example")
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) == 5

    for operation in operations:
        # From many addresses: the status lookup stops a single one after a few failures.
        @given(case=steered(operation, mode, known), address=st.ip_addresses(v=4).map(str))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Case, address: str) -> None:
            response = case.call(headers=token, environ_base={"REMOTE_ADDR": address})
            case.validate_response(response, checks=[not_a_server_error])

        run()
