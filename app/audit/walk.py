"""Walking the sealed chain in seq order and naming what is wrong with it, in constant memory.

The walk keeps only the previous link, a small look-ahead window (to tell a reordering from a
rewrite) and the next checkpoint, so it costs the same memory at ten entries or ten million.
"""

from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from app.audit.checkpoints import Checkpoint
from app.audit.hashing import link, mac_ok

WINDOW = 64
MAX_FINDINGS = 50


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the trail; `kind` is edited, forged, missing, duplicate,
    reordered, rewritten, rewound, truncated, wiped, pulled or checkpoint."""

    kind: str
    message: str


@dataclass
class Walk:
    """The state of a walk along the chain, starting after (seq, chain)."""

    key: bytes
    seq: int
    chain: str
    checkpoints: Iterator[Checkpoint]
    checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    omitted: int = 0
    _checkpoint: Checkpoint | None = None
    _last_id: str | None = None
    _run: list[int] = field(default_factory=list)
    _explained: set[int] = field(default_factory=set)
    _resume: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._checkpoint = next(self.checkpoints, None)

    def find(self, kind: str, message: str) -> None:
        """Record a finding, keeping at most MAX_FINDINGS."""
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(kind, message))
        else:
            self.omitted += 1

    async def run(self, rows: AsyncIterator[dict], on_batch=None, every: int = 10_000) -> None:
        """Check every row, in seq order, with a look-ahead window."""
        window: deque[dict] = deque()
        async for row in rows:
            window.append(row)
            if len(window) > WINDOW:
                self._step(window.popleft(), window)
                if on_batch and self.checked % every == 0:
                    on_batch(self.checked, self.seq)
        while window:
            self._step(window.popleft(), window)
        self._close_run()
        if on_batch:
            on_batch(self.checked, self.seq)

    def _step(self, row: dict, ahead: deque[dict]) -> None:
        seq, mac, stored = row["seq"], row["entry_mac"], row["chain_hash"]
        self.checked += 1
        if seq == self.seq:
            self._close_run()
            self.find("duplicate", f"seq {seq} is taken twice (entries {self._last_id} and "
                                   f"{row['id']})")
            return
        checkable = seq == self.seq + 1 and seq not in self._explained
        if seq > self.seq + 1:
            self._close_run()
            gap = f"entry seq {self.seq + 1} is" if seq == self.seq + 2 else \
                f"entries seq {self.seq + 1}-{seq - 1} are"
            self.find("missing", f"{gap} missing (deleted) before entry seq {seq} "
                                 f"(id {row['id']})")
        if not mac_ok(self.key, row, mac):
            self._close_run()
            self.find("edited", f"entry seq {seq} (id {row['id']}) was edited: its MAC does "
                                "not verify")
        elif checkable and link(self.key, self.chain, mac) != stored:
            if not self._reordered(row, ahead):
                self._run.append(seq)
        else:
            self._close_run()
        chain = self._resume.pop(seq, stored)
        self._check_against_checkpoint(seq, chain)
        self.seq, self.chain, self._last_id = seq, chain, row["id"]

    def _reordered(self, row: dict, ahead: deque[dict]) -> bool:
        """Whether the broken link is explained by `row` trading places with a later entry."""
        for other in ahead:
            moved_seq = other["chain_hash"] and link(
                self.key, other["chain_hash"], row["entry_mac"]) == row["chain_hash"]
            moved_content = link(self.key, self.chain, other["entry_mac"]) == row["chain_hash"]
            if moved_seq or moved_content:
                self._close_run()
                self.find("reordered", f"entries seq {row['seq']} and seq {other['seq']} were "
                                       f"reordered (ids {row['id']} and {other['id']} swapped "
                                       "places in the chain)")
                self._explained.add(other["seq"])
                if moved_seq:
                    self._resume[other["seq"]] = row["chain_hash"]
                return True
        return False

    def _close_run(self) -> None:
        if not self._run:
            return
        first, last = self._run[0], self._run[-1]
        span = f"entry seq {first} does" if first == last else \
            f"entries seq {first}-{last} do"
        self.find("rewritten", f"{span} not link to the entry before: the chain hashes were "
                               "recomputed without the audit key")
        self._run.clear()

    def _check_against_checkpoint(self, seq: int, chain: str) -> None:
        while self._checkpoint and self._checkpoint.seq < seq:
            self._checkpoint = next(self.checkpoints, None)
        if self._checkpoint and self._checkpoint.seq == seq:
            if chain != self._checkpoint.chain_hash:
                self.find("rewritten", f"entry seq {seq} does not match the checkpoint of "
                                       f"{self._checkpoint.at.isoformat()}: the chain up to it "
                                       "was rewritten")
            self._checkpoint = next(self.checkpoints, None)
