"""Which watermark a key applies, with which parameters.

A scheme travels with its key in the keyring, so a detector always tests text with the
parameters it was marked with, even after a rotation changed them for new keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: ``kgw``: green-list bias (Kirchenbauer et al. 2023). ``gumbel``: exponential-minimum /
#: Gumbel-max sampling (Aaronson 2022), distortion-free for one sample per context.
SCHEMES = ("kgw", "gumbel")


class SchemeError(ValueError):
    """Scheme parameters that cannot work."""


@dataclass(frozen=True)
class Scheme:
    """Scheme name and parameters.

    ``window`` is the number of previous tokens hashed into the context: smaller windows
    survive edits better and make a distilled student more radioactive (more repeated
    contexts to learn the bias from), larger ones make the green lists harder to learn.
    ``gamma`` (green fraction) and ``delta`` (logit bias) are used by ``kgw`` only.
    """

    name: str = "kgw"
    window: int = 2
    gamma: float = 0.25
    delta: float = 2.0

    def __post_init__(self) -> None:
        if self.name not in SCHEMES:
            raise SchemeError(f"unknown scheme {self.name!r}; choose one of {', '.join(SCHEMES)}")
        if not 1 <= self.window <= 16:
            raise SchemeError(f"window must be 1..16 tokens, got {self.window}")
        if not 0.0 < self.gamma < 1.0:
            raise SchemeError(f"gamma (green fraction) must be in (0, 1), got {self.gamma}")
        if self.delta < 0.0:
            raise SchemeError(f"delta (bias) must be >= 0, got {self.delta}")

    def to_dict(self) -> dict[str, Any]:
        if self.name == "gumbel":
            return {"name": self.name, "window": self.window}
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scheme:
        allowed = {"name", "window", "gamma", "delta"}
        unknown = set(data) - allowed
        if unknown:
            raise SchemeError(f"unknown scheme field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def describe(self) -> str:
        if self.name == "gumbel":
            return f"gumbel(window={self.window})"
        return f"kgw(window={self.window}, gamma={self.gamma:g}, delta={self.delta:g})"
