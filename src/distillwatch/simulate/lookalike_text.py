"""Prompt text of the honest look-alike products: judge rubrics, tutor asks, app frames.

Each list is what a legitimate product would really send: an eval-ops team's rubric, a
tutoring app's system prompt, a browser extension's menu of instruction frames, a batch
classifier's label prompt, a data team's generation template. Accounts fix one or a few of
these (their product's code) and vary the payload per request. All text is original to
distillwatch (Apache-2.0).
"""

from __future__ import annotations

# --- LLM-as-judge rubrics ({q} question, {a}/{b} candidates, {crit} criterion, {ref}) ------
JUDGE_SINGLE = [
    "You are grading a response from our assistant. Criterion: {crit}.\n\nUser question:\n"
    "{q}\n\nAssistant response:\n{a}\n\nGive a score from 1 to 10 and one sentence of "
    "justification. Format: Score: <n>",
    'Evaluate the answer below for {crit}. Output JSON {{"score": 1-10, "reason": "..."}}.'
    "\n\n### Question\n{q}\n### Answer\n{a}",
    "Rubric ({crit}):\n10 = excellent, 7 = good with minor issues, 4 = partly wrong, "
    "1 = wrong or harmful.\n\nQuestion: {q}\nResponse: {a}\n\nAssign a score using the "
    "rubric. Reply with the number first, then your reasoning.",
    "Compare the model answer with the reference answer and rate its {crit} from 1 to 5."
    "\n\nQuestion: {q}\nReference answer: {ref}\nModel answer: {a}\n\nScore:",
    "Does the response below meet our quality bar for {crit}? Answer PASS or FAIL, then "
    "give a one-line reason.\n\n<prompt>\n{q}\n</prompt>\n<response>\n{a}\n</response>",
    "Rate the assistant's reply on a 1-10 scale for {crit}. Be strict: reserve 9-10 for "
    "answers an expert could not improve.\n\n[User]\n{q}\n\n[Assistant]\n{a}\n\nRating:",
]
JUDGE_PAIRWISE = [
    "Which of the two responses better answers the user's question? Consider {crit}. "
    'Answer "A", "B" or "tie", then explain briefly.\n\n[Question]\n{q}\n\n[Response A]\n'
    "{a}\n\n[Response B]\n{b}",
    "We are comparing two versions of our assistant.\n\nQuestion: {q}\n\nResponse A: {a}\n\n"
    "Response B: {b}\n\nJudge which response is better for {crit}. Output A or B and a "
    "score from 1 to 10 for each.",
    "Pairwise evaluation ({crit}).\nPrompt:\n{q}\n\nOutput 1:\n{a}\n\nOutput 2:\n{b}\n\n"
    "Which output is better overall? Reply with 1 or 2 and a one-line reason.",
    "Here are two candidate answers to the same prompt. Decide which one a careful reviewer "
    "would prefer on {crit}; ties are allowed.\n\nPROMPT: {q}\nCANDIDATE A: {a}\n"
    "CANDIDATE B: {b}\n\nVerdict:",
]
JUDGE_CRITERIA = [
    "helpfulness",
    "factual accuracy",
    "harmlessness",
    "instruction following",
    "conciseness",
    "tone and politeness",
    "correctness of the final answer",
    "relevance to the question",
    "completeness",
    "groundedness in the question",
]
JUDGE_SYSTEMS = [
    "You are an impartial judge.",
    "You are an impartial judge evaluating AI assistant responses. Be strict and consistent.",
    "You are a careful evaluator for our quality-assurance pipeline. Follow the rubric.",
    "You are an expert reviewer. Do not let response length or order influence you.",
]

# --- tutoring apps ------------------------------------------------------------------------
TUTOR_SYSTEMS = [
    "You are a patient tutor for {level} students. Explain every step so the student can "
    "follow, and never just give the final answer.",
    "You are {name}, a friendly study helper. Break problems into small steps, check the "
    "student's understanding and encourage them.",
    "You are a homework helper. Show your reasoning step by step, then state the final "
    "answer clearly on its own line.",
    "You are a teaching assistant for an online {level} course. Guide the learner through "
    "the solution one step at a time and point out common mistakes.",
]
TUTOR_LEVELS = ["middle school", "high school", "university", "adult learners", "exam prep"]
TUTOR_NAMES = ["Professor Owl", "StudyBuddy", "Sparky", "Mentor", "Tutorly", "Brainy"]
TUTOR_ASKS = [
    "Can you explain this step by step?",
    "Please solve this step by step so I can understand it.",
    "Walk me through how to solve this, one step at a time.",
    "I don't get how to do this. Show me all the steps.",
    "Explain the reasoning step by step, I have a test tomorrow.",
    "How do I solve this? Please show the working, not just the answer.",
    "Break this down step by step for me.",
    "Can you go through it step by step and explain why each step works?",
    "Explain your thinking at each step please.",
    "Show me the steps and then the final answer.",
]
#: How students lay out a question ({x} question, {ask} step-by-step ask, {ans} a given answer).
TUTOR_LAYOUTS = [
    "{x}\n\n{ask}",
    "{ask}\n\n{x}",
    "{x} {ask}",
    "{x}\n\nThe answer in the back of the book is {ans} How do you get there? {ask}",
    "Homework question:\n{x}\n\nI got this: {ans} Is that right? {ask}",
    "My teacher says the answer is {ans} but I don't understand why.\n\n{x}\n\n{ask}",
]

# --- wrapper apps: (quick-action frame, the pool its users' text usually comes from) -------
WRAPPER_FRAMES = [
    ("Summarize the following:", "organic"),
    ("Translate to {lang}:", "sentences"),
    ("Explain step by step:", "reasoning"),
    ("Rewrite professionally:", "sentences"),
    ("Answer briefly:", "knowledge"),
    ("Fix grammar and spelling:", "sentences"),
    ("Explain this code:", "coding"),
    ("Write a reply to this message:", "sentences"),
    ("Make this shorter:", "instructions"),
    ("Explain like I'm five:", "knowledge"),
    ("Give me 3 key takeaways:", "organic"),
    ("Continue writing:", "instructions"),
    ("Turn this into a bullet list:", "organic"),
    ("Find the bugs in this code:", "coding"),
    ("Solve:", "reasoning"),
    ("Make it sound friendlier:", "sentences"),
]
#: How an app joins its frame to the user's text ({f} frame, {x} text).
WRAPPER_LAYOUTS = [
    "{f}\n\n{x}",
    "{f} {x}",
    "{f}\n\n---\n{x}\n---",
    "{x}\n\n{f}",
    'Instruction: {f}\nText: """{x}"""',
]
APP_SYSTEMS = [
    "You are {app}, a writing assistant inside the user's browser. Do exactly what the "
    "instruction asks and nothing else.",
    "You are the assistant behind the {app} app. Keep answers clear and well formatted.",
    "You are {app}. The user selected a quick action; apply it to their text.",
]
APP_NAMES = ["QuickPrompt", "WriteMate", "TabGenie", "PromptKit", "Clipwise", "DeskPilot"]

# --- localisation -------------------------------------------------------------------------
SUPPORT_SYSTEMS = [
    "You are the customer support assistant for {app}. Always reply in {lang}, politely and "
    "concisely.",
    "You help {app} customers. The customer writes in {lang}; answer in {lang}.",
    "Support bot for {app}. Language: {lang}. If you are unsure, offer to connect a human.",
]
LOCALISE_TEMPLATES = [
    "Translate the following UI text into {lang}. Keep placeholders like {{name}} and "
    "markup unchanged.\n\n{x}",
    "Localise this for {lang}-speaking customers; adapt idioms, keep the meaning.\n\n{x}",
    "Target language: {lang}\nSource (en):\n{x}\n\nReturn only the localised text.",
    "Please produce the {lang} version of this help-centre passage.\n\n{x}",
]

# --- batch classifiers scoring one token with logprobs ------------------------------------
CLASSIFY_TEMPLATES = [
    "Is the following search result relevant to the query? Answer Yes or No.\n\n{x}",
    "Does this message contain personal data? Answer 1 for yes, 0 for no.\n\nMessage: {x}",
    "Rate how toxic this comment is from 1 (not at all) to 5 (extremely). Answer with a "
    "single digit.\n\nComment: {x}",
    "Which team should handle this request? A) Sales B) Support C) Billing D) Other. "
    "Answer with the letter.\n\n{x}",
    "Is the statement below factually supported? Reply True or False.\n\nStatement: {x}",
    "Label the intent of this user message with one word: question, complaint, praise, "
    "request or other.\n\n{x}",
    "Is this text written in a professional tone? Answer Y or N.\n\n{x}",
]

# --- synthetic data at volume: (template, payload pool, output median) ----------------------
SYNTH_TEMPLATES = [
    ("Write a product description (80-120 words) for an online shop, based on: {x}", "batch", 160),
    (
        "Generate 5 FAQ entries (question and answer) a customer might have about: {x}",
        "organic",
        400,
    ),
    (
        "Write pytest unit tests covering normal and edge cases for this function:\n\n{x}",
        "coding",
        500,
    ),
    ("Create a realistic customer support chat (6 turns) about this issue: {x}", "batch", 350),
    ("Write a quiz question with four options and the correct answer about: {x}", "knowledge", 150),
    (
        "Produce 3 paraphrases of the sentence below for our search test set.\n\n{x}",
        "sentences",
        90,
    ),
    ("Write a short blog intro (2 paragraphs) on the topic: {x}", "organic", 300),
    ("Generate a JSON record with fields title, summary and tags for: {x}", "batch", 120),
    ("Write a help-centre article outline for customers asking: {x}", "instructions", 280),
]
SYNTH_SYSTEMS = [
    "You generate realistic sample content for {app}'s catalogue. Follow the format exactly.",
    "You write training and test data for {app}'s own classifiers. Be varied and realistic.",
    "You are a content generator for {app}. Output only the requested content.",
]
TOOL_APP_SYSTEMS = [
    "You are {app}'s assistant. Use the available tools when they help; otherwise answer.",
    "You are an assistant with plugins enabled by the user in {app}. Call tools as needed.",
]
