"""Detection: score token sequences against one or many keys, with exact p-values.

Steps, each vectorised over the whole corpus:

1. fingerprint every (window, token) tuple whose window lies inside one document;
2. keep each distinct tuple once — repeated n-grams (a template, a quoted passage, a model
   looping) would otherwise count many times and make clean text look marked;
3. optionally keep only tuples whose window occurs in a reference corpus and drop tuples
   that occur in an exclusion corpus (the radioactivity test's filter and prompt removal);
4. per key: keyed uniforms of the remaining tuples, the scheme's score and exact p-value;
5. across keys: Holm-adjusted p-values, so "which key (account) matches" is answered with
   the family-wise error of trying all of them.

Steps 1-3 do not depend on the key and are done once per context window size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from distillwatch.watermark import gumbel, kgw
from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.prf import U64, context_fingerprints, keyed_uniform, tuple_fingerprints
from distillwatch.watermark.stats import Score, holm
from distillwatch.watermark.tokens import TokenCorpus


@dataclass(frozen=True)
class KeyScore:
    """How strongly the text carries one key's mark."""

    label: str
    key_id: str
    account: str | None
    scheme: str
    #: distinct (window, token) tuples scored
    scored: int
    #: green count (kgw) or sum of -log(1-u) (gumbel)
    statistic: float
    z: float
    p_value: float
    #: Holm-adjusted over every key tried
    p_adjusted: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Detection:
    """The result of testing one corpus against a set of keys, best match first."""

    tokens: int
    documents: int
    #: tuples with a full window before filtering and de-duplication
    tuples: int
    scores: tuple[KeyScore, ...]

    @property
    def best(self) -> KeyScore | None:
        return self.scores[0] if self.scores else None

    def matches(self, alpha: float) -> list[KeyScore]:
        """Keys whose adjusted p-value is at most ``alpha`` (family-wise error <= alpha)."""
        return [s for s in self.scores if s.p_adjusted <= alpha]

    def to_dict(self) -> dict[str, object]:
        return {
            "tokens": self.tokens,
            "documents": self.documents,
            "tuples": self.tuples,
            "keys_tried": len(self.scores),
            "scores": [s.to_dict() for s in self.scores],
        }


def distinct(values: U64) -> U64:
    """Sorted distinct values (sort + neighbour compare; ``np.unique`` is far slower here)."""
    s = np.sort(values)
    if s.shape[0] == 0:
        return s
    keep = np.empty(s.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def member(sorted_set: U64, values: U64) -> np.ndarray:
    """Boolean mask: which ``values`` are in ``sorted_set`` (sorted, distinct)."""
    if sorted_set.shape[0] == 0:
        return np.zeros(values.shape[0], dtype=bool)
    idx = np.searchsorted(sorted_set, values)
    idx[idx == sorted_set.shape[0]] = 0
    return np.asarray(sorted_set[idx] == values)


def tuple_stream(corpus: TokenCorpus, window: int) -> tuple[U64, U64]:
    """(context fingerprint, tuple fingerprint) of every position with a full window."""
    ctx, pos = context_fingerprints(corpus.ids, corpus.starts, window)
    return ctx, tuple_fingerprints(ctx, corpus.ids[pos])


def scored_tuples(
    corpus: TokenCorpus,
    window: int,
    contexts: TokenCorpus | None = None,
    exclude: TokenCorpus | None = None,
) -> tuple[U64, int]:
    """The distinct tuple fingerprints to score, and how many tuples there were in all."""
    ctx, fps = tuple_stream(corpus, window)
    total = int(fps.shape[0])
    if contexts is not None:
        keep = member(distinct(tuple_stream(contexts, window)[0]), ctx)
        fps = fps[keep]
    unique = distinct(fps)
    if exclude is not None:
        unique = unique[~member(distinct(tuple_stream(exclude, window)[1]), unique)]
    return unique, total


def score_key(fingerprints: U64, key: WatermarkKey) -> Score:
    """The scheme's score of already-distinct tuples under one key."""
    u = keyed_uniform(fingerprints, key.material)
    if key.scheme.name == "gumbel":
        return gumbel.score(u)
    return kgw.score(u, key.scheme.gamma)


def detect(
    corpus: TokenCorpus,
    keys: Sequence[WatermarkKey],
    contexts: TokenCorpus | None = None,
    exclude: TokenCorpus | None = None,
) -> Detection:
    """Test ``corpus`` against every key; scores sorted by p-value, best first."""
    if not keys:
        raise ValueError("no keys to test against")
    by_window: dict[int, tuple[U64, int]] = {}
    raw: list[tuple[WatermarkKey, int, Score]] = []
    for key in keys:
        window = key.scheme.window
        if window not in by_window:
            by_window[window] = scored_tuples(corpus, window, contexts, exclude)
        fps, _ = by_window[window]
        raw.append((key, int(fps.shape[0]), score_key(fps, key)))
    adjusted = holm([s.p_value for _, _, s in raw])
    scores = [
        KeyScore(
            label=key.label,
            key_id=key.key_id,
            account=key.account,
            scheme=key.scheme.describe(),
            scored=n,
            statistic=s.statistic,
            z=s.z,
            p_value=s.p_value,
            p_adjusted=adj,
        )
        for (key, n, s), adj in zip(raw, adjusted, strict=True)
    ]
    scores.sort(key=lambda s: (s.p_value, s.label))
    first_window = keys[0].scheme.window
    return Detection(
        tokens=corpus.tokens,
        documents=corpus.documents,
        tuples=by_window[first_window][1],
        scores=tuple(scores),
    )
