"""One account's (or one cluster's) behaviour so far, updated one request at a time.

The state answers the same questions as the batch aggregates of
:mod:`distillwatch.features.aggregates` -- :meth:`ProfileState.features` returns a mapping
with the same names -- so the very same account checks judge it, online and in ``scan``.
Memory is bounded: counters, a few fixed-size sketches and capped tables, whatever the
volume. A cluster's state is the merge of its members' states plus their later requests.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

from distillwatch.features.aggregates import (
    FRAME_WORDS,
    WRAPPER_MIN_BITS,
    WRAPPER_MIN_REQUESTS,
)
from distillwatch.features.sql import RECURRENCE_WAIT_DAYS
from distillwatch.online.sketch import Distinct, Frequency, Moments, bounded_add, entropy_bits

#: Flags counted per request; each becomes ``<name>_share`` in the features.
FLAGS = (
    "cot",
    "grading",
    "sensitive",
    "logprob",
    "tiny_max_tokens",
    "multi_n",
    "temp0",
    "multi_turn",
    "tools",
    "new_model",
    "fast_gap",
    "system",
)
MAX_AREAS = 16
MAX_LANGUAGES = 64
MAX_FRAMES = 64
MAX_SKETCHES = 512
#: /24 prefixes whose days are tracked (for ``prefix_recurrence``); later ones are not
MAX_PREFIXES = 128
_FAST_GAP_S = 2.0
_MASK = 0xFFFFFFFFFFFFFFFF


def _h(value: str | int) -> int:
    """A 64-bit hash, the same in every process (``hash()`` of a string is salted per
    process, which made sketch estimates -- and so decisions -- differ between runs)."""
    if isinstance(value, str):
        return int.from_bytes(blake2b(value.encode(), digest_size=8).digest(), "little")
    x = (value + 0x9E3779B97F4A7C15) & _MASK  # splitmix64: ASNs are small, clustered ints
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _evict_rarest(table: dict[Any, Any], count: Callable[[Any], int]) -> None:
    """Make room in a full table by dropping every entry with the smallest count.

    One-off prompts and frames come and go; what repeats (a harvester's wrappers, an
    evaluation's items) keeps growing and stays. Dropping the whole lowest tier at once keeps
    the cost amortised O(1) per request.
    """
    lowest = min(count(v) for v in table.values())
    for key in [k for k, v in table.items() if count(v) == lowest]:
        del table[key]


def _either(pick: Any, a: float | None, b: float | None) -> float | None:
    """``pick(a, b)`` where both are known, else whichever is."""
    return b if a is None else a if b is None else pick(a, b)


def ip_prefix(ip: str) -> str:
    """The /24 of an IPv4 address (the first three groups of an IPv6 one), as ``ip24``."""
    return ip.rsplit(".", 1)[0] if "." in ip else ":".join(ip.split(":")[:3])


def _frame_hash(frame: str) -> int:
    return zlib.crc32(frame.encode())  # stable across processes, unlike hash()


def frame_of(prompt: str | None) -> str | None:
    """The instruction frame of a prompt, as in ``features``: its first words, lower-cased."""
    if not prompt:
        return None
    # maxsplit: the same words without splitting the whole of a long prompt into a list
    return " ".join(prompt.strip().split(" ", FRAME_WORDS)[:FRAME_WORDS]).lower()


@dataclass
class ProfileState:
    """Bounded running aggregates of a stream of enriched requests."""

    requests: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    created: float | None = None
    flags: Counter[str] = field(default_factory=Counter)
    gaps: Moments = field(default_factory=Moments)
    hours_of_day: int = 0  # bit mask
    tool_results: int = 0
    top_logprobs_max: int = 0
    areas: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    templates: Distinct = field(default_factory=Distinct)
    sketches: Distinct = field(default_factory=Distinct)
    system_prompts: Distinct = field(default_factory=lambda: Distinct(32))
    models: set[str] = field(default_factory=set)
    ips: Distinct = field(default_factory=lambda: Distinct(64))
    ip24s: Distinct = field(default_factory=lambda: Distinct(64))
    asns: Distinct = field(default_factory=lambda: Distinct(64))
    countries: Distinct = field(default_factory=lambda: Distinct(64))
    #: frame -> capability counts under it (capped at MAX_FRAMES frames) ...
    frames: dict[str, Counter[str]] = field(default_factory=dict)
    #: ... and, once the table is full, how often each frame was seen (admission to it)
    frame_counts: Frequency | None = None
    #: (ageings, count): the rarest tabled frame was seen at least ``count`` times
    frame_floor: tuple[int, int] = (0, 0)
    #: /24 prefix hash -> (first day seen, seen on a later day) (capped at MAX_PREFIXES)
    prefix_days: dict[int, tuple[int, bool]] = field(default_factory=dict)
    #: near-duplicate prompt -> [requests, models seen] (capped at MAX_SKETCHES)
    replays: dict[int, tuple[int, frozenset[str]]] = field(default_factory=dict)

    def update(self, row: Mapping[str, Any], ts: float, gap: float | None, new_model: bool) -> None:
        """Add one request (an enriched row; ``ts`` in epoch seconds)."""
        self.requests += 1
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
        self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
        created = row.get("account_created")
        if created is not None:
            stamp = created.timestamp() if hasattr(created, "timestamp") else float(created)
            self.created = stamp if self.created is None else min(self.created, stamp)
        if gap is not None:
            self.gaps.add(gap)
        self.hours_of_day |= 1 << int(ts // 3600 % 24)
        self._count_flags(row, gap, new_model)
        self.tool_results += int(row.get("n_tool_results") or 0)
        self.top_logprobs_max = max(self.top_logprobs_max, int(row.get("top_logprobs") or 0))
        area = row.get("capability")
        if area:
            bounded_add(self.areas, area, MAX_AREAS)
        if row.get("language"):
            bounded_add(self.languages, row["language"], MAX_LANGUAGES)
        self._add_distinct(row)
        self._add_prefix_day(row.get("ip"), int(ts // 86400))
        self._add_frame(row.get("last_user"), area)
        self._add_replay(row.get("lsh_0"), row.get("model"))

    def _count_flags(self, row: Mapping[str, Any], gap: float | None, new_model: bool) -> None:
        flags = self.flags
        max_tokens = row.get("max_tokens")
        checks = {
            "cot": bool(row.get("cot_elicit")),
            "grading": bool(row.get("grading_request")),
            "sensitive": bool(row.get("sensitive_rewrite")),
            "logprob": bool(row.get("logprobs")) or (row.get("top_logprobs") or 0) > 0,
            "tiny_max_tokens": max_tokens is not None and max_tokens <= 2,
            "multi_n": (row.get("n") or 1) > 1,
            "temp0": row.get("temperature") == 0,
            "multi_turn": (row.get("n_user_turns") or 0) > 1,
            "tools": (row.get("n_tools") or 0) > 0,
            "new_model": new_model,
            "fast_gap": gap is not None and gap < _FAST_GAP_S,
            "system": row.get("system_prompt") is not None,
        }
        for name, hit in checks.items():
            if hit:
                flags[name] += 1

    def _add_distinct(self, row: Mapping[str, Any]) -> None:
        if row.get("template_id") is not None:
            self.templates.add(int(row["template_id"]))
        if row.get("lsh_0") is not None:
            self.sketches.add(int(row["lsh_0"]))
        if row.get("system_prompt") is not None:
            self.system_prompts.add(_h(row["system_prompt"]))
        if row.get("model") and len(self.models) < 64:
            self.models.add(row["model"])
        ip = row.get("ip")
        if ip:
            self.ips.add(_h(ip))
            self.ip24s.add(_h(ip_prefix(ip)))
        if row.get("asn") is not None:
            self.asns.add(_h(int(row["asn"])))
        if row.get("country"):
            self.countries.add(_h(str(row["country"])))

    def _add_prefix_day(self, ip: str | None, day: int) -> None:
        if not ip:
            return
        key = _h(ip_prefix(ip))
        seen = self.prefix_days.get(key)
        if seen is None:
            if len(self.prefix_days) < MAX_PREFIXES:
                self.prefix_days[key] = (day, False)
        elif not seen[1] and day != seen[0]:
            self.prefix_days[key] = (seen[0], True)

    def _add_frame(self, prompt: str | None, area: str | None) -> None:
        frame = frame_of(prompt)
        if frame is None or area is None:
            return
        table = self.frames.get(frame)
        if table is None:
            if not self._admit_frame(frame):
                return
            table = self.frames[frame] = Counter()
        elif self.frame_counts is not None:
            self.frame_counts.add(_frame_hash(frame))
        bounded_add(table, area, MAX_AREAS)

    def _admit_frame(self, frame: str) -> bool:
        """Room for a new frame? Below the cap always; at it, only for a frame seen more
        often than the rarest one in the table, which then makes room (TinyLFU)."""
        if len(self.frames) < MAX_FRAMES:
            return True
        counts = self.frame_counts
        if counts is None:  # the table just filled: seed the sketch with what it holds
            counts = self.frame_counts = Frequency()
            for known, table in self.frames.items():
                counts.add(_frame_hash(known), table.total())
        seen = counts.add(_frame_hash(frame))
        ageings, floor = self.frame_floor
        if ageings == counts.ageings and seen <= floor:
            return False  # cheap refusal: the rarest tabled frame was seen at least as often
        rarest, lowest = min(
            ((known, counts.estimate(_frame_hash(known))) for known in self.frames),
            key=lambda pair: pair[1],
        )
        if seen <= lowest:
            self.frame_floor = (counts.ageings, lowest)
            return False
        del self.frames[rarest]
        self.frame_floor = (counts.ageings, 0)
        return True

    def _add_replay(self, sketch: int | None, model: str | None) -> None:
        if sketch is None or model is None:
            return
        seen = self.replays.get(sketch)
        if seen is None:
            if len(self.replays) >= MAX_SKETCHES:
                _evict_rarest(self.replays, lambda v: v[0])
            self.replays[sketch] = (1, frozenset((model,)))
            return
        n, models = seen
        self.replays[sketch] = (n + 1, models if model in models else models | {model})

    def merge(self, other: ProfileState) -> None:
        """Pool ``other`` into this state (two clusters linked into one)."""
        self.requests += other.requests
        for name in ("first_ts", "created"):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(
                self,
                name,
                theirs if mine is None else mine if theirs is None else min(mine, theirs),
            )
        if other.last_ts is not None:
            self.last_ts = (
                other.last_ts if self.last_ts is None else max(self.last_ts, other.last_ts)
            )
        self.flags.update(other.flags)
        self.gaps.merge(other.gaps)
        self.hours_of_day |= other.hours_of_day
        self.tool_results += other.tool_results
        self.top_logprobs_max = max(self.top_logprobs_max, other.top_logprobs_max)
        for area, n in other.areas.items():
            if area in self.areas or len(self.areas) < MAX_AREAS:
                self.areas[area] += n
        for lang, n in other.languages.items():
            if lang in self.languages or len(self.languages) < MAX_LANGUAGES:
                self.languages[lang] += n
        for name in (
            "templates",
            "sketches",
            "system_prompts",
            "ips",
            "ip24s",
            "asns",
            "countries",
        ):
            getattr(self, name).merge(getattr(other, name))
        self.models |= other.models
        for frame, table in other.frames.items():
            if frame in self.frames:
                self.frames[frame].update(table)
            elif len(self.frames) < MAX_FRAMES:
                self.frames[frame] = Counter(table)
        if other.frame_counts is not None:  # the merged sketch counts both streams
            if self.frame_counts is None:
                self.frame_counts = Frequency()
            self.frame_counts.merge(other.frame_counts)
            self.frame_floor = (self.frame_counts.ageings, 0)
        for prefix, (day, again) in other.prefix_days.items():
            mine_day = self.prefix_days.get(prefix)
            if mine_day is not None:
                self.prefix_days[prefix] = (
                    min(mine_day[0], day),
                    mine_day[1] or again or mine_day[0] != day,
                )
            elif len(self.prefix_days) < MAX_PREFIXES:
                self.prefix_days[prefix] = (day, again)
        for sketch, (n, models) in other.replays.items():
            mine = self.replays.get(sketch)
            if mine is not None:
                self.replays[sketch] = (mine[0] + n, mine[1] | models)
            elif len(self.replays) < MAX_SKETCHES:
                self.replays[sketch] = (n, models)

    def features(self) -> dict[str, Any]:
        """The batch feature names the account checks read, from this state."""
        n = max(self.requests, 1)
        out: dict[str, Any] = {f"{name}_share": self.flags[name] / n for name in FLAGS}
        cap_h, cap_top = entropy_bits(self.areas)
        lang_h, lang_top = entropy_bits(self.languages)
        wrapper_frames, wrapper_requests = self._wrappers()
        replayed = sum(c for c, models in self.replays.values() if len(models) >= 2)
        tracked = sum(c for c, _ in self.replays.values())
        span = (self.last_ts - self.first_ts) if self.first_ts is not None and self.last_ts else 0.0
        out.update(
            requests=self.requests,
            span_hours=span / 3600.0,
            active_hours_of_day=bin(self.hours_of_day).count("1"),
            gap_mean_s=self.gaps.mean if self.gaps.n else None,
            gap_cv=self.gaps.std() / self.gaps.mean if self.gaps.n > 1 and self.gaps.mean else None,
            capabilities=len(self.areas),
            capability_entropy=cap_h,
            capability_top_share=cap_top,
            languages=len(self.languages),
            language_entropy=lang_h,
            language_top_share=lang_top,
            templates=self.templates.count(),
            sketches=self.sketches.count(),
            system_prompts=self.system_prompts.count(),
            models=len(self.models),
            ips=self.ips.count(),
            ip24s=self.ip24s.count(),
            asns=self.asns.count(),
            countries=self.countries.count(),
            top_logprobs_max=self.top_logprobs_max,
            tool_results_mean=self.tool_results / n,
            account_age_days=self.age_days(),
            wrapper_frames=wrapper_frames,
            wrapper_requests=wrapper_requests,
            replayed_share=replayed / tracked if tracked else 0.0,
            prefix_recurrence=self.prefix_recurrence(),
        )
        return out

    def age_days(self) -> float | None:
        """The account's age in days at its first request; ``None`` when unknown."""
        return (self.first_ts - self.created) / 86400.0 if self.created and self.first_ts else None

    def prefix_recurrence(self) -> float | None:
        """As the batch ``prefix_recurrence``: among prefixes that have had a whole later day
        to come back, the share seen again on a later day; ``None`` while none had the chance."""
        again, eligible = self.recurrence_counts()
        return again / eligible if eligible else None

    def recurrence_counts(self, last_ts: float | None = None) -> tuple[int, int]:
        """(prefixes seen again on a later day, prefixes that have had a whole later day by
        ``last_ts``: the account's own last request unless a group's is given)."""
        last_ts = self.last_ts if last_ts is None else last_ts
        if last_ts is None:
            return 0, 0
        last_day = int(last_ts // 86400)
        eligible = [
            again
            for first, again in self.prefix_days.values()
            if first + RECURRENCE_WAIT_DAYS <= last_day
        ]
        return sum(eligible), len(eligible)

    def _wrappers(self) -> tuple[int, int]:
        frames = requests = 0
        for table in self.frames.values():
            total = sum(table.values())
            if total >= WRAPPER_MIN_REQUESTS and entropy_bits(table)[0] >= WRAPPER_MIN_BITS:
                frames += 1
                requests += total
        return frames, requests


def member_recurrence(members: Iterable[ProfileState], last_ts: float | None) -> float | None:
    """A group's ``prefix_recurrence`` member by member, as the batch query with ``member``:
    a prefix comes back to the same account or not at all -- a proxy pool's exits handed to
    two accounts on different days are not a home that comes back. ``last_ts``: the group's
    last request, which gives every member's prefixes their chance."""
    again = eligible = 0
    for state in members:
        a, e = state.recurrence_counts(last_ts)
        again, eligible = again + a, eligible + e
    return again / eligible if eligible else None
