"""Property-based run of the whole API against its own OpenAPI schema (schemathesis 4).

Bounded: a handful of examples per operation, derandomized, no example database, so
it takes seconds and gives the same verdict on every run.
"""

import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backoffice.wsgi import application
from store.tests.factories import ProductFactory, product_image
from store.tests.variants.conftest import make_parent, make_variant

# Valid requests must conform fully; invalid ones (junk parameters) must not crash.
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 10


@pytest.fixture
def api_schema(db):
    """The schema, loaded through the WSGI app like every call after it.

    Like Django's test client, keep request_started/finished from closing the test's
    connection (it is inside the test transaction).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.slow
def test_every_operation_conforms_to_the_schema(api_schema):
    ProductFactory.create_batch(3)
    # A product with variants (one with its image): options, variants, price range conform too.
    parent = make_parent()
    make_variant(parent, "Green", "S", variant_image=product_image(parent, thumbnail=False))
    make_variant(parent, "Blue", "S", track_inventory=False)
    # A draft: a tombstone in the sync feed, which must conform too.
    ProductFactory(status="draft")
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 8, [op.label for op in operations]
    for operation, mode in itertools.product(operations, MODES):
        check_operation(operation, mode=mode)


def check_operation(operation, *, mode):
    """Generate cases for one operation in one mode and validate every response."""
    checks = CHECKS if mode is GenerationMode.POSITIVE else [not_a_server_error]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case):
        case.call_and_validate(checks=checks)

    conforms()
