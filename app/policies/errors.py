"""Policy errors.

    NotFound: PolicyVersionNotFound (404 `policy_version_not_found`),
              NoUpcomingPolicy (404 `no_upcoming_policy`)
    Unprocessable: NoticePeriodTooShort (422 `notice_period_too_short`)
    Conflict: PolicyAlreadyEffective (409 `policy_already_effective`),
              PolicyWithdrawn (409 `policy_withdrawn`),
              PolicyVersionTaken (409 `policy_version_taken`)
"""

from app.core.errors import Conflict, NotFound, Unprocessable


class PolicyVersionNotFound(NotFound):
    code, title = "policy_version_not_found", "Policy version not found"


class NoUpcomingPolicy(NotFound):
    code, title = "no_upcoming_policy", "No upcoming policy"


class NoticePeriodTooShort(Unprocessable):
    code, title = "notice_period_too_short", "Notice period too short"


class PolicyAlreadyEffective(Conflict):
    code, title = "policy_already_effective", "Policy already in effect"


class PolicyWithdrawn(Conflict):
    code, title = "policy_withdrawn", "Policy withdrawn"


class PolicyVersionTaken(Conflict):
    code, title = "policy_version_taken", "Policy version taken"
