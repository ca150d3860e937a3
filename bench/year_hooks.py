"""Follow the webhook receiver's log (JSON lines) and note, per episode, when the first webhooks arrived."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Hooks:
    """Reads what the receiver appended since the last call; wall times come from `received_unix`."""

    path: Path
    first: dict[str, float] = field(default_factory=dict)  # episode id -> first accepted webhook about it
    opened: dict[str, float] = field(default_factory=dict)  # episode id -> its rhi.opened webhook
    types: Counter[str] = field(default_factory=Counter)
    rejected: int = 0  # not verified or not 2xx
    duplicates: int = 0
    last: float = 0.0  # wall time of the newest accepted webhook
    _offset: int = 0
    _partial: bytes = b""

    def poll(self) -> int:
        """Read new lines; return how many accepted webhooks they held."""
        if not self.path.exists():
            return 0
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # a line still being written
        return sum(self._take(json.loads(line)) for line in lines if line)

    def _take(self, entry: dict[str, object]) -> bool:
        if not entry.get("verified") or int(str(entry.get("status"))) >= 300:
            self.rejected += 1
            return False
        if entry.get("duplicate"):
            self.duplicates += 1
            return False
        at = float(str(entry["received_unix"]))
        kind = str(entry.get("type"))
        self.types[kind] += 1
        self.last = max(self.last, at)
        body = entry.get("body")
        data = body.get("data") if isinstance(body, dict) else None
        episode = data.get("episode_id") if isinstance(data, dict) else None
        if isinstance(episode, str):
            self.first.setdefault(episode, at)
            if kind == "rhi.opened":
                self.opened.setdefault(episode, at)
        return True
