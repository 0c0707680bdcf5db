"""Watermarking: mark answers, detect the mark, and test suspect models for it.

Two schemes (``kgw`` green lists and distortion-free ``gumbel`` exponential-minimum
sampling) share one keyed PRF (``prf``); keys come from a rotating keyring with one derived
key per account (``keys``); ``detect`` gives exact p-values over de-duplicated n-grams and
names the matching key; ``radioactive`` tests whether a suspect model learned from marked
text. Everything here runs on NumPy: torch and ``transformers`` are needed only by the
logits processors in ``distillwatch.watermark.hf``.
"""

from distillwatch.watermark.detect import Detection, KeyScore, detect
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
from distillwatch.watermark.tokens import TokenCorpus, encode, load_tokenizer

__all__ = [
    "Detection",
    "KeyScore",
    "Keyring",
    "KeyringError",
    "MasterKey",
    "Radioactivity",
    "Scheme",
    "SchemeError",
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
]
