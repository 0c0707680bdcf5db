"""Traffic simulator: realistic API traffic with labelled distillation campaigns.

Providers use it to rehearse and to tune thresholds: it writes a traffic log v1 file
(``traffic.jsonl.zst``), ``labels.jsonl`` (ground truth per account) and ``scenario.toml``
(the resolved scenario, so any run can be reproduced byte for byte with the same seed).

    from distillwatch.simulate import load_scenario, simulate
    summary = simulate(load_scenario("my.toml", accounts=500, seed=3), "out/")

Writing a scenario
------------------
Start from ``scenarios/default.toml`` (every key is commented there). Your file only needs
the keys you change; tables merge over the default key by key:

    [simulation]
    accounts = 5000
    days = 14

    [models]
    release_hour = 200        # the new model ships 200 h after start

    [populations.batch]       # more enterprise batch traffic (a hard negative)
    share = 0.05
    items_per_run = 2000

    [populations.casual]
    share = 0                 # a population with share 0 is absent

A ``[[campaigns]]`` list in your file replaces the default campaigns entirely:

    [[campaigns]]
    tactic = "hydra"          # bulk | hydra | reseller_mix | cot | grading | tool_trace |
    share = 0.2               # multilingual | logprob | slow_low | pivot
    max_requests_per_hour = 5
    payment_fingerprints = 3

    [[campaigns]]
    id = "acme-pivot"         # optional; default "campaign-NN-<tactic>"
    tactic = "pivot"
    accounts = 12
    pivot_within_hours = 3.0

Size a campaign with ``accounts`` (absolute) or ``share`` (of all accounts); benign
populations share the remaining accounts by their ``share``. Unknown keys, wrong types and
impossible values raise :class:`ScenarioError` naming the key. ``corpora = "DIR"`` uses a
full corpora directory instead of the packaged permissive sample.

Weaker attack variants
----------------------
Every tactic has knobs that make it look more like honest traffic (defaults keep the
original behaviour): the elicit tactics (cot, grading, tool_trace, multilingual, logprob)
take ``timing = "human"`` (diurnal sessions with think time), ``network = "home"`` and
``system_prompt_share`` (an app persona); cot ``elicit_share``, grading
``rubric_templates`` (a fixed rubric set, like a judge service), tool_trace
``toolset_pool`` and ``tool_results_share``, multilingual ``repeat_share``, logprob
``tiny_share``; bulk ``system_prompt_share`` and ``templates``; hydra ``countries``,
``exit_hours`` and ``payment_fingerprints = 0`` (one card per account); slow_low
``templates`` and ``cot_share``; pivot ``new_model_share``. See ``scenarios/default.toml``.

Scenario families
-----------------
A family file is a scenario file whose values may be ranges ``[lo, hi]`` (log-uniform when
wide) or ``{choice = [...]}``, with ``present = p`` on populations and campaigns; draw ``k``
is a concrete scenario, the same for the same (family name, k)::

    from distillwatch.simulate import draw_scenario
    sc = draw_scenario("benchmarks/scenarios/families/train.toml", 3)

    distillwatch simulate --family benchmarks/scenarios/families/train.toml --draw 3 --out d/

``d/scenario.toml`` holds the resolved draw. ``train.toml`` is for fitting, ``tune.toml``
for thresholds and calibration, ``heldout.toml`` (other ranges, mixes and weaker attack
variants) for reporting only: never train or tune on it. See ``family.py``.

Ground truth is only in ``labels.jsonl``: ids, keys, emails and infrastructure are drawn by
the same code for benign and attack accounts, so detection cannot learn the generator.
The simulator never imports detection code (it must not know what it tests).
"""

from __future__ import annotations

from distillwatch.simulate.engine import SimulationSummary, simulate
from distillwatch.simulate.family import draw_scenario
from distillwatch.simulate.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "Scenario",
    "ScenarioError",
    "SimulationSummary",
    "draw_scenario",
    "load_scenario",
    "simulate",
]
