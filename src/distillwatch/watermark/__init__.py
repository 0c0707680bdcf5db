"""Watermarking: mark answers, detect the mark, and test suspect models for it.

Two schemes (``kgw`` green lists and distortion-free ``gumbel`` exponential-minimum
sampling) share one keyed PRF (``prf``); keys come from a rotating keyring with one derived
key per account (``keys``); ``detect`` gives exact p-values over de-duplicated n-grams and
names the matching key; ``documents`` and ``spans`` score every document of a set and the
marked stretches inside them; ``stream`` does all three over inputs of any size in bounded
memory; ``radioactive`` tests whether a suspect model learned from marked text. Everything
here runs on NumPy: torch and ``transformers`` are needed only by the logits processors
in ``distillwatch.watermark.hf``.
"""

from distillwatch.watermark.detect import Detection, KeyScore, detect
from distillwatch.watermark.documents import DocumentScore, DocumentScores, score_documents
from distillwatch.watermark.keys import (
    Keyring,
    KeyringError,
    MasterKey,
    WatermarkKey,
    load_keyring,
    new_keyring,
    rotate,
    save_keyring,
)
from distillwatch.watermark.radioactive import Radioactivity, radioactivity
from distillwatch.watermark.scheme import Scheme, SchemeError
from distillwatch.watermark.spans import Span, scan_spans
from distillwatch.watermark.tokens import TokenCorpus, encode, load_tokenizer

__all__ = [
    "Detection",
    "DocumentScore",
    "DocumentScores",
    "KeyScore",
    "Keyring",
    "KeyringError",
    "MasterKey",
    "Radioactivity",
    "Scheme",
    "SchemeError",
    "Span",
    "TokenCorpus",
    "WatermarkKey",
    "detect",
    "encode",
    "load_keyring",
    "load_tokenizer",
    "new_keyring",
    "radioactivity",
    "rotate",
    "save_keyring",
    "scan_spans",
    "score_documents",
]
