"""What weaker attack variants borrow from honest products: app personas and judge rubrics.

A campaign that wants to look like a tutoring app or a judge service sends the same
system prompt an app would, or grades with a fixed set of rubrics instead of varying the
phrasing per request. The texts are original; honest populations draw from their own lists,
so a detector cannot match on these exact strings.
"""

from __future__ import annotations

import numpy as np

from distillwatch.simulate.phrasing import pick

_PERSONA_NAMES = ["Nova", "Quill", "Atlas", "Sage", "Pixel", "Orbit", "Maple", "Echo", "Lumen"]
_PERSONAS = [
    "You are {name}, a friendly study assistant for high-school and university students. "
    "Explain clearly, check understanding and encourage the learner.",
    "You are {name}, the in-app assistant of a productivity suite. Be concise and practical; "
    "use bullet points where they help.",
    "You are {name}, a knowledgeable assistant for a customer-facing help centre. Answer "
    "accurately and politely; say so when you are unsure.",
    "You are {name}, an AI tutor. Walk the student through problems and keep a warm tone.",
    "You are {name}, a research assistant. Cite assumptions, be precise and avoid speculation.",
    "You are {name}, a helpful assistant embedded in a note-taking app. Keep answers short "
    "unless the user asks for detail.",
    "You are {name}, a coding and data helper for analysts. Prefer worked examples.",
    "You are {name}. You help users of our platform with questions about any topic. Follow "
    "the user's formatting requests exactly.",
]


def persona(rng: np.random.Generator) -> str:
    """One app system prompt (an account keeps the one it drew)."""
    return pick(rng, _PERSONAS).format(name=pick(rng, _PERSONA_NAMES))


def personas_for(rng: np.random.Generator, n: int, share: float) -> list[str | None]:
    """Per request: the account's persona prompt with probability ``share``, else None.

    Draws nothing when ``share`` is 0, so the default streams stay as they were.
    """
    if share <= 0:
        return [None] * n
    text = persona(rng)
    return [text if u < share else None for u in rng.random(n).tolist()]
