"""Pure functions that turn the purpose table into decisions about one read."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.policy.purposes import PURPOSE_TABLE, RESOURCE_FIELDS, Purpose, Resource
from app.policy.roles import Role


class Reason(StrEnum):
    """Why a read is allowed or not; "denied" is told apart from "not configured"."""

    PERMITTED = "permitted"
    UNKNOWN_PURPOSE = "unknown_purpose"
    ROLE_NOT_PERMITTED = "role_not_permitted"
    RESOURCE_NOT_COVERED = "resource_not_covered"
    GONE_AFTER_DELIVERY = "gone_after_delivery"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one policy check, with the fields the read may return, in order."""

    reason: Reason
    fields: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the read may go ahead."""
        return self.reason is Reason.PERMITTED


def parse_purpose(value: str) -> Purpose | None:
    """The purpose named by `value`, or None if the table has no such purpose."""
    try:
        return Purpose(value)
    except ValueError:
        return None


def role_may_use(role: Role, purpose: Purpose) -> Reason:
    """Whether a role may read anything at all for a purpose."""
    if role in PURPOSE_TABLE[purpose].roles:
        return Reason.PERMITTED
    return Reason.ROLE_NOT_PERMITTED


def decide(
    role: Role, purpose: Purpose, resource: Resource, *, delivered: bool = False
) -> Decision:
    """Decide which fields of `resource` a role may read for a purpose."""
    rule = PURPOSE_TABLE[purpose]
    if role not in rule.roles:
        return Decision(Reason.ROLE_NOT_PERMITTED)
    allowed = rule.fields.get(resource)
    if not allowed:
        return Decision(Reason.RESOURCE_NOT_COVERED)
    if delivered and role in rule.gone_when_delivered_for:
        return Decision(Reason.GONE_AFTER_DELIVERY)
    allowed = allowed - rule.hidden_from.get(role, frozenset())
    if delivered:
        allowed = allowed - rule.sealed_when_delivered
    return Decision(Reason.PERMITTED, tuple(f for f in RESOURCE_FIELDS[resource] if f in allowed))


def project(fields: tuple[str, ...], readers: Mapping[str, Callable[..., Any]], *record: Any
            ) -> dict:
    """Build the view of a record holding exactly `fields`, computing only those values."""
    return {name: readers[name](*record) for name in fields}


def purposes_for(role: Role) -> list[Purpose]:
    """The purposes a role may name."""
    return [p for p, rule in PURPOSE_TABLE.items() if role in rule.roles]
