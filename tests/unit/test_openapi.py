"""Each API's OpenAPI document validates and lists exactly the routes its app serves."""

from __future__ import annotations

import re

import falcon.inspect
import falcon.testing
import pytest
from openapi_spec_validator import validate

from api import invoke, upload
from api.openapi import invoke_document, upload_document

APPS = {
    "upload": (upload.create_app, upload_document),
    "invoke": (invoke.create_app, invoke_document),
}


def served_operations(app: falcon.App) -> set[tuple[str, str]]:
    """(path, method) of every responder the app's resources define (not Falcon's own)."""
    return {(route.path, method.method.lower())
            for route in falcon.inspect.inspect_app(app).routes
            for method in route.methods if not method.internal}


def documented_operations(document: dict) -> set[tuple[str, str]]:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {(path, method) for path, item in document["paths"].items()
            for method in item if method in methods}


@pytest.mark.parametrize("name", APPS)
def test_document_validates(name):
    validate(APPS[name][1]())


@pytest.mark.parametrize("name", APPS)
def test_every_route_is_documented_and_nothing_else(name):
    create_app, document = APPS[name]
    served = served_operations(create_app(None))
    assert served, "the app registers no routes?"
    documented = documented_operations(document())
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented operations the app does not serve"


@pytest.mark.parametrize("name", APPS)
def test_the_app_serves_its_own_document(name):
    create_app, document = APPS[name]
    client = falcon.testing.TestClient(create_app(None))
    r = client.simulate_get("/openapi.json")
    assert r.status_code == 200 and r.json == document()
    assert client.simulate_get("/ping").text == "PONG"


def test_path_parameters_match_the_templates():
    for document in (upload_document(), invoke_document()):
        for path, item in document["paths"].items():
            names = {p["name"] for p in item.get("parameters", [])
                     if p["in"] == "path"}
            for op in item.values():
                if isinstance(op, dict) and "responses" in op:
                    names |= {p["name"] for p in op.get("parameters", [])
                              if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), path
