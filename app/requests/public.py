"""What other domains may use of requests: recording a partner's confirmation, and finishing
deletions whose erasure was interrupted."""

from app.requests.erasure import finish_erasures
from app.requests.fanout import note_confirmation

__all__ = ["finish_erasures", "note_confirmation"]
