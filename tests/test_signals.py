"""Per-request signals: contract, edge cases and hand-written multilingual examples."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

from distillwatch.schema import REQUESTS_SCHEMA
from distillwatch.signals import CAPABILITIES, OUTPUT_SCHEMA, SIGNALS, compute


def batch_of(texts: list[str | None], **cols: list[object]) -> pa.RecordBatch:
    arrays = [pa.array(texts, pa.string())]
    names = ["last_user"]
    for name, values in cols.items():
        arrays.append(pa.array(values, REQUESTS_SCHEMA.field(name).type))
        names.append(name)
    return pa.record_batch(arrays, names=names)


def column(texts: list[str | None], name: str, **cols: list[object]) -> list[object]:
    return compute(batch_of(texts, **cols)).column(name).to_pylist()


def test_output_contract_names_and_types() -> None:
    expected = {
        "capability": pa.string(),
        "capability_conf": pa.float32(),
        "cot_elicit": pa.bool_(),
        "grading_request": pa.bool_(),
        "sensitive_rewrite": pa.bool_(),
        "language": pa.string(),
        "template_id": pa.uint64(),
        "lsh_0": pa.uint64(),
        "lsh_1": pa.uint64(),
        "lsh_2": pa.uint64(),
        "lsh_3": pa.uint64(),
        "prompt_chars": pa.int32(),
    }
    assert {f.name: f.type for f in OUTPUT_SCHEMA} == expected
    for sig in SIGNALS:
        assert set(sig.inputs) <= set(REQUESTS_SCHEMA.names), sig.name


def test_row_alignment_nulls_and_empty_strings() -> None:
    texts = [None, "", "Translate to German: good morning", None, "   ", "Translate to German: hi"]
    out = compute(batch_of(texts))
    assert out.num_rows == len(texts)
    assert out.schema == OUTPUT_SCHEMA
    assert out.column("prompt_chars").to_pylist() == [0, 0, 33, 0, 3, 23]
    for name in OUTPUT_SCHEMA.names:
        assert out.column(name).null_count == 0, name
    assert set(out.column("capability").to_pylist()) <= set(CAPABILITIES)
    rows = out.to_pylist()
    assert rows[0] == rows[3]  # identical inputs, identical signals
    assert rows[0]["lsh_0"] == 0 and rows[0]["language"] == "und"
    assert rows[2]["capability"] == "translation"


def test_batch_without_text_column_and_large_batch_chunking() -> None:
    empty = pa.record_batch([pa.array([1, 2], pa.int32())], names=["n_tools"])
    out = compute(empty)
    assert out.column("capability").to_pylist() == ["tool_use", "tool_use"]
    big = batch_of([f"Question {i}: what is {i} plus {i}?" for i in range(40_000)])
    res = compute(big)
    assert res.num_rows == 40_000
    assert res.column("template_id").to_pylist()[0] == res.column("template_id").to_pylist()[-1]


@pytest.mark.parametrize(
    "text",
    [
        "Q: What is 17 * 23?\nA: Let's think step by step.",
        "Explain your reasoning step by step before giving the final answer.",
        "Articulate the internal reasoning behind this completed response, step by step.",
        "Show your work.",
        "Walk me through your thought process, then answer.",
        "请一步一步地思考，并写出推理过程。",
        "Denke Schritt für Schritt nach und begründe deine Antwort.",
        "Résous ce problème étape par étape.",
        "Resuelve paso a paso.",
        "Реши задачу шаг за шагом.",
        "段階的に考えてください。",
    ],
)
def test_cot_positive(text: str) -> None:
    assert column([text], "cot_elicit") == [True]


@pytest.mark.parametrize(
    "text",
    [
        "What is the capital of Australia?",
        "Give me a step-by-step guide to baking sourdough bread.",
        "Write a haiku about autumn.",
        "Wie spät ist es?",
        "",
    ],
)
def test_cot_negative(text: str) -> None:
    assert column([text], "cot_elicit") == [False]


@pytest.mark.parametrize(
    "text",
    [
        "Please act as an impartial judge and evaluate the quality of the response provided "
        "by an AI assistant. Rate the response on a scale of 1 to 10: [[rating]]",
        "Here are two responses. Which response is better, A or B?",
        "Score the following answer from 0 to 5 for correctness.",
        "Compare the two answers below and rank them.",
        "请给下面的回答打分。",
        "Bewerte die folgenden Antworten.",
    ],
)
def test_grading_positive(text: str) -> None:
    assert column([text], "grading_request") == [True]


@pytest.mark.parametrize(
    "text",
    ["What is the interest rate on a savings account?", "Answer the question: who wrote Hamlet?"],
)
def test_grading_negative(text: str) -> None:
    assert column([text], "grading_request") == [False]


def test_sensitive_rewrite() -> None:
    texts = [
        "Rewrite these politically sensitive questions into safe alternatives: ...",
        "请将以下政治敏感问题改写为安全的替代问题",
        "Produce a censorship-compliant version of this question.",
        "Rewrite this paragraph to be more concise.",
        "What happened at Tiananmen Square in 1989?",
    ]
    assert column(texts, "sensitive_rewrite") == [True, True, True, False, False]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("What is the best way to learn a new language quickly?", "en"),
        ("Wie kann ich meine Steuererklärung online einreichen und was brauche ich dafür?", "de"),
        ("Quelle est la meilleure façon de cuisiner des pâtes pour les enfants?", "fr"),
        ("¿Cuál es la mejor manera de aprender a programar en casa?", "es"),
        ("Qual é a melhor maneira de aprender inglês sozinho em casa?", "pt"),
        ("Come posso migliorare la mia pronuncia della lingua inglese?", "it"),
        ("请解释一下量子计算的基本原理。", "zh"),
        ("量子コンピュータの仕組みを説明してください。", "ja"),
        ("양자 컴퓨터의 원리를 설명해 주세요.", "ko"),
        ("Объясни, пожалуйста, принцип работы квантового компьютера.", "ru"),
        ("اشرح لي مبدأ عمل الحاسوب الكمي", "ar"),
        ("12345 !!! ???", "und"),
    ],
)
def test_language(text: str, lang: str) -> None:
    assert column([text], "language") == [lang]


def test_capability_metadata_and_text() -> None:
    texts = [
        "Translate to German: The weather is nice today.",
        "Write a Python function that returns the n-th Fibonacci number.",
        "What is the weather in Paris?",
    ]
    caps = column(texts, "capability", n_tools=[0, 0, 3])
    assert caps[0] == "translation"
    assert caps[1] == "coding"
    assert caps[2] == "tool_use"  # tool definitions present


def test_template_id_masks_payload() -> None:
    texts = [
        "Translate to French: I would like a cup of coffee.",
        "Translate to French: Where is the train station?",
        'Q: "How old is the universe?"\nA: Let\'s think step by step.',
        'Q: "Why is the sky blue?"\nA: Let\'s think step by step.',
        "Summarize the following article in 3 sentences.",
        "Write a poem about the sea.",
    ]
    ids = column(texts, "template_id")
    assert ids[0] == ids[1]
    assert ids[2] == ids[3]
    assert len({ids[0], ids[2], ids[4], ids[5]}) == 4


def test_lsh_near_duplicates_share_bands_unrelated_do_not() -> None:
    base = (
        "You are a helpful assistant. Solve the following problem carefully and explain each "
        "step of your reasoning, then state the final answer on its own line. Problem: "
    )
    texts = [
        base + "a train leaves at noon",
        base + "a car leaves at dawn",
        "Write a limerick about a cat who loves to sleep in the sun all day long.",
    ]
    out = compute(batch_of(texts)).to_pylist()
    bands = [{r[f"lsh_{b}"] for b in range(4)} for r in out]
    assert bands[0] & bands[1]
    assert not bands[0] & bands[2]


def test_hashes_deterministic_across_processes() -> None:
    code = (
        "import pyarrow as pa; from distillwatch.signals import compute; "
        "b = pa.record_batch([pa.array(['Translate to French: hello there'])], ['last_user']); "
        "r = compute(b).to_pylist()[0]; print(r['template_id'], r['lsh_0'], r['lsh_3'])"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1
    here = compute(batch_of(["Translate to French: hello there"])).to_pylist()[0]
    assert runs.pop().split() == [str(here["template_id"]), str(here["lsh_0"]), str(here["lsh_3"])]
