"""Text of honest look-alike populations: course starter kits and cloud-hosted product prompts.

A course or hackathon hands every student the same notebook, so a cohort's accounts share a
few templates (like a hydra cluster's); an app behind cloud egress sends one product prompt
with its end users' text. Original text, used by ``lookalikes_groups.py`` and
``lookalikes_networks.py``.
"""

from __future__ import annotations

COURSES = ("CS 224N: NLP", "Applied LLM Evaluation", "Intro to ML", "Data Science 101")
#: Starter-kit notebook cells a course hands out: (system prompt or None, user template).
KIT_BASIC = (
    (None, "{x}"),
    ("You are a helpful teaching assistant for {course}. Explain clearly and concisely.", "{x}"),
    (None, "Exercise {n}: use the model to answer the question below.\n\n{x}"),
    ("You are a helpful assistant.", "Summarise in three bullet points:\n{x}"),
    (None, "# Lab {n}\nPrompt: {x}\nAnswer:"),
    ("You are a coding tutor. Give a short hint first, then the solution.", "{x}"),
    ("You are the assistant of our {course} project. Be brief.", "User: {x}"),
)
#: A course on LLM evaluation runs the same CoT or grading notebook over benchmark items.
KIT_EVAL = (
    (None, "{x}\n\n{cot}"),
    (
        "You are grading answers for the {course} lab.",
        "Question: {x}\nStudent answer: {a}\n\nScore the answer from 1 to 10 against the "
        "rubric and justify the score in one sentence.",
    ),
    (None, "Q: {x}\nA: {cot}"),
)
COURSE_MIX = (("organic", 0.35), ("coding", 0.3), ("knowledge", 0.15), ("instructions", 0.2))
#: Products running behind cloud egress: (system prompt, user template).
PRODUCTS = (
    ("You are {co}'s support assistant. Answer politely per the help centre.", "Customer: {x}"),
    ("You are {co}'s document assistant. Answer only from the context.", "Context:\n{c}\n\nQ: {x}"),
    ("Extract JSON with keys intent, product, urgency, summary from the user's text.", "{x}"),
    ("You write product descriptions for {co}'s store: friendly, about 80 words.", "Notes: {x}"),
    ("You are {co}'s meeting-notes assistant: a summary, then action items.", "Excerpt:\n{x}"),
    ("You are {co}'s in-app writing assistant. Improve the text, keep its meaning.", "{x}"),
)
