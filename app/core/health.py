"""Liveness and readiness probes; public by design, they reveal no data."""

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from app.core.errors import problem_response
from app.core.migrations import current_revision
from app.core.routing import api_router

router = api_router(tags=["health"])


class Health(BaseModel):
    """Probe result."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str
    schema_revision: str | None = None


@router.get("/health", response_model=Health, response_model_exclude_none=True,
            summary="Process is up")
async def health() -> Health:
    """Answers as long as the process serves requests."""
    return Health(status="ok")


@router.get("/ready", response_model=Health, summary="Ready to serve",
            responses={503: {"description": "Database unreachable or schema not at head"}})
async def ready(request: Request) -> Health | JSONResponse:
    """Ready when the database answers and its schema is at the newest migration."""
    try:
        revision = await current_revision(request.app.state.engine)
    except Exception:
        return problem_response(status=503, code="database_unreachable", title="Not ready",
                                detail="The database does not answer.")
    if revision != request.app.state.head_revision:
        return problem_response(status=503, code="schema_not_current", title="Not ready",
                                detail="The database schema is not at the newest migration; "
                                       "run `privacy-api migrate`.")
    return Health(status="ready", schema_revision=revision)
