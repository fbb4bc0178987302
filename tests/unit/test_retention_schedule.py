"""The retention schedule as data: every category has a period setting, an end and a query."""

from app.core.config import Settings
from app.retention.job import lock_key
from app.retention.rules import EXPIRED
from app.retention.schedule import SCHEDULE, Category, EndAction, kept_for, periods


def test_every_category_is_scheduled_once_with_a_setting_and_a_query():
    scheduled = [rule.category for rule in SCHEDULE]
    assert sorted(scheduled) == sorted(Category) and len(set(scheduled)) == len(scheduled)
    assert set(EXPIRED) == set(Category)
    for rule in SCHEDULE:
        assert rule.setting in Settings.model_fields, rule
        assert Settings.model_fields[rule.setting].description


def test_orders_are_anonymized_after_the_legal_period_and_deleted_for_deleted_customers():
    by_category = {rule.category: rule for rule in SCHEDULE}
    assert by_category[Category.ORDERS].action is EndAction.ANONYMIZE
    assert by_category[Category.PSEUDONYMIZED_ORDERS].action is EndAction.DELETE
    assert by_category[Category.ORDERS].setting == "order_retention_days"


def test_periods_follow_the_settings():
    settings = Settings(_env_file=None, order_retention_days=400, retention_messages_days=7)
    days = periods(settings)
    assert days[Category.ORDERS] == days[Category.PSEUDONYMIZED_ORDERS] == 400
    assert days[Category.MESSAGES] == 7
    assert kept_for(SCHEDULE[2], 7) == "7 days after the customer's last message, then deleted"


def test_each_category_has_its_own_advisory_lock():
    assert len({lock_key(category) for category in Category}) == len(Category)
