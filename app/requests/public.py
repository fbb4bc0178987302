"""What other domains may use of requests: recording a partner's confirmation."""

from app.requests.fanout import note_confirmation

__all__ = ["note_confirmation"]
