"""Multilingual phrase lists, kept apart from the signal code so linguists can edit them.

Every list is a tuple of RE2 fragments matched against *lower-cased* prompt text. Fragments
describe what a request *asks the model to do* (elicit reasoning, judge answers, launder a
sensitive question), never how one dataset happens to be formatted, so they carry over to
prompt sources we have not seen.
"""

from __future__ import annotations


def alternation(*groups: tuple[str, ...]) -> str:
    """Join fragment lists into one non-capturing RE2 alternation (one pass per text)."""
    return "(?:" + "|".join(f"(?:{p})" for group in groups for p in group) + ")"


def passes(group: tuple[str, ...], apart: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The alternation of ``group`` as a few RE2 patterns; a text matches the alternation
    exactly when it matches one of them.

    The fragments in ``apart`` get a pass each, the rest share one. A bounded repeat
    (``[^.?!\\n]{0,30}``, ``(?:\\w+ ){0,4}``) inside a many-way alternation blows up RE2's DFA,
    which then falls back to its NFA: one such alternation costs more than three DFA passes.
    """
    missing = [p for p in apart if p not in group]
    if missing:
        raise ValueError(f"fragments not in the group: {missing}")
    rest = tuple(p for p in group if p not in apart)
    return (alternation(rest), *(alternation((p,)) for p in apart))
