"""The FastAPI application: wiring, lifespan and routers."""

import asyncio
import gc
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.telemetry import TelemetryConfig

from app import background
from app.access.deps import PURPOSE_PARAMETER, names_a_purpose
from app.addresses.router import router as addresses_router
from app.analytics.router import router as analytics_router
from app.audit.anchoring import anchor_from_settings
from app.audit.router import router as audit_router
from app.audit.router import trail_router
from app.complaints.router import router as complaints_router
from app.consents.router import router as consents_router
from app.core.business_days import calendar_from_settings
from app.core.config import Settings, get_settings, resolve_secrets, resolved_settings
from app.core.crypto import keys_from_settings
from app.core.db import create_engine, session_factory
from app.core.docs import install_docs
from app.core.driver_pool import DriverPool
from app.core.errors import document_problems, install_error_handlers, problem_schema
from app.core.health import router as health_router
from app.core.migrations import head_revision
from app.core.pipeline import RequestPipeline
from app.core.security import TokenVerifier
from app.core.statements import DRIVER_POOL
from app.disclosures.router import router as disclosures_router
from app.identity.router import router as identity_router
from app.messages.router import router as messages_router
from app.observability.metrics import router as metrics_router
from app.observability.telemetry import ObservedVerifier, RequestTelemetry
from app.orders.router import router as orders_router
from app.partners.router import router as partners_router
from app.policies.router import acceptances_router as policy_acceptances_router
from app.policies.router import public_router as public_policies_router
from app.policies.router import router as policies_router
from app.policy.purposes import Purpose
from app.requests.guard import limits_from_settings
from app.requests.router import router as requests_router
from app.requests.service import Rules
from app.retention.router import router as holds_router
from app.retention.schedule import periods

DESCRIPTION = """The shop's personal data, kept and read exactly as its privacy policy says.

Every read of personal data names its purpose in `X-Purpose` and gets only the fields that
purpose allows; every read and write is audited. Errors are RFC 9457 problem details with a
machine `code`.
"""


GC_THRESHOLD = 50_000
"""Allocations between young-generation collections (Python's default is 700)."""

NO_FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's own OpenTelemetry hooks stay off: `app.observability` logs and measures every
request without personal data, while FastAPI's would record exception messages, and asking
OpenTelemetry's providers on every request costs time."""

PURPOSE_SCHEMA = {"type": "string", "enum": [p.value for p in Purpose], "title": "Purpose",
                  "description": "Why personal data is read (the purpose table decides the "
                                 "fields): " + ", ".join(p.value for p in Purpose) + "."}

