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
