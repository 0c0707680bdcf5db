"""Testing one neural student under one key: closed (sampled text) and open (weights).

``assess`` scores a student's samples (unfiltered and filtered on the served answers'
windows) and its reading of the served answers (``radioactivity_reading``) over growing
amounts of suspect text, and, for the innocent suspects, under other keys (null p-values).
"""

from __future__ import annotations

import numpy as np
from radioactivity_reading import green_mass, read, tuple_corpus
from radioactivity_students import Student
from scipy import stats

from distillwatch.watermark import TokenCorpus
from distillwatch.watermark.detect import KeyScore
from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.radioactive import radioactivity
from distillwatch.watermark.scheme import Scheme
from distillwatch.watermark.stats import binomial_randomized


def randomized(score: KeyScore, scheme: Scheme, rng: np.random.Generator) -> float:
    """An exactly uniform null p-value (KGW's binomial tail is discrete)."""
    if scheme.name != "kgw":
        return score.p_value
    return binomial_randomized(int(score.statistic), score.scored, scheme.gamma, rng.random())


FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def assess(
    st: Student,
    key: WatermarkKey,
    served_seqs: list[np.ndarray],
    prompts: TokenCorpus,
    vocab: int,
    null: list[WatermarkKey],
    seed: int,
) -> dict[str, object]:
    """Closed and open tests of one student under one key (and under ``null`` keys)."""
    assert st.text is not None
    served = TokenCorpus.of(served_seqs)
    rows, mass = read(st.model, served_seqs, key.scheme.window, vocab)
    text_docs = st.text.sequences()
    curve = []
    for f in FRACTIONS:
        t = TokenCorpus.of(text_docs[: max(1, round(f * len(text_docs)))])
        n_read = max(1, round(f * len(rows)))
        plain = radioactivity(t, [key], prompts=prompts).detection.scores[0]
        filt = radioactivity(t, [key], watermarked=served, prompts=prompts).detection.scores[0]
        opened = radioactivity(tuple_corpus(rows[:n_read]), [key]).detection.scores[0]
        curve.append(
            {
                "sampled_tokens": t.tokens,
                "closed_p": plain.p_value,
                "closed_scored": plain.scored,
                "filtered_p": filt.p_value,
                "filtered_scored": filt.scored,
                "read_tokens": int(sum(s.shape[0] for s in served_seqs[:n_read])),
                "open_p": opened.p_value,
                "open_scored": opened.scored,
                "open_green": opened.statistic / max(1, opened.scored),
            }
        )
    row: dict[str, object] = {"student": st.name, "scheme": key.scheme.name, "share": st.share}
    row |= {"marked_tokens": st.marked_tokens, "curve": curve, "final": curve[-1]}
    if mass is not None:
        row["mass_excess"], row["mass_z"] = green_mass(mass, key)
    if null:
        rng = np.random.default_rng(seed)
        null_closed = radioactivity(st.text, null, watermarked=served, prompts=prompts).detection
        null_open = radioactivity(tuple_corpus(rows), null).detection
        row["null"] = {
            "filtered": [randomized(s, key.scheme, rng) for s in null_closed.scores],
            "open": [randomized(s, key.scheme, rng) for s in null_open.scores],
        }
        if mass is not None:
            zs = [green_mass(mass, k)[1] for k in null]
            row["null"]["mass"] = [float(stats.norm.sf(z)) for z in zs]  # type: ignore[index]
    return row
