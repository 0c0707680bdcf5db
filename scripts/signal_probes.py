"""Prompts built to test the signals: judge prompts, chain-of-thought asks, sensitive rewrites.

Used by ``train_signals.py``: judge prompts (``JUDGE_TRAIN`` to train the ``grading`` class,
``JUDGE_TEST``'s public-style phrasings held out), held-out chain-of-thought suffixes and
hard negatives for ``cot_elicit``, and constructed positives and negatives for
``sensitive_rewrite``.
"""

from __future__ import annotations

import random

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


def judge_prompts(pool: list[str], rng: random.Random, n: int, templates: list[str]) -> list[str]:
    """Judge prompts: a template filled with a question and candidate 'answers' from the pool."""
    return [
        rng.choice(templates).format(
            q=rng.choice(pool)[:300], a=rng.choice(pool)[:400], b=rng.choice(pool)[:400]
        )
        for _ in range(n)
    ]