BEARER_SCHEME = {
    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
    "description": "A JWT from your identity provider. In development mint one in the project "
                   "folder with `.venv/bin/privacy-api token --role support_agent --sub agent-7` "
                   "(roles: storefront, customer --sub <customer id>, support_agent, "
                   "logistics_partner --partner-id swiftship, payment_partner --partner-id "
                   "paypal, fraud_analyst, privacy_officer) and paste it here without `Bearer`.",
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the problem-details schema every error refers to."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = problem_schema()
        components["securitySchemes"] = {"bearer": BEARER_SCHEME}
        components["schemas"]["Purpose"] = PURPOSE_SCHEMA
        document_problems(schema)
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                if path.startswith("/v1/"):  # public reads declare `security: []`
                    operation.setdefault("security", [{"bearer": []}])
        for route in iter_route_contexts(app.routes):  # the routes as get_openapi sees them
            if (isinstance(route.original_route, APIRoute) and route.include_in_schema
                    and names_a_purpose(route.dependant)):
                operations = schema["paths"][route.path_format]
                for method in route.methods or ():
                    operations[method.lower()] = _with_purpose(operations[method.lower()])
        app.openapi_schema = schema
    return app.openapi_schema


def _with_purpose(operation: dict) -> dict:
    """The operation with `X-Purpose` as its last parameter (required in the contract; at run
    time a missing one is 400, not 422), keys in FastAPI's order."""
    if "parameters" in operation:
        operation["parameters"].append(PURPOSE_PARAMETER)
        return operation
    ordered: dict[str, Any] = {}
    for key, value in operation.items():
        if key in ("requestBody", "responses") and "parameters" not in ordered:
            ordered["parameters"] = [PURPOSE_PARAMETER]
        ordered[key] = value
    return ordered


class PrivacyApp(FastAPI):
    """The app, serving the OpenAPI document `_openapi` completes."""

    def openapi(self) -> dict[str, Any]:
        return _openapi(self)


def operation_id(route: APIRoute) -> str:
    """Operation ids a generated client turns into clean names: `<tag>_<route function>`."""
    return f"{route.tags[0]}_{route.name}" if route.tags else route.name


def create_app(settings: Settings | None = None, *, background_tasks: bool = True) -> FastAPI:
    """Build the app; secrets are resolved and connections opened at startup, not import.

    The background work runs inside the server when `PRIVACY_BACKGROUND_TASKS=inline` (and
    `background_tasks`, which tests turn off); with `off` a `privacy-api worker` runs it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        resolved = resolve_secrets(settings) if settings else resolved_settings()
        engine = create_engine(resolved)
        driver_pool = None if resolved.is_sqlite else DriverPool(
            engine, size=resolved.db_pool_size)
        http = httpx.AsyncClient(timeout=resolved.http_timeout_seconds)
        app.state.settings = resolved
        app.state.http = http
        app.state.engine = engine
        app.state.driver_pool = driver_pool
        app.state.sessions = session_factory(engine, {DRIVER_POOL: driver_pool})
        app.state.keys = keys_from_settings(resolved)
        app.state.verifier = ObservedVerifier(TokenVerifier(resolved, http))
        app.state.head_revision = head_revision()
        app.state.request_rules = Rules(
            calendar=calendar_from_settings(resolved),
            code_ttl=timedelta(seconds=resolved.verification_code_ttl_seconds),
            max_attempts=resolved.verification_max_attempts,
            retention=periods(resolved),
            limits=limits_from_settings(resolved))
        app.state.audit_anchor = anchor_from_settings(resolved)
        inline = background_tasks and resolved.background_tasks == "inline"
        tasks = [asyncio.create_task(background.run(
            resolved, engine=engine, sessions=app.state.sessions, keys=app.state.keys,
            http=http, anchor=app.state.audit_anchor))] if inline else []
        # Objects built at startup live as long as the process: keep them out of every
        # collection, and collect the young generation less often (full collections were the
        # main source of p99 under load, see bench/README.md).
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, 20, 50)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            await http.aclose()
            if driver_pool is not None:
                await driver_pool.close()
            await engine.dispose()

    configured = settings or get_settings()
    openapi_url = "/openapi.json" if configured.serves_docs else None
    app = PrivacyApp(title="Privacy API", version="1.0.0", description=DESCRIPTION,
                     lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=openapi_url,
                     generate_unique_id_function=operation_id, telemetry=NO_FASTAPI_TELEMETRY)
    if openapi_url:
        install_docs(app)
    app.add_middleware(RequestPipeline, settings=configured, telemetry=RequestTelemetry())
    install_error_handlers(app)
    # Routes are matched in this order, one router after another: the shop's hot reads (a
    # customer, the access log, an order) first. No two routers' paths overlap, so the order
    # decides nothing else (tests/api/test_route_inventory.py).
    for router in (identity_router, audit_router, orders_router, health_router,
                   addresses_router, messages_router, consents_router, requests_router,
                   complaints_router, trail_router, partners_router, disclosures_router,
                   public_policies_router, policies_router, policy_acceptances_router,
                   metrics_router, holds_router, analytics_router):
        app.include_router(router)
    return app


app = create_app()
