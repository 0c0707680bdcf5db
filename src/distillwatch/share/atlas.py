"""Campaign tactics as STIX attack-patterns, with MITRE ATLAS (or ATT&CK) references.

The attack-patterns are shared vocabulary: their ids and content are the same at every
member (authored by the distillwatch project identity, fixed timestamps), so a hub holds one
copy of "chain-of-thought harvesting" that every member's campaigns point to. A tactic gets
an ATLAS reference only where one fits; an unknown tactic still gets an attack-pattern, with
only the distillwatch reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillwatch.share.stixbase import FIXED, PROJECT_IDENTITY, base, sid


@dataclass(frozen=True)
class Technique:
    source: str  # "mitre-atlas" | "mitre-attack"
    external_id: str
    name: str


EXTRACT = Technique("mitre-atlas", "AML.T0024.002", "Extract AI Model")
API_ACCESS = Technique("mitre-atlas", "AML.T0040", "AI Model Inference API Access")
ACCOUNTS = Technique("mitre-atlas", "AML.T0021", "Establish Accounts")
PROXY = Technique("mitre-attack", "T1090", "Proxy")

#: tactic -> (display name, what it is, techniques that fit).
TACTICS: dict[str, tuple[str, str, tuple[Technique, ...]]] = {
    "hydra_cluster": (
        "Hydra cluster of light accounts",
        "Many new accounts, each under rate limits, run by one actor.",
        (ACCOUNTS, EXTRACT),
    ),
    "proxy_rotation": (
        "Proxy exit rotation",
        "Requests spread over many residential or cloud proxy exits to hide one source.",
        (PROXY,),
    ),
    "bulk_harvesting": (
        "Bulk output harvesting",
        "High-volume automated prompting to collect model outputs for training.",
        (EXTRACT, API_ACCESS),
    ),
    "capability_sweep": (
        "Capability sweep",
        "Prompts built to cover capability areas systematically.",
        (EXTRACT,),
    ),
    "cot_harvesting": (
        "Chain-of-thought harvesting",
        "Prompts that make the model articulate its reasoning step by step.",
        (EXTRACT,),
    ),
    "grading_harvesting": (
        "Reward-signal harvesting",
        "Prompts that make the model grade, score or rank answers.",
        (EXTRACT,),
    ),
    "logprob_harvesting": (
        "Log-probability harvesting",
        "Requests for token probabilities, the teacher distribution of distillation.",
        (EXTRACT,),
    ),
    "multilingual_sweep": (
        "Multilingual sweep",
        "The same tasks asked across many languages.",
        (EXTRACT,),
    ),
    "tool_trace_harvesting": (
        "Tool-use trace harvesting",
        "Synthetic agent loops to collect tool-calling behaviour.",
        (EXTRACT,),
    ),
    "model_pivot": (
        "Pivot to a new model",
        "The campaign moves to a newly released model within hours.",
        (API_ACCESS, EXTRACT),
    ),
    "sensitive_rewrite": (
        "Sensitive-rewrite harvesting",
        "Requests for 'safe' rewrites of politically sensitive questions.",
        (EXTRACT,),
    ),
}


def attack_pattern(tactic: str) -> dict[str, Any]:
    """The shared attack-pattern object of a distillwatch tactic."""
    name, what, techniques = TACTICS.get(
        tactic, (tactic.replace("_", " ").capitalize(), f"distillwatch tactic {tactic}.", ())
    )
    refs: list[dict[str, str]] = [{"source_name": "distillwatch", "external_id": tactic}]
    refs += [
        {"source_name": t.source, "external_id": t.external_id, "description": t.name}
        for t in techniques
    ]
    return base(
        "attack-pattern",
        sid("attack-pattern", tactic),
        FIXED,
        created_by_ref=PROJECT_IDENTITY["id"],
        name=name,
        description=what,
        external_references=refs,
    )
