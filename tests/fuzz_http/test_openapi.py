"""GET /openapi.json: a valid OpenAPI 3.1 document generated from the routes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.definitions import OPENAPI_31

from asgi_app import openapi
from asgi_app import validation as v
from asgi_app.http import App, Request, Response
from asgi_app.overlay.schema import OVERLAY_DATA
from asgi_app.routes.discord import PRESENCE
from tests.support.campaigns.fuzz_http.live import LiveServer
from tests.support.harness.server import serve


@pytest.fixture(scope="module")
def document(live: LiveServer) -> dict[str, Any]:
    r = httpx.get(live.base_url + "/openapi.json")  # public: no Authorization
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    doc: dict[str, Any] = r.json()
    return doc


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_document_validates_against_the_openapi_31_meta_schema(document: dict[str, Any]) -> None:
    errors = [e.message for e in jsonschema_rs.validator_for(OPENAPI_31).iter_errors(document)]
    assert errors == []
    assert document["openapi"].startswith("3.1")


def test_document_passes_openapi_spec_validator(document: dict[str, Any]) -> None:
    try:
        from openapi_spec_validator import validate
    except ImportError:  # pragma: no cover - optional dev tool
        if os.environ.get("REQUIRE_ALL") == "1":
            pytest.fail("openapi-spec-validator is not installed (REQUIRE_ALL=1)")
        pytest.skip("openapi-spec-validator is not installed")
    validate(document)  # raises on any problem, nested JSON Schemas included


def test_schemathesis_loads_every_operation(document: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_dict(document)
    loaded = set()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # Err: schemathesis found the operation invalid
        loaded.add(result.ok().label)
    assert loaded == {f"{m.upper()} {p}" for p, m, _ in _operations(document)}


def test_every_route_appears_and_mounts_do_not(live: LiveServer, document: dict[str, Any]) -> None:
    expected = set()
    for route in live.app.routes:
        template, _ = openapi.split_path(route.path)
        expected |= {(template, m.lower()) for m in route.methods}
    documented = {(path, method) for path, method, _ in _operations(document)}
    assert documented == expected
    assert ("/openapi.json", "get") in documented
    assert ("/overlay/{name}", "post") in documented
    assert not any(path.startswith("/socket.io") for path, _ in documented)


def test_info_tags_and_unique_operation_ids(document: dict[str, Any]) -> None:
    assert document["info"]["version"] == metadata.version("draft-league-companion")
    assert document["info"]["title"]
    ids = [op["operationId"] for _, _, op in _operations(document)]
    assert len(ids) == len(set(ids))
    tags = {t["name"] for t in document["tags"]}
    assert {"overlay", "discord", "status", "meta"} <= tags
    for _, _, op in _operations(document):
        assert op["summary"]
        assert set(op.get("tags", [])) <= tags


def test_overlay_post_documents_its_body_and_problems(document: dict[str, Any]) -> None:
    for path in ("/overlay", "/overlay/{name}"):
        op = document["paths"][path]["post"]
        body = op["requestBody"]
        assert body["required"] is True
        schema = body["content"]["application/json"]["schema"]
        expected = OVERLAY_DATA.json_schema()
        del expected["$schema"]
        assert schema == expected
        assert schema["required"] == ["blue", "red", "maxScore"]
        team = schema["properties"]["blue"]
        assert team["properties"]["score"] == {"type": "integer", "minimum": 0}
        assert set(team["required"]) == {
            "score",
            "name",
            "primaryColor",
            "secondaryColor",
            "logoUrl",
        }
        assert schema["properties"]["maxScore"] == {"type": "integer", "minimum": 1}
        assert "additionalProperties" not in schema  # other keys are kept (passthrough)
        assert op["security"] == [{openapi.SECURITY_SCHEME: []}]
        codes = set(op["responses"])
        assert {"200", "400", "401", "403", "404", "413", "415", "422", "429", "500"} <= codes
    (param,) = document["paths"]["/overlay/{name}"]["post"]["parameters"]
    assert param["in"] == "path" and param["name"] == "name" and param["required"] is True
    assert param["schema"]["type"] == "string"


def test_presence_post_documents_its_strict_body(document: dict[str, Any]) -> None:
    op = document["paths"]["/discord/presence"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["status"]["enum"] == ["online", "idle", "dnd", "invisible"]
    assert schema["properties"]["type"] == {"type": "integer", "minimum": 0, "maximum": 5}
    assert schema["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 128}
    assert schema["required"] == ["status", "type", "name"]
    assert schema["additionalProperties"] is False
    expected = PRESENCE.json_schema()
    del expected["$schema"]
    assert schema == expected


def test_security_only_on_protected_routes(live: LiveServer, document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"][openapi.SECURITY_SCHEME]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "Authorization"}
    assert "security" not in document  # no global requirement: public routes stay public
    for route in live.app.routes:
        template, _ = openapi.split_path(route.path)
        for method in route.methods:
            op = document["paths"][template][method.lower()]
            protected = bool(route.meta.get("security"))
            assert ("security" in op) is protected, (method, route.path)
            assert ("401" in op["responses"]) is protected
            assert ("requestBody" in op) is (route.body is not None)
            assert ("422" in op["responses"]) is (route.body is not None)
    assert "security" not in document["paths"]["/"]["get"]
    assert "security" not in document["paths"]["/openapi.json"]["get"]
    assert document["paths"]["/health/detailed"]["get"]["security"]


def test_real_problem_answers_match_the_documented_schema(
    live: LiveServer, document: dict[str, Any]
) -> None:
    validator = jsonschema_rs.validator_for(
        {
            **document["components"]["schemas"]["Problem"],
            "$schema": "https://json-schema.org/draft/2020-12/schema",
        }
    )
    answers = [
        httpx.post(live.base_url + "/overlay", json={"blue": {}}, headers=live.auth),  # 422
        httpx.post(
            live.base_url + "/overlay",
            content=b"{",
            headers={**live.auth, "content-type": "application/json"},
        ),
        httpx.get(live.base_url + "/overlay"),  # 401
        httpx.get(live.base_url + "/nowhere"),  # 404
        httpx.put(live.base_url + "/overlay", headers=live.auth),  # 405
    ]
    assert [a.status_code for a in answers] == [422, 400, 401, 404, 405]
    for answer in answers:
        assert answer.headers["content-type"] == openapi.PROBLEM_JSON
        assert validator.is_valid(answer.json()), answer.text


# -- the generator on a plain App -------------------------------------------------------
async def _ok(req: Request, res: Response) -> None:
    res.json({"ok": True})


def test_path_parameters_take_their_types_from_the_convertors() -> None:
    app = App()
    app.get("/items/{id:int}/files/{rest:path}", _ok)
    app.get("/teams/{name}", _ok)
    doc = openapi.build_document(app.routes, version="1.2.3")
    params = doc["paths"]["/items/{id}/files/{rest}"]["get"]["parameters"]
    assert [(p["name"], p["schema"]["type"]) for p in params] == [
        ("id", "integer"),
        ("rest", "string"),
    ]
    assert params[0]["schema"]["minimum"] == 0
    (name,) = doc["paths"]["/teams/{name}"]["get"]["parameters"]
    assert name["schema"] == {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
    assert all(p["required"] is True and p["in"] == "path" for p in [*params, name])
    assert doc["info"]["version"] == "1.2.3"


def test_head_and_options_are_implied_and_same_path_methods_merge() -> None:
    app = App()
    app.route("/x", ["GET", "HEAD", "OPTIONS"], _ok)
    app.post("/x", _ok, body=v.object({"n": v.int()}), meta=openapi.SECURED)
    doc = openapi.build_document(app.routes)
    assert set(doc["paths"]["/x"]) == {"get", "post"}
    assert doc["paths"]["/x"]["post"]["operationId"] == "post_x"


def test_a_body_schema_without_json_schema_is_still_documented() -> None:
    class Opaque:
        def safe_parse(self, value: Any) -> Any:  # pragma: no cover - never called here
            raise NotImplementedError

    app = App()
    app.post("/opaque", _ok, body=Opaque())
    doc = openapi.build_document(app.routes)
    schema = doc["paths"]["/opaque"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "description" in schema


async def test_document_is_generated_once_on_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = openapi.build_document

    def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(openapi, "build_document", counting)
    app = App()
    app.get("/a", _ok, summary="A")
    openapi.register(app)
    app.mount("/socket.io", _ok_asgi)
    assert calls == []  # nothing at registration: routes may still be added
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        first = await client.get("/openapi.json")
        second = await client.get("/openapi.json")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert calls == [1]
    assert set(first.json()["paths"]) == {"/a", "/openapi.json"}


async def _ok_asgi(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - unused
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
