"""Each account check on constructed feature rows: fires on the tactic, stays quiet on the
benign look-alike that motivates it."""

from typing import Any

import pytest

from distillwatch.detect.checks import CHECKS
from distillwatch.detect.checks.automation import AutomationCheck
from distillwatch.detect.checks.capability_sweep import CapabilitySweepCheck
from distillwatch.detect.checks.cot_harvest import CotHarvestCheck
from distillwatch.detect.checks.grading_harvest import GradingHarvestCheck
from distillwatch.detect.checks.harvest_structure import HarvestStructureCheck
from distillwatch.detect.checks.instruction_frames import InstructionFrameCheck
from distillwatch.detect.checks.logprob_harvest import LogprobHarvestCheck
from distillwatch.detect.checks.model_pivot import ModelPivotCheck
from distillwatch.detect.checks.multilingual_sweep import MultilingualSweepCheck
from distillwatch.detect.checks.proxy_rotation import ProxyRotationCheck
from distillwatch.detect.checks.sensitive_rewrite import SensitiveRewriteCheck
from distillwatch.detect.checks.tool_trace import ToolTraceCheck
from distillwatch.detect.cluster import HydraCheck
from distillwatch.detect.evidence import Finding, Severity, noisy_or

QUIET: dict[str, Any] = {
    "requests": 1000,
    "span_hours": 24 * 7,
    "capabilities": 2,
    "capability_entropy": 0.8,
    "capability_top_share": 0.8,
    "multi_turn_share": 0.5,
    "languages": 1,
    "language_entropy": 0.0,
    "asns": 1,
    "ip24s": 1,
    "account_age_days": 400.0,
    "active_hours_of_day": 10,
}


def row(**changes: Any) -> dict[str, Any]:
    return {**QUIET, **changes}


HARVEST = row(
    requests=900,
    templates=800,
    multi_turn_share=0.0,
    capabilities=8,
    capability_entropy=2.6,
    capability_top_share=0.3,
    cot_share=0.95,
    system_share=0.0,
    replayed_share=0.05,
)

CASES = [
    # (check, tactic row, benign look-alike row)
    # a tutoring app: the same asks, but a product (its tutor system prompt)
    (HarvestStructureCheck, HARVEST, {**HARVEST, "system_share": 0.9}),
    (CotHarvestCheck, row(cot_share=0.9, capabilities=7), row(cot_share=0.1)),
    (GradingHarvestCheck, row(grading_share=0.6, capabilities=6), row(grading_share=0.02)),
    (SensitiveRewriteCheck, row(sensitive_share=0.5), row(sensitive_share=0.01)),
    (
        LogprobHarvestCheck,
        row(logprob_share=1.0, tiny_max_tokens_share=1.0, top_logprobs_max=20),
        # a researcher reading logprobs of full answers
        row(logprob_share=1.0, tiny_max_tokens_share=0.0, multi_n_share=0.0),
    ),
    (
        CapabilitySweepCheck,
        row(capabilities=8, capability_entropy=2.7, multi_turn_share=0.0),
        # a reseller's genuine users: broad, but conversational
        row(capabilities=8, capability_entropy=2.7, multi_turn_share=0.4),
    ),
    (
        MultilingualSweepCheck,
        row(languages=9, language_entropy=2.8, capabilities=6, capability_top_share=0.3),
        # a translation app: many languages, one task
        row(languages=9, language_entropy=2.8, capabilities=3, capability_top_share=0.95),
    ),
    (
        ToolTraceCheck,
        row(tools_share=1.0, tool_results_mean=0.0, multi_turn_share=0.0, system_prompts=40),
        # a coding agent: tools, results and loops
        row(tools_share=1.0, tool_results_mean=3.0, multi_turn_share=0.9),
    ),
    (
        InstructionFrameCheck,
        row(wrapper_frames=12, wrapper_requests=900),
        # a translation app with a frame per target language pair
        row(wrapper_frames=2, wrapper_requests=800),
    ),
    (ProxyRotationCheck, row(asns=40, ip24s=90), row(asns=2, ip24s=3)),
    (ModelPivotCheck, row(new_model_share=0.9), row(new_model_share=0.1)),
    (
        AutomationCheck,
        row(requests=20000, active_hours_of_day=24, multi_turn_share=0.0, account_age_days=1.0),
        row(requests=20000, active_hours_of_day=24, multi_turn_share=0.6),
    ),
]


