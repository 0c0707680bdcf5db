"""``scan --state-dir S --replaces OLD=NEW``: a corrected day re-exported under a new name.

The state knows an input by its name and its bytes, so a provider that re-exports a day as
``2026-03-08-corrected.jsonl.zst`` beside ``2026-03-08.jsonl.zst`` delivers a new input, and
that day's requests would be counted twice (as a full scan given both files would). Nothing
decides on its own that one file replaces another — not the names (a convention we cannot
know), and never the request ids (they may come from clients, and nothing a client sends may
make its traffic invisible): the operator says so, and ``scan/overlap.py`` tells them when it
looks needed. The effect is that of a re-delivery under the old name: OLD's requests leave
the state on every day, NEW's take their place, and the manifest records OLD's bytes as
superseded so a later run given the delivery folder (which still holds OLD) does not read
them back.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from distillwatch.ingest.sources import Source
from distillwatch.scan.overlap import not_repeated
from distillwatch.scan.state import Input, Manifest, StateError, Superseded

#: Held names listed in an error before the rest are only counted.
SHOW_HELD = 12


@dataclass(frozen=True)
class Replacement:
    """A held input taken out, and the name of the input that takes its place (a log of
    this run, or one the state already holds)."""

    old: Input
    new: str


def resolve(
    raw: list[str],
    manifest: Manifest,
    sources: list[Source],
    forbidden: tuple[Path, ...],
) -> tuple[list[Replacement], list[str]]:
    """Each ``OLD=NEW`` as a :class:`Replacement`, checked before anything is read or changed,
    and a note for each one an earlier run already did (a daily job may keep its options).

    A name may itself hold ``=``: the text is cut at the ``=`` whose left part names a held
    input (exactly one must). OLD and NEW may be given as the names the state recorded or as
    other spellings of the same local paths (``./logs/x``, ``logs/../logs/x``). NEW may not
    be a file inside ``forbidden`` (the state and output directories)."""
    held = manifest.by_name()
    done: list[Replacement] = []
    notes: list[str] = []
    for text in raw:
        note = _done_before(text, manifest)
        if note:
            notes.append(note)
            continue
        old, new_text = _split(text, manifest, held)
        new = _find_new(text, new_text, sources, held, forbidden)
        if new == old.name:
            raise StateError(
                f"--replaces {text!r}: OLD and NEW are the same input; a log delivered again "
                "under its own name replaces its older version without --replaces"
            )
        for other in done:
            if old.name in (other.old.name, other.new) or new in (other.old.name, other.new):
                raise StateError(
                    f"--replaces {text!r}: {old.name!r} or {new!r} is already in "
                    f"--replaces '{other.old.name}={other.new}'; give one --replaces per input"
                )
        done.append(Replacement(old, new))
    return done, notes


def _done_before(text: str, manifest: Manifest) -> str | None:
    """The note for an ``OLD=NEW`` the state already records (OLD superseded by NEW)."""
    for cut in (n for n, char in enumerate(text) if char == "="):
        old, new = text[:cut], text[cut + 1 :]
        for gone in manifest.superseded:
            if _same(old, gone.name) and _same(new, gone.by):
                return (
                    f"--replaces {text!r}: already done ({gone.name} was replaced by "
                    f"{gone.by} at {gone.at}); nothing to do"
                )
    return None


def _same(given: str, name: str) -> bool:
    """``given`` names ``name``: the same text, or the same local path."""
    if given == name:
        return True
    path = _resolved(given)
    return path is not None and path == _resolved(name)


def apply(
    manifest: Manifest,
    fresh: list[Input],
    swaps: list[Replacement],
    read_at: str,
    roots: tuple[Path, Path],
) -> list[tuple[str, str, int]]:
    """Take each OLD out, NEW in its place (the order a full scan given NEW instead of OLD
    would read them), and record OLD's bytes as superseded so they are not read back.

    Gives (OLD, NEW, OLD's requests NEW does not repeat with the same id and time: they
    leave with OLD) for each. ``roots``: this run's files (staging), the state's files."""
    done = []
    for swap in swaps:
        old = swap.old
        new = next(i for i in [*fresh, *manifest.inputs] if i.name == swap.new)
        root = roots[0] if any(i is new for i in fresh) else roots[1]
        old_files = [roots[1] / p.file for p in old.parts]
        lost = not_repeated(old_files, [root / p.file for p in new.parts], roots[0] / "spill")
        manifest.inputs = [
            new if i.name == old.name else i for i in manifest.inputs if i is not new
        ]
        kept = [s for s in manifest.superseded if s.sha256 != new.sha256]
        for entry in kept:  # a chain (A by OLD, then OLD by NEW) reads A by NEW
            entry.by = new.name if entry.by == old.name else entry.by
        last = max((p.day for p in old.parts), default=old.delivery_day)
        manifest.superseded = [*kept, Superseded(old.name, old.sha256, new.name, read_at, last)]
        done.append((old.name, new.name, lost))
    return done


def _split(text: str, manifest: Manifest, held: dict[str, Input]) -> tuple[Input, str]:
    """OLD (a held input) and NEW's text, cutting ``text`` at the right ``=``."""
    cuts = [n for n, char in enumerate(text) if char == "="]
    if not cuts:
        raise StateError(
            f"--replaces {text!r}: expected OLD=NEW (the name of a log the state holds, '=', "
            "the log that replaces it)"
        )
    found: dict[str, tuple[Input, str]] = {}
    for cut in cuts:
        entry = _lookup(text[:cut], held)
        if entry is not None:
            found[entry.name] = (entry, text[cut + 1 :])
    if len(found) > 1:
        raise StateError(
            f"--replaces {text!r}: ambiguous, the state holds {' and '.join(map(repr, found))}; "
            "name the log with a path that has no '=' of its own (e.g. ./NAME)"
        )
    if not found:
        raise StateError(_not_held(text, text[: cuts[0]], manifest))
    return next(iter(found.values()))


