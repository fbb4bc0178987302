"""openapi.yaml is the contract: it must equal what the app serves."""

import json
from pathlib import Path

import yaml

from app.main import create_app

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.yaml"


def _served() -> dict:
    return json.loads(json.dumps(create_app().openapi()))


def test_openapi_yaml_equals_the_served_document():
    committed = yaml.safe_load(CONTRACT.read_text())
    assert committed == _served(), "openapi.yaml is stale: run `make openapi` and commit it"


async def test_served_openapi_json_matches(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == yaml.safe_load(CONTRACT.read_text())


def test_every_operation_has_summary_tag_and_examples():
    spec = _served()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            assert operation.get("tags"), f"{where} has no tag"
            body = operation.get("requestBody")
            if body:
                ref = body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
                assert spec["components"]["schemas"][ref].get("examples"), f"{where}: no example"


def test_errors_are_documented_as_problem_details():
    spec = _served()
    problem = spec["paths"]["/v1/customers/{customer_id}"]["get"]["responses"]["400"]
    assert problem["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}
    assert "code" in spec["components"]["schemas"]["Problem"]["properties"]
