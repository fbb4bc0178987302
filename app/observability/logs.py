"""Log setup: the level and format of the app's loggers.

Log lines carry ids, roles, routes and codes, never personal values: the access line names the
route template (`/v1/customers/{customer_id}`), not the path a client sent.
"""

import json
import logging
import logging.config
from datetime import UTC, datetime

from app.core.middleware import request_id_var

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
QUIET_LOGGERS = ("alembic.runtime.plugins",)


class _RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request it was logged in."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the fields given as `extra={"fields": {...}}` are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


def logging_config(*, level: str, style: str) -> dict:
    """A `logging.config.dictConfig` sending every logger to stderr at `level`, as text or JSON
    lines; uvicorn applies it in each worker process too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}._RequestIdFilter"}},
        "formatters": {"text": {"format": TEXT_FORMAT},
                       "json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "filters": ["request_id"],
                                "formatter": style}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            **{name: {"level": "WARNING"} for name in QUIET_LOGGERS},
            **{name: {"handlers": [], "propagate": True}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
        },
    }


def configure_logging(*, level: str, style: str) -> None:
    """Send every logger to stderr at `level`, as text or JSON lines."""
    logging.config.dictConfig(logging_config(level=level, style=style))
