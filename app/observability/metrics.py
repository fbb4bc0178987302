"""Prometheus metrics: request counts and latency, policy denials, and work waiting.

Counters and histograms live in this module's registry and are fed by the telemetry
middleware; the backlog gauges are counted with a few cheap queries at scrape time. `/metrics`
answers only when `PRIVACY_METRICS_ENABLED` is true (default: in development only).
"""

from fastapi import Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.complaints.models import Complaint
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.routing import api_router
from app.outbox.models import OutboxMessage
from app.requests.models import PrivacyRequest, is_open

REGISTRY = CollectorRegistry()
REQUESTS = Counter("privacy_api_requests", "HTTP requests answered.",
                   ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("privacy_api_request_duration_seconds", "Time to answer a request.",
                    ["method", "route", "status"], registry=REGISTRY)
DENIALS = Counter("privacy_api_policy_denials", "Requests refused by the policy (403), by reason.",
                  ["reason"], registry=REGISTRY)
UNSEALED = Gauge("privacy_api_audit_unsealed_entries",
                 "Audit entries not yet linked into the chain.", registry=REGISTRY)
OUTBOX = Gauge("privacy_api_outbox_messages", "Outbox messages by state.", ["state"],
               registry=REGISTRY)
RIGHTS_REQUESTS = Gauge("privacy_api_rights_requests",
                        "Privacy rights requests not closed (open) and past their due time "
                        "(overdue).", ["state"], registry=REGISTRY)
COMPLAINTS = Gauge("privacy_api_complaints",
                   "Complaints and inquiries not answered (open) and past their due time "
                   "(overdue).", ["state"], registry=REGISTRY)

router = api_router(include_in_schema=False)


_answered: dict[tuple[str, str, int], tuple] = {}
"""The request counter and latency histogram of each (method, route, status), looked up once."""


def record_request(*, method: str, route: str, status: int, seconds: float,
                   problem_code: str | None) -> None:
    """Count one answered request; a 403 with a problem code is a policy denial."""
    series = _answered.get((method, route, status))
    if series is None:
        series = _answered[method, route, status] = (
            REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route, str(status)))
    series[0].inc()
    series[1].observe(seconds)
    if status == 403 and problem_code:
        DENIALS.labels(problem_code).inc()


def metrics_enabled(settings) -> bool:
    """Whether `/metrics` answers: as configured, else only in development."""
    if settings.metrics_enabled is not None:
        return settings.metrics_enabled
    return settings.environment == "development"


async def _count_backlog(sessions) -> None:
    now = utcnow()
    count = select(func.count())
    pending = OutboxMessage.sent_at.is_(None) & OutboxMessage.failed_at.is_(None)
    open_request = is_open()  # counted from the partial index of the open requests
    open_complaint = Complaint.answered_at.is_(None)
    queries = {
        UNSEALED: count.select_from(AuditEntry).where(AuditEntry.seq.is_(None)),
        OUTBOX.labels("pending"): count.select_from(OutboxMessage).where(pending),
        OUTBOX.labels("failed"): count.select_from(OutboxMessage)
        .where(OutboxMessage.failed_at.is_not(None)),
        RIGHTS_REQUESTS.labels("open"): count.select_from(PrivacyRequest).where(open_request),
        RIGHTS_REQUESTS.labels("overdue"): count.select_from(PrivacyRequest)
        .where(open_request, PrivacyRequest.due_at < now),
        COMPLAINTS.labels("open"): count.select_from(Complaint).where(open_complaint),
        COMPLAINTS.labels("overdue"): count.select_from(Complaint)
        .where(open_complaint, Complaint.due_at < now),
    }
    async with sessions() as session:
        for gauge, query in queries.items():
            gauge.set(await session.scalar(query))


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text format; 404 unless metrics are enabled."""
    if not metrics_enabled(request.app.state.settings):
        raise NotFound("Metrics are not enabled (PRIVACY_METRICS_ENABLED).")
    await _count_backlog(request.app.state.sessions)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