@pytest.mark.parametrize(
    ("check", "attack", "benign"), CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_check_fires_on_tactic_not_on_lookalike(check, attack, benign) -> None:
    found = check().score_one(attack)
    assert found, f"{check.__name__} found nothing in {attack}"
    assert all(isinstance(f, Finding) and str(f) for f in found)
    assert check().score_one(benign) == []


def test_every_check_is_covered() -> None:
    assert {c for c, _, _ in CASES} == set(CHECKS)


def test_small_accounts_are_not_judged() -> None:
    for check in CHECKS:
        assert not check().applies({"requests": 3})


def test_breadth_raises_severity() -> None:
    narrow = CotHarvestCheck().score_one(row(cot_share=0.9, capabilities=2))[0]
    broad = CotHarvestCheck().score_one(row(cot_share=0.9, capabilities=7))[0]
    assert narrow.severity is Severity.MEDIUM
    assert broad.severity is Severity.HIGH
    assert broad.weight > narrow.weight


def test_hydra_needs_many_light_new_unrelated_accounts() -> None:
    hydra = {
        "accounts": 300,
        "organisations": 300,
        "median_requests": 40,
        "fresh_share": 0.95,
        "requests": 12000,
    }
    assert HydraCheck().score_one(hydra)
    assert not HydraCheck().score_one({**hydra, "organisations": 1})  # one enterprise
    assert not HydraCheck().score_one({**hydra, "fresh_share": 0.1})  # aged customers
    assert not HydraCheck().score_one({**hydra, "accounts": 3})


def test_noisy_or_combines() -> None:
    cot = CotHarvestCheck().score_one(row(cot_share=0.9, capabilities=7))
    rot = ProxyRotationCheck().score_one(row(asns=40))
    assert noisy_or(cot + rot) > noisy_or(cot) > 0.5
    assert noisy_or([]) == 0.0


def test_findings_serialise() -> None:
    finding = CotHarvestCheck().score_one(row(cot_share=0.93, capabilities=7))[0]
    data = finding.to_dict()
    assert data["kind"] == "BroadCotElicitation"
    assert data["tactic"] == "cot_harvesting"
    assert data["text"].startswith("93% of prompts elicit step-by-step reasoning")


def test_greedy_cot_is_evidence_but_not_high() -> None:
    # an evaluation harness: step-by-step prompts over many areas, decoded at temperature 0
    found = CotHarvestCheck().score_one(row(cot_share=0.72, capabilities=8, temp0_share=1.0))
    assert len(found) == 1
    assert found[0].severity == Severity.LOW
    assert "temperature 0" in str(found[0])
    sampled = CotHarvestCheck().score_one(row(cot_share=0.72, capabilities=8, temp0_share=0.0))
    assert sampled[0].severity == Severity.HIGH


def test_one_sample_logprobs_read_as_scoring_many_as_harvest() -> None:
    scoring = row(logprob_share=1.0, tiny_max_tokens_share=1.0, multi_n_share=0.0)
    harvest = row(logprob_share=1.0, tiny_max_tokens_share=1.0, multi_n_share=1.0)
    assert LogprobHarvestCheck().score_one(scoring)[0].severity == Severity.LOW
    assert LogprobHarvestCheck().score_one(harvest)[0].severity == Severity.MEDIUM


def test_a_sweep_replayed_across_models_reads_as_an_evaluation() -> None:
    sweep = row(capabilities=8, capability_entropy=2.7, multi_turn_share=0.0)
    found = CapabilitySweepCheck().score_one({**sweep, "replayed_share": 1.0})
    assert found[0].severity == Severity.LOW and "other models" in str(found[0])
    assert CapabilitySweepCheck().score_one(sweep)[0].severity == Severity.MEDIUM
