"""The words of a policy change notice: an email, or a short SMS. No personal values."""

from app.policies.models import PolicyVersion

SMS_SUMMARY_LENGTH = 90


def _day(policy: PolicyVersion) -> str:
    return policy.effective_at.strftime("%d %B %Y")


def notice_email(policy: PolicyVersion) -> tuple[str, str]:
    """Subject and body of the notice email."""
    subject = f"Our privacy policy changes on {_day(policy)}"
    body = (
        f"Hello,\n\nwe are updating our privacy policy. Version {policy.version} "
        f"(\"{policy.label}\") takes effect on {_day(policy)} "
        f"({policy.effective_at:%H:%M} UTC).\n\n"
        f"What changes:\n{policy.summary}\n\n"
        "The full text is posted on our website, app and order pages during the notice "
        "period. If you continue to use our services after the change takes effect, you "
        "agree to the updated policy.\n\n"
        "Questions: service@mail.ximorent.com (Monday to Friday, 9:00-18:00 UTC+8).\n")
    return subject, body


def notice_sms(policy: PolicyVersion) -> tuple[str, str]:
    """Subject (kept in the outbox, not sent) and text of the notice SMS."""
    summary = policy.summary.replace("\n", " ").strip()
    if len(summary) > SMS_SUMMARY_LENGTH:
        summary = summary[:SMS_SUMMARY_LENGTH - 3].rstrip() + "..."
    text = (f"Privacy policy update: version {policy.version} takes effect {_day(policy)}. "
            f"{summary} Full text on our website.")
    return f"Privacy policy version {policy.version}", text
