"""The explorer and reference pages load only from this service, and each error status
documents its own problem examples."""

import re

from app.core.errors import PROBLEM_EXAMPLES
from app.main import create_app


async def test_docs_pages_load_assets_only_from_this_service(client):
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""",
                          response.text)
        urls = [u for pair in urls for u in pair if u]
        assert urls, page
        assert not [u for u in urls if "//" in u], f"{page} loads from another host: {urls}"
        for url in urls:
            if url.startswith("/docs-assets/"):
                asset = await client.get(url)
                assert asset.status_code == 200 and len(asset.content) > 1000, url


async def test_authorize_dialog_says_how_to_mint_a_token(client):
    scheme = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]["bearer"]
    assert "privacy-api token --role" in scheme["description"]


def test_each_error_status_shows_its_own_examples():
    spec = create_app().openapi()
    seen = {}
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                content = response["content"]["application/problem+json"]
                codes = set(content["examples"])
                assert codes == {c for c, _, _ in PROBLEM_EXAMPLES[int(status)][1]}
                for code, reference in content["examples"].items():
                    example = spec["components"]["examples"][reference["$ref"].split("/")[-1]]
                    assert example["value"]["status"] == int(status)
                    assert example["value"]["code"] == code
                    assert f"`{code}`" in response["description"]
                seen[int(status)] = codes
    assert {400, 401, 403, 404, 410, 422, 503} <= set(seen)
    assert all(seen[a].isdisjoint(seen[b]) for a in seen for b in seen if a != b)
