"""Cheap polling of public policy reads: strong ETags, `If-None-Match` and `Cache-Control`."""

import hashlib
import json
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder

SHORT = "public, max-age=60"
"""For answers that change when a version is published, withdrawn or takes effect."""
FINAL = "public, max-age=86400"
"""For a version that took effect or was withdrawn: nothing about it changes any more."""

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` ETag still holds."}}


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def cached_json(request: Request, content, *, cache_control: str) -> Response:
    """The JSON response with a strong ETag of its bytes, or 304 if the caller has it."""
    body = json.dumps(jsonable_encoder(content), separators=(",", ":"),
                      ensure_ascii=False).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