def _not_held(text: str, old: str, manifest: Manifest) -> str:
    """The error for an OLD the state does not hold: what it does hold, and the likely one
    (a held log, or one an earlier ``--replaces`` already took out)."""
    names = [i.name for i in manifest.inputs]
    gone = {g.name: g for g in manifest.superseded}
    for entry in gone.values():
        if _same(old, entry.name) or old == Path(entry.name).name:
            return f"--replaces {text!r}: {_replaced(entry)}; replace {entry.by!r} instead"
    if not names:
        return f"--replaces {text!r}: the state holds no log yet, so there is nothing to replace"
    close = difflib.get_close_matches(old, [*names, *gone], n=1, cutoff=0.6)
    hint = "."
    if close and close[0] in gone:
        hint = f"; the closest name, {close[0]!r}, is not held: {_replaced(gone[close[0]])}."
    elif close:
        hint = f"; did you mean {close[0]!r}?"
    listed = ", ".join(repr(n) for n in names[:SHOW_HELD])
    more = f" and {len(names) - SHOW_HELD:,} more" if len(names) > SHOW_HELD else ""
    return (
        f"--replaces {text!r}: {old!r} is not a log the state holds{hint} It holds "
        f"{len(names):,}: {listed}{more} (OLD is the name as the state recorded it, or the "
        "same local path)"
    )


def _replaced(entry: Superseded) -> str:
    return f"{entry.name!r} was already replaced by {entry.by!r} ({entry.at})"


def _find_new(
    text: str,
    new: str,
    sources: list[Source],
    held: dict[str, Input],
    forbidden: tuple[Path, ...],
) -> str:
    """The name NEW goes by: a log of this run, else an input the state holds already (a
    corrected file read by an earlier run that warned about the overlap)."""
    if not new:
        raise StateError(f"--replaces {text!r}: NEW is empty; expected OLD=NEW")
    target = _resolved(new)
    for source in sources:
        if source.name == new or (
            source.url is None and target is not None and _resolved(str(source.path)) == target
        ):
            if source.url is None and any(
                source.path.resolve().is_relative_to(d.resolve()) for d in forbidden
            ):
                raise StateError(
                    f"--replaces {text!r}: {new!r} is inside the state or output directory; "
                    "give the log from where it was delivered"
                )
            return source.name
    entry = _lookup(new, held)
    if entry is not None:
        return entry.name
    raise StateError(
        f"--replaces {text!r}: {new!r} is neither among this run's logs nor held in the "
        "state; give it as a LOG argument too (or the folder it was delivered to)"
    )


def _lookup(name: str, held: dict[str, Input]) -> Input | None:
    """The held input ``name`` designates: its recorded name, or the same local path."""
    if name in held:
        return held[name]
    target = _resolved(name)
    if target is None:
        return None
    matches = [i for n, i in held.items() if _resolved(n) == target]
    return matches[0] if len(matches) == 1 else None


def _resolved(name: str) -> Path | None:
    """The absolute local path ``name`` spells, None for a URL or a name no path can have."""
    if not name or "://" in name:
        return None
    try:
        return Path(name).resolve()
    except (OSError, ValueError):  # a NUL byte, a loop of links
        return None
