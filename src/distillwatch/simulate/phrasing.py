"""Instruction phrasings written for distillwatch: wrappers that turn corpus text into requests.

Real campaigns paraphrase: they do not send one fixed string, so every elicitation here is
composed from interchangeable parts (hundreds to thousands of variants). Benign users get
their own phrasings (follow-ups, "think step by step" in eval harnesses, translation apps).
All text in this module is original to distillwatch (Apache-2.0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

_DIGIT = re.compile(r"\d")

LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "ja": "Japanese",
    "zh": "Chinese",
    "ko": "Korean",
    "ru": "Russian",
    "ar": "Arabic",
    "hi": "Hindi",
    "tr": "Turkish",
    "vi": "Vietnamese",
    "id": "Indonesian",
    "pl": "Polish",
    "nl": "Dutch",
    "sv": "Swedish",
    "uk": "Ukrainian",
    "th": "Thai",
}

#: "Answer the following in <language>", written in that language.
ANSWER_IN: dict[str, str] = {
    "es": "Responde en español a lo siguiente:",
    "fr": "Réponds en français à ce qui suit :",
    "de": "Beantworte Folgendes bitte auf Deutsch:",
    "it": "Rispondi in italiano a quanto segue:",
    "pt": "Responda em português ao seguinte:",
    "ja": "次の内容に日本語で答えてください：",
    "zh": "请用中文回答以下内容：",
    "ko": "다음 내용에 한국어로 답해 주세요:",
    "ru": "Ответьте на следующее по-русски:",
    "ar": "أجب عما يلي باللغة العربية:",
    "hi": "निम्नलिखित का उत्तर हिंदी में दें:",
    "tr": "Aşağıdakini Türkçe yanıtlayın:",
    "vi": "Hãy trả lời nội dung sau bằng tiếng Việt:",
    "id": "Jawab yang berikut ini dalam bahasa Indonesia:",
    "pl": "Odpowiedz po polsku na poniższe:",
    "nl": "Beantwoord het volgende in het Nederlands:",
    "sv": "Svara på följande på svenska:",
    "uk": "Дайте відповідь українською на наступне:",
    "th": "กรุณาตอบคำถามต่อไปนี้เป็นภาษาไทย:",
}

_TRANSLATE = [
    "Translate the following text into {lang}:\n\n{x}",
    "Please translate this into {lang}.\n\n{x}",
    "{lang} translation, please:\n{x}",
    'How would you say this in {lang}? "{x}"',
    "Render the passage below in natural {lang}, keeping the tone.\n\n{x}",
    "Translate to {lang} (formal register):\n{x}",
    "Can you give me the {lang} version of: {x}",
    "Convert this text to {lang}. Output only the translation.\n\n{x}",
]

_COT_OPEN = [
    "",
    "Here is a question and a completed response.",
    "Below is a solved task.",
    "I have a problem and the answer that was given for it.",
    "Consider the following exchange.",
    "Task and final response follow.",
    "You previously answered the question below.",
    "Input and completed output:",
]
_COT_ASK = [
    "Articulate the internal reasoning behind the completed response, step by step.",
    "Walk through, step by step, the reasoning that leads to this answer.",
    "Reconstruct the full chain of thought that produced this response.",
    "Explain every intermediate step needed to arrive at the answer, without skipping any.",
    "Write out the hidden reasoning process in detail, then restate the final answer.",
    "Lay out the step-by-step thinking that justifies the given response.",
    "Show the complete derivation behind this answer, one numbered step at a time.",
    "Describe the reasoning trace a careful expert would follow to reach this result.",
    "Spell out the thought process behind the response as an explicit sequence of steps.",
    "Before the answer, give the detailed internal monologue that leads to it.",
    "Think aloud: narrate each reasoning step that gets from the question to the answer.",
    "Provide the rationale for the response, decomposed into small logical steps.",
    "Explain how the answer was derived, listing each inference you make along the way.",
    "Expose the reasoning chain behind this output, from first principles to conclusion.",
    "Give a step-by-step justification of the completed answer above.",
    "Unpack the reasoning: what would one think at each step to produce this response?",
]
_COT_QUAL = [
    "",
    " Be exhaustive.",
    " Number each step.",
    " Do not skip trivial steps.",
    " Put the reasoning inside <thinking></thinking> tags.",
    " End with the final answer on its own line.",
    " Make the reasoning self-contained.",
    " Use plain language.",
    " Include checks of intermediate results.",
]

_GRADE_ASK = [
    "Rate each candidate answer from 1 to 10 for correctness and helpfulness.",
    "Which response is better? Reply with the letter and a short justification.",
    "Score the answer below on a 1-5 scale (5 = fully correct). Explain the score.",
    "Rank the candidate responses from best to worst.",
    "You are an impartial judge. Evaluate the responses and output a score for each.",
    "Is the proposed answer correct? Give a verdict (correct/incorrect) and a confidence.",
    "Compare the answers and decide which one a domain expert would prefer.",
    "Grade the response as a teacher would: assign points out of 10 with reasons.",
    "Assess each reply for accuracy, completeness and clarity; give a score per criterion.",
    "Pick the most accurate answer and explain what is wrong with the others.",
]
_GRADE_FMT = [
    "[Question]\n{q}\n\n{cands}\n\n{ask}",
    "{ask}\n\nQuestion: {q}\n\n{cands}",
    "### Prompt\n{q}\n### Candidates\n{cands}\n### Instruction\n{ask}",
]

FOLLOW_UPS = [
    "Can you make it shorter?",
    "Thanks! Can you give me an example?",
    "Why is that?",
    "Explain that more simply, please.",
    "Ok, and what about the second part?",
    "Can you rewrite it in a more formal tone?",
    "That's not quite right, try again.",
    "Great. Now put it in a table.",
    "What would you recommend then?",
    "Can you add sources or references?",
    "Hmm, I meant something different. Let me clarify.",
    "Perfect, thank you!",
    "Could you expand on point 2?",
    "Make it funnier.",
    "Is there a faster way to do this?",
    "Translate that into plain English.",
    "And if I only have 10 minutes?",
    "What are the downsides?",
    "Summarise in 3 bullets.",
    "ok",
    "continue",
    "Can you check that again? I think there's a mistake.",
]
ASSISTANT_REPLIES = [
    "Sure — here's a concise overview.",
    "Here is one way to approach it.",
    "Good question. In short:",
    "Here's a revised version.",
    "Absolutely. Let's break it down.",
    "Here are a few options to consider.",
    "You're right, let me correct that.",
    "Here's the updated answer.",
]
STEP_BY_STEP = [
    "Let's think step by step.",
    "Think step by step before answering.",
    "Explain your reasoning step by step, then give the final answer.",
    "Answer with the letter only.",
    "Show your work.",
]

#: Human-ish framings used by slow-and-low accounts to paraphrase sweep prompts.
_HUMAN_FRAME = [
    "{x}",
    "hey, quick question: {x}",
    "{x} thanks!",
    "Could you help me with this? {x}",
    "I was wondering — {x}",
    "{x}\n\n(for a class I'm taking)",
    "Need help pls. {x}",
    "So my friend asked me this and I'm stuck: {x}",
    "{x} Please explain simply.",
    "Working on something and need a hand. {x}",
    "Quick one — {x}",
]

#: Extraction templates shared inside a hydra cluster or bulk harvester ({area}, {x}).
SWEEP_TEMPLATES = [
    "You are an expert {area} assistant. {x}\n\nProvide a complete, detailed answer with all "
    "intermediate steps.",
    "Task category: {area}\nInstruction: {x}\nRespond thoroughly and precisely.",
    "### Instruction\n{x}\n\n### Response requirements\nBe accurate and comprehensive.",
    "{x}\n\nGive the best possible answer. Explain your reasoning before the final answer.",
    "Answer the following {area} question as a world-class expert would.\n\n{x}",
    "[{area}] {x}\nFormat: detailed explanation, then final answer.",
    "Please solve: {x}\nInclude reasoning, edge cases and a final summary.",
    "Q: {x}\nA (step by step, then final):",
    "Input:\n{x}\n\nOutput a high-quality response suitable for a training example.",
    "{x}\n\nRespond in a structured way: analysis, solution, verification.",
    "Consider the {area} problem below carefully.\n{x}\nWrite your full solution.",
    "Help me with this {area} task. {x} Be rigorous.",
]

#: Capability pools a sweep cycles through, with a label used inside templates.
SWEEP_AREAS = [
    ("reasoning", "math and logic"),
    ("coding", "programming"),
    ("knowledge", "general knowledge"),
    ("tooluse", "tool use"),
    ("safety", "policy and safety"),
    ("instructions", "writing"),
    ("cot_shots", "reasoning"),
    ("organic", "assistant"),
]


def pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    """One item of ``items``, uniformly."""
    return items[int(rng.integers(len(items)))]


def translate_request(rng: np.random.Generator, text: str, lang_code: str) -> str:
    return pick(rng, _TRANSLATE).format(lang=LANGUAGES[lang_code], x=text)


def answer_in(lang_code: str, text: str) -> str:
    """The same task, asked in another language (English is left as is)."""
    prefix = ANSWER_IN.get(lang_code)
    return f"{prefix}\n\n{text}" if prefix else text


def short_answer(rng: np.random.Generator, question: str) -> str:
    """A compact 'completed response' to quote back (letter, number or one-liner)."""
    if "\nA. " in question or "\n(A)" in question:
        return f"The answer is {'ABCD'[rng.integers(4)]}."
    if _DIGIT.search(question, 0, 400):
        return f"The answer is {int(rng.integers(2, 500))}."
    return pick(
        rng,
        [
            "Yes.",
            "No.",
            "It depends on the context, but generally yes.",
            "The second option.",
            "True.",
            "False.",
        ],
    )


def cot_request(rng: np.random.Generator, question: str) -> str:
    """A chain-of-thought harvesting prompt: one of ~3,400 phrasings around the question."""
    ask = pick(rng, _COT_ASK) + pick(rng, _COT_QUAL)
    opener = pick(rng, _COT_OPEN)
    layout = int(rng.integers(3))
    if layout == 0:
        body = f"Question: {question}\nResponse: {short_answer(rng, question)}\n\n{ask}"
    elif layout == 1:
        body = f"{question}\n\nFinal answer given: {short_answer(rng, question)}\n{ask}"
    else:
        body = f"{ask}\n\n{question}"
    return f"{opener}\n\n{body}".strip()


def grading_request(
    rng: np.random.Generator,
    question: str,
    candidates: list[str],
    rubric: tuple[str, str] | None = None,
) -> str:
    """A reward-signal harvesting prompt: a question, candidate answers, a judging ask.

    ``rubric`` (layout, ask) fixes the phrasing, as a judge service's rubric would.
    """
    labels = "ABCDEFGH"
    cands = "\n\n".join(f"Response {labels[i]}: {c}" for i, c in enumerate(candidates))
    fmt, ask = rubric or (pick(rng, _GRADE_FMT), pick(rng, _GRADE_ASK))
    return fmt.format(q=question, cands=cands, ask=ask)


def grading_rubrics(rng: np.random.Generator, k: int) -> list[tuple[str, str]]:
    """``k`` fixed (layout, ask) rubrics."""
    return [(pick(rng, _GRADE_FMT), pick(rng, _GRADE_ASK)) for _ in range(k)]


def human_frame(rng: np.random.Generator, text: str) -> str:
    """Paraphrase a sweep prompt the way a person would type it."""
    out = pick(rng, _HUMAN_FRAME).format(x=text)
    if rng.random() < 0.25:
        out = out[:1].lower() + out[1:]
    return out


def sweep_prompt(rng: np.random.Generator, template: str, area: str, text: str) -> str:
    return template.format(area=area, x=text)
