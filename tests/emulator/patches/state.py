"""Runtime settings and reset hooks shared by the patches, the middleware and the
control API.

The settings are read at request time, so a change through ``POST /_offsite/config``
affects every request (and every snapshot or export created) after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class RuntimeConfig:
    """What the launcher's CLI sets and ``/_offsite/config`` reads and changes."""

    # Fixed delay added to every AWS request (not to control requests).
    latency_ms: int = 0
    # How long new RDS snapshots/copies stay `creating` and DynamoDB exports stay
    # `IN_PROGRESS`. Each snapshot/export keeps the value in force when it was created.
    copy_delay_seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


CONFIG = RuntimeConfig()

_reset_hooks: list[Callable[[], None]] = []
_reset_lock = threading.Lock()


def on_reset(hook: Callable[[], None]) -> Callable[[], None]:
    """Register ``hook`` to run when moto is reset (``POST /moto-api/reset``)."""
    _reset_hooks.append(hook)
    return hook


def run_reset_hooks() -> None:
    with _reset_lock:
        for hook in _reset_hooks:
            hook()
