"""The OpenAPI document names every route's errors, and its request bodies carry examples."""

from typing import Any

from fastapi import FastAPI

from laborcoop.testing import assert_routes_document_problems


def test_every_route_documents_its_problems(registry_app: FastAPI) -> None:
    assert_routes_document_problems(
        registry_app, expected_routes=12, resource="{brand_id}", commands_answer={"403", "409"}
    )


def test_request_bodies_have_examples(registry_app: FastAPI) -> None:
    schemas: dict[str, Any] = registry_app.openapi()["components"]["schemas"]
    for name in ("BrandCreate", "BrandPatch", "IndicatorsIn"):
        assert schemas[name].get("examples"), name
