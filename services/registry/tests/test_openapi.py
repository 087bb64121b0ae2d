"""The OpenAPI document names every route's errors, and its request bodies carry examples."""

from typing import Any

from fastapi import FastAPI


def test_every_route_documents_its_problems(registry_app: FastAPI) -> None:
    document = registry_app.openapi()
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if path.startswith("/v1/")
    ]
    assert len(operations) == 12
    for path, method, op in operations:
        assert op.get("summary"), (path, method)
        codes = set(op["responses"])
        assert {"401", "422"} <= codes, (path, method, codes)
        problem = op["responses"]["401"]["content"]
        assert "application/problem+json" in problem, (path, method)
        if "/{brand_id}" in path:
            assert "404" in codes, (path, method)
        if method in {"post", "patch"} and path != "/v1/brands":
            assert "403" in codes, (path, method)


def test_request_bodies_have_examples(registry_app: FastAPI) -> None:
    schemas: dict[str, Any] = registry_app.openapi()["components"]["schemas"]
    for name in ("BrandCreate", "BrandPatch", "IndicatorsIn"):
        assert schemas[name].get("examples"), name
