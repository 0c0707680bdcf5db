"""The protocol every account check follows.

Like river's anomaly detectors, a check has two steps: ``learn_one`` sees an account's
features (to learn what is normal in this population, if it needs to) and ``score_one``
returns the evidence it finds as typed :class:`~distillwatch.detect.evidence.Finding` objects
(an empty list when it finds nothing). A new check is one small class in one file, listed in
``checks/__init__.py``. Checks are pure: no I/O, no labels.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from distillwatch.detect.evidence import Finding

Account = Mapping[str, Any]


def num(account: Account, name: str, default: float = 0.0) -> float:
    """A numeric feature, with ``None``/NaN read as ``default``."""
    value = account.get(name)
    if value is None or value != value:  # NaN
        return default
    return float(value)


class AccountCheck(ABC):
    """Looks at one account's features and returns the evidence it finds."""

    #: Accounts with fewer requests are not judged by this check: too little to go on.
    min_requests: int = 20

    def learn_one(self, account: Account) -> None:  # noqa: B027 - optional step
        """Update population statistics; most checks need none."""

    def applies(self, account: Account) -> bool:
        return num(account, "requests") >= self.min_requests

    @abstractmethod
    def score_one(self, account: Account) -> list[Finding]:
        """The evidence this check finds in one account (empty when none)."""
