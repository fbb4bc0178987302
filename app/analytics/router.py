"""De-identified analytics routes, for the analyst (`X-Purpose: optimisation`)."""

from typing import Annotated

from fastapi import Query, Request

from app.access.deps import ReaderDep
from app.analytics import service
from app.analytics.repository import DIMENSIONS
from app.analytics.schemas import OrderAggregates
from app.core.errors import PROBLEM_RESPONSES
from app.core.routing import api_router

router = api_router(prefix="/v1/analytics", tags=["analytics"], responses=PROBLEM_RESPONSES)


@router.get("/orders", response_model=OrderAggregates, response_model_exclude_unset=True,
            summary="Order aggregates by week, region and payment method")
async def order_aggregates(caller: ReaderDep, request: Request, group_by: Annotated[str, Query(
        description=f"Comma-separated dimensions: {', '.join(DIMENSIONS)}.",
        examples=["week,country"])] = "week"):
    """Orders, amounts, average delivery time and complaints per group; never one row per
    person, and groups of fewer than `PRIVACY_ANALYTICS_MIN_GROUP` customers are left out."""
    return await service.order_aggregates(
        caller, service.parse_group_by(group_by),
        k=request.app.state.settings.analytics_min_group)
