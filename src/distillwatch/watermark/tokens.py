"""Text to token ids, and the flat token layout detection works on.

Detection needs the same token ids the marking model produced. A provider uses its own
model's ``tokenizer.json`` (``--tokenizer``); distillwatch ships a small byte-level BPE
(2,048 entries) trained on permissively licensed prompt text, which the tiny experiment
models use, so nothing is downloaded at run time. Re-tokenising decoded text can split a
few words differently from how they were generated; such tokens only dilute the score, they
never make clean text look marked.

``tokenizers`` is imported lazily: scoring token ids needs only NumPy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from distillwatch.watermark.prf import I64

if TYPE_CHECKING:
    from tokenizers import Tokenizer

#: The packaged tokenizer, relative to this package.
PACKAGED = "data/tokenizer.json"


@dataclass(frozen=True)
class TokenCorpus:
    """Many token sequences as one flat array plus the offset where each one starts.

    The flat layout lets detection hash every position of a large corpus in a few
    vectorised passes; ``starts`` keeps context windows from spanning two documents.
    """

    ids: I64
    starts: I64

    @classmethod
    def of(cls, sequences: Iterable[Sequence[int] | np.ndarray]) -> TokenCorpus:
        arrays = [np.asarray(s, dtype=np.int64) for s in sequences]
        lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(arrays) else lengths
        ids = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
        return cls(ids=ids, starts=starts.astype(np.int64))

    @property
    def tokens(self) -> int:
        return int(self.ids.shape[0])

    @property
    def documents(self) -> int:
        return int(self.starts.shape[0])

    def sequences(self) -> list[I64]:
        """The documents again, as separate arrays (views into ``ids``)."""
        bounds = [*self.starts.tolist(), self.tokens]
        return [self.ids[a:b] for a, b in itertools.pairwise(bounds)]


class TokenizerError(ValueError):
    """A tokenizer file that cannot be used, or ``tokenizers`` missing."""


def _tokenizers() -> Any:
    try:
        import tokenizers
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise TokenizerError(
            "the 'tokenizers' package is needed to read text; install distillwatch[watermark]"
        ) from exc
    return tokenizers


@lru_cache(maxsize=8)
def load_tokenizer(path: Path | None = None) -> Tokenizer:
    """The tokenizer at ``path`` (a Hugging Face ``tokenizer.json``), or the packaged one."""
    tk = _tokenizers()
    if path is None:
        text = resources.files("distillwatch.watermark").joinpath(PACKAGED).read_text("utf-8")
        return tk.Tokenizer.from_str(text)
    if not path.is_file():
        raise TokenizerError(f"tokenizer file not found: {path}")
    try:
        return tk.Tokenizer.from_file(str(path))
    except Exception as exc:
        raise TokenizerError(f"{path}: not a tokenizer.json file ({exc})") from exc


def encode(texts: Sequence[str], tokenizer: Tokenizer | None = None) -> TokenCorpus:
    """Tokenise documents (no special tokens) into a flat corpus."""
    tok = tokenizer if tokenizer is not None else load_tokenizer()
    encodings = tok.encode_batch(list(texts), add_special_tokens=False)
    return TokenCorpus.of(np.asarray(e.ids, dtype=np.int64) for e in encodings)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 2048) -> Tokenizer:
    """A byte-level BPE trained on ``texts``: every string encodes, no unknown tokens."""
    tk = _tokenizers()
    tokenizer = tk.Tokenizer(tk.models.BPE())
    tokenizer.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer
