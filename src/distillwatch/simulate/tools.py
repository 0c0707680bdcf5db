"""Tool definitions, agent system prompts and enterprise job templates (original text).

Coding agents send the same long system prompt and tool set on every call of a session and
feed tool results back; tool-trace harvesters send many *different* synthetic tool sets with
one-shot tasks. Enterprise batch jobs send one template with many payloads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from distillwatch.simulate.phrasing import pick


def tool(
    name: str, description: str, params: dict[str, str], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An OpenAI-style function tool with string/number/boolean parameters."""
    props = {k: {"type": t, "description": k.replace("_", " ")} for k, t in params.items()}
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": props,
                "required": list(required or tuple(params)[:1]),
            },
        },
    }


AGENT_TOOLS = [
    tool("read_file", "Read a file from the repository.", {"path": "string"}),
    tool(
        "write_file",
        "Write content to a file, replacing it.",
        {"path": "string", "content": "string"},
        ("path", "content"),
    ),
    tool("apply_patch", "Apply a unified diff to the working tree.", {"patch": "string"}),
    tool(
        "run_shell",
        "Run a shell command in the sandbox and return stdout/stderr.",
        {"command": "string", "timeout_s": "number"},
    ),
    tool(
        "search_code",
        "Search the repository with a regular expression.",
        {"pattern": "string", "glob": "string"},
    ),
    tool("list_dir", "List a directory.", {"path": "string"}),
]

_AGENT_SYSTEM_BASE = (
    "You are {name}, an autonomous software engineering agent working inside the user's "
    "repository. You can read and write files, run shell commands and search the code with "
    "the provided tools. Follow these rules:\n"
    "1. Before editing, read the relevant files and understand the existing conventions.\n"
    "2. Make the smallest change that solves the task; do not reformat unrelated code.\n"
    "3. After every change, run the project's tests or linters and read their output.\n"
    "4. Never commit secrets, never run destructive commands (rm -rf, force pushes).\n"
    "5. When a command fails, read the error carefully, form a hypothesis, and try again.\n"
    "6. Keep the user informed with short status notes; ask when requirements are unclear.\n"
    "7. Prefer standard library solutions; add dependencies only when clearly justified.\n"
    "8. Write tests for new behaviour and keep them fast and deterministic.\n"
    "Environment: {os}; shell: bash; the working directory is the repository root. The "
    "project uses {lang}. Output format: use tool calls for actions; reply in Markdown when "
    "the task is done, summarising what changed and how it was verified.\n"
)
_AGENT_NAMES = ["CodePilot", "DevAssist", "Forge", "RepoBot", "Patchwork", "Builder"]
_AGENT_LANGS = [
    "Python 3.12 with pytest",
    "TypeScript with Node 20 and vitest",
    "Go 1.22",
    "Rust (cargo test)",
    "Java 21 with Gradle",
]


def agent_system(rng: np.random.Generator) -> str:
    """One long coding-agent system prompt (an account reuses it on every call)."""
    return _AGENT_SYSTEM_BASE.format(
        name=pick(rng, _AGENT_NAMES), os="Linux x86_64", lang=pick(rng, _AGENT_LANGS)
    )


_AGENT_TASKS = [
    "Fix the failing test in {f}: {x}",
    "Add input validation to {f} and tests for it.",
    "Refactor {f} to remove the duplicated parsing logic.",
    "Implement this function in {f}:\n{x}",
    "The CI build fails with a type error in {f}. Fix it.",
    "Add a --verbose flag to the CLI and document it in the README.",
    "Write unit tests for {f}; aim for the edge cases.",
    "Why is {f} slow? Profile and speed it up.",
    "Upgrade the deprecated API calls in {f}.",
    "{x}",
]
_FILES = [
    "src/parser.py",
    "src/api/routes.ts",
    "internal/store/db.go",
    "src/lib.rs",
    "app/models/user.py",
    "src/utils/date.ts",
    "pkg/cache/lru.go",
    "tests/test_io.py",
]
TOOL_RESULTS = [
    "exit code 0\n12 passed in 0.84s",
    "exit code 1\nFAILED tests/test_io.py::test_roundtrip - AssertionError: assert 3 == 4",
    "def parse(line):\n    parts = line.split(',')\n    return [p.strip() for p in parts]",
    "src/parser.py:42: error: Argument 1 has incompatible type",
    "Patch applied: 1 file changed, 6 insertions(+), 2 deletions(-)",
    "README.md\nsrc/\ntests/\npyproject.toml",
    "3 matches:\nsrc/parser.py:17\nsrc/cli.py:88\ntests/test_io.py:5",
    "Wrote 1.2 KB to src/utils/date.ts",
]


def agent_task(rng: np.random.Generator, payload: str) -> str:
    return pick(rng, _AGENT_TASKS).format(f=pick(rng, _FILES), x=payload)


def tool_call(rng: np.random.Generator, tools: list[dict[str, Any]]) -> dict[str, str]:
    """A compact tool call against one of ``tools`` (name + short JSON arguments)."""
    fn = tools[int(rng.integers(len(tools)))]["function"]
    first = next(iter(fn["parameters"]["properties"]), "query")
    return {"name": fn["name"], "arguments": orjson.dumps({first: pick(rng, _FILES)}).decode()}


# --- synthetic tool sets for tool-trace harvesting --------------------------------------
_DOMAINS = {
    "weather": ("get_forecast", {"city": "string", "days": "integer", "units": "string"}),
    "travel": ("search_flights", {"origin": "string", "destination": "string", "date": "string"}),
    "finance": ("get_stock_quote", {"ticker": "string", "exchange": "string"}),
    "commerce": ("lookup_order", {"order_id": "string", "include_items": "boolean"}),
    "calendar": ("create_event", {"title": "string", "start": "string", "duration_min": "integer"}),
    "email": ("send_email", {"to": "string", "subject": "string", "body": "string"}),
    "maps": ("find_places", {"query": "string", "near": "string", "radius_m": "integer"}),
    "database": ("run_sql", {"query": "string", "database": "string"}),
    "currency": ("convert_currency", {"amount": "number", "from": "string", "to": "string"}),
    "crm": ("update_contact", {"contact_id": "string", "field": "string", "value": "string"}),
    "devops": ("restart_service", {"service": "string", "region": "string"}),
    "health": ("book_appointment", {"clinic": "string", "date": "string", "reason": "string"}),
    "music": ("play_track", {"title": "string", "artist": "string"}),
    "news": ("search_news", {"topic": "string", "since": "string", "limit": "integer"}),
}
_VERBS = ["get", "search", "fetch", "lookup", "query", "list"]


def synthetic_toolset(rng: np.random.Generator, k: int) -> list[dict[str, Any]]:
    """``k`` tools from random domains with perturbed names (harvesters vary tool sets)."""
    keys = list(_DOMAINS)
    out = []
    for i in rng.choice(len(keys), size=min(k, len(keys)), replace=False):
        name, params = _DOMAINS[keys[int(i)]]
        if rng.random() < 0.5:
            name = f"{pick(rng, _VERBS)}_{name.split('_', 1)[1]}_v{int(rng.integers(1, 4))}"
        out.append(tool(name, f"{keys[int(i)].title()} API: {name.replace('_', ' ')}.", params))
    return out


_RESULT_VALUES = [
    "ok",
    "not found",
    "3 results",
    "12.5",
    "2026-03-04T09:30:00Z",
    "confirmed",
    "pending",
    "sunny, 18 C",
    "EUR 41.20",
]


def fake_tool_result(rng: np.random.Generator, call: dict[str, str]) -> str:
    """A short, plausible JSON result for ``call`` (harvesters fabricate tool outputs)."""
    args = orjson.loads(call["arguments"])
    res = {"status": pick(rng, ("ok", "ok", "ok", "error")), "result": pick(rng, _RESULT_VALUES)}
    return orjson.dumps({**args, **res}).decode()


# --- enterprise batch templates ---------------------------------------------------------
BATCH_TEMPLATES = [
    "Classify the sentiment of the following customer review as positive, negative or "
    "neutral. Respond with one word.\n\nReview: {x}",
    "Extract all organisations, people and dates from the text below. Return JSON with keys "
    "organisations, people, dates.\n\nText: {x}",
    "Summarise the following support ticket in one sentence for the triage queue.\n\nTicket: {x}",
    "You are a content moderation classifier. Label the message with exactly one of: safe, "
    "spam, harassment, self_harm, other.\n\nMessage: {x}",
    "Rewrite the following product description for an online listing in at most 60 words.\n\n"
    "Description: {x}",
    "Does the following user question require a human agent? Answer yes or no.\n\nQuestion: {x}",
    "Assign one category (billing, technical, account, shipping, other) to this email.\n\n"
    "Email: {x}",
    "Generate three search keywords for the following text, comma-separated.\n\n{x}",
    "Detect the language of the following text. Return only the ISO 639-1 code.\n\n{x}",
    "Redact any personal data (names, emails, phone numbers) in the text below and return "
    "the redacted text.\n\n{x}",
]
BATCH_OUTPUT_TOKENS = [2, 60, 40, 3, 70, 2, 3, 12, 2, 90]
