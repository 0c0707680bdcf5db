"""Every population's and tactic's keys and their defaults, in one place.

:mod:`distillwatch.simulate.scenario` checks a scenario file against these (a typo is an
error that lists the known keys) and :mod:`distillwatch.simulate.family` draws its ranges
around them; kept apart from the loading code because it is data, and long.
"""

from __future__ import annotations

from typing import Any

#: A bring-your-own-key phone app's users (lookalikes_byok.py); off unless a scenario sets a
#: share (the scenario families were drawn before it existed)
_BYOK_APP: dict[str, Any] = {
    "share": 0.0,
    "users_per_app": 25.0,
    "new_share": 0.8,
    "home_market_share": 0.6,
    "ips_per_week": 30.0,
    "vpn_share": 0.2,
    "power_share": 0.2,
    "lease_hours": 1.5,
    "sessions_per_day": 1.5,
    "turns_mean": 3.0,
    "think_median_s": 45.0,
    "adopt_new_model": 0.3,
    "shortcut_share": 0.3,
    "shortcut_questions": 3.0,
}

#: Benign populations: key -> default. ``share`` is the population's share of benign accounts.
POPULATION_DEFAULTS: dict[str, dict[str, Any]] = {
    "casual": {
        "share": 0.5,
        "sessions_per_day": 0.6,
        "turns_mean": 3.0,
        "think_median_s": 45.0,
        "new_account_share": 0.05,
        "adopt_new_model": 0.25,
    },
    "power": {
        "share": 0.16,
        "sessions_per_day": 3.0,
        "turns_mean": 5.0,
        "think_median_s": 70.0,
        "adopt_new_model": 0.5,
    },
    "coding_agent": {
        "share": 0.05,
        "sessions_per_day": 2.5,
        "steps_mean": 22.0,
        "step_gap_s": 4.0,
        "history_window": 12,
        "adopt_new_model": 0.5,
    },
    "batch": {
        "share": 0.012,
        "accounts_per_org": 2,
        "runs_per_day": 1.0,
        "items_per_run": 350,
        "items_per_second": 4.0,
    },
    "eval": {
        "share": 0.012,
        "runs_per_week": 2.0,
        "items_per_run": 200,
        "models_per_run": 2,
        "cot_share": 0.4,
        "items_per_second": 3.0,
        "adopt_new_model": 0.8,
    },
    "researcher": {"share": 0.04, "requests_per_day": 12.0, "logprobs_share": 0.4},
    "reseller": {"share": 0.004, "requests_per_day": 1200.0, "end_users": 300},
    "translation": {"share": 0.03, "requests_per_day": 110.0},
    # honest look-alikes of who / where / when (lookalikes_identity.py)
    "cohort": {
        "share": 0.02,
        "accounts_per_cohort": 25.0,
        "signup_spread_hours": 30.0,
        "fresh_share": 0.6,
        "hackathon_share": 0.25,
        "online_share": 0.0,
        "eval_course_share": 0.3,
        "shared_card_share": 0.15,
        "labs_per_week": 2.0,
        "requests_per_day": 12.0,
    },
    "shared_card": {
        "share": 0.02,
        "accounts_per_card": 4.0,
        "company_share": 0.6,
        "new_account_share": 0.2,
        "sessions_per_day": 1.2,
        "turns_mean": 4.0,
        "think_median_s": 55.0,
        "adopt_new_model": 0.3,
    },
    "byok_app": _BYOK_APP,
    # the same apps' users in a region the provider does not serve, through a proxy service's
    # rotating residential exits (lookalikes_byok.py); off unless a scenario sets a share
    "proxied_app": {
        **_BYOK_APP,
        "home_market_share": 0.8,
        "vpn_share": 0.0,
        "exit_hours": 3.0,
        "exit_countries": 2,
        "rotating_share": 0.5,
    },
    "mobile": {
        "share": 0.03,
        "ips_per_week": 30.0,
        "vpn_share": 0.35,
        "power_share": 0.3,
        "lease_hours": 1.5,
        "sessions_per_day": 1.5,
        "turns_mean": 3.0,
        "think_median_s": 45.0,
        "adopt_new_model": 0.3,
    },
    "cloud_egress": {"share": 0.006, "requests_per_day": 600.0, "prefixes": 20, "asns_max": 4},
    "release_eval": {
        "share": 0.006,
        "requests_per_day": 300.0,
        "switch_within_hours": 8.0,
        "new_model_share": 0.85,
        "cot_share": 0.5,
    },
    # honest look-alikes of what is asked (lookalikes.py, lookalikes_batch.py)
    "judge": {
        "share": 0.012,
        "runs_per_day": 1.5,
        "items_per_run": 120.0,
        "items_per_second": 2.0,
        "pairwise_share": 0.4,
        "system_share": 0.5,
    },
    "tutoring": {
        "share": 0.015,
        "sessions_per_day": 60.0,
        "step_share": 0.9,
        "school_share": 0.4,
        "follow_up_share": 0.25,
        "system_share": 0.8,
        "adopt_new_model": 0.3,
    },
    "wrapper_app": {"share": 0.012, "requests_per_day": 150.0, "frames": 7.0, "system_share": 0.5},
    "localisation": {
        "share": 0.012,
        "requests_per_day": 100.0,
        "languages": 11.0,
        "support_share": 0.5,
    },
    "classifier": {
        "share": 0.01,
        "runs_per_day": 0.8,
        "items_per_run": 250.0,
        "items_per_second": 5.0,
        "online_share": 0.3,
    },
    "sampler": {"share": 0.012, "requests_per_day": 60.0, "n": 8.0, "logprobs_share": 0.3},
    "tool_eval": {
        "share": 0.01,
        "runs_per_week": 2.0,
        "items_per_run": 150,
        "models_per_run": 2,
        "items_per_second": 3.0,
        "adopt_new_model": 0.6,
        "app_share": 0.35,
        "requests_per_day": 120.0,
    },
    "synthetic_data": {
        "share": 0.008,
        "requests_per_day": 350.0,
        "templates": 2.0,
        "system_share": 0.5,
    },
}

#: Attack tactics: key -> default. Size with ``accounts`` (absolute) or ``share`` (of all).
COMMON_TACTIC = {
    "accounts": 0,
    "share": 0.0,
    "requests_per_day": 150.0,
    "start_hour": 0.0,
    "end_hour": -1.0,
}
#: Keys of the tactics defined by what they ask (``elicit.py``). The defaults reproduce the
#: original behaviour; the other values make a campaign look more like honest traffic.
ELICIT_TACTIC = {
    **COMMON_TACTIC,
    "timing": "auto",  # auto (60% flat, 40% office) | flat | office | human (sessions)
    "session_requests": 6.0,  # human timing: mean requests per session
    "think_median_s": 40.0,  # human timing: median gap between requests of a session
    "network": "auto",  # auto (60% cloud) | cloud | home
    "system_prompt_share": 0.0,  # share of requests carrying the account's persona prompt
}
TACTIC_DEFAULTS: dict[str, dict[str, Any]] = {
    "bulk": {
        **COMMON_TACTIC,
        "requests_per_day": 1500.0,
        "templates": 4,
        "system_prompt_share": 0.0,
    },
    "hydra": {
        **COMMON_TACTIC,
        "max_requests_per_hour": 12,
        "active_hours_per_day": 8.0,
        "lifetime_days": 3.0,
        "payment_fingerprints": 5,
        "templates": 8,
        "disposable_email_share": 0.75,
        "min_accounts": 5,
        "countries": 0,  # countries of the proxy exits (0 = anywhere)
        "exit_hours": 1.0,  # hours each proxy exit is kept
    },
    "reseller_mix": {
        **COMMON_TACTIC,
        "requests_per_day": 1500.0,
        "extraction_share": 0.2,
        "end_users": 250,
    },
    "cot": {**ELICIT_TACTIC, "elicit_share": 1.0},
    "grading": {
        **ELICIT_TACTIC,
        "requests_per_day": 120.0,
        "max_candidates": 4,
        "rubric_templates": 0,  # 0 = phrasing varies per request; k = k fixed rubrics
    },
    "tool_trace": {**ELICIT_TACTIC, "toolset_pool": 0, "tool_results_share": 0.0},
    "multilingual": {**ELICIT_TACTIC, "languages": 12, "repeat_share": 1.0},
    "logprob": {
        **ELICIT_TACTIC,
        "requests_per_day": 300.0,
        "n": 8,
        "top_logprobs": 20,
        "tiny_share": 1.0,
    },
    "slow_low": {
        **COMMON_TACTIC,
        "requests_per_day": 14.0,
        "think_median_s": 80.0,
        "templates": 6,
        "cot_share": 0.25,
    },
    "pivot": {
        **COMMON_TACTIC,
        "requests_per_day": 220.0,
        "pivot_within_hours": 6.0,
        "new_model_share": 1.0,
    },
}
#: String keys and the values they accept.
CHOICES: dict[str, tuple[str, ...]] = {
    "timing": ("auto", "flat", "office", "human"),
    "network": ("auto", "cloud", "home"),
}

SIMULATION_DEFAULTS: dict[str, Any] = {
    "seed": 7,
    "accounts": 2000,
    "days": 7.0,
    "start": "2026-03-02T00:00:00Z",
    "corpora": "",
    "format": "jsonl.zst",
}
MODELS_DEFAULTS: dict[str, Any] = {
    "available": ["aurora-2", "aurora-2-mini", "aurora-2-nano"],
    "new_model": "aurora-3",
    "release_hour": -1.0,
    "adoption_hours": 36.0,
}
TRAFFIC_DEFAULTS: dict[str, Any] = {"error_rate": 0.003, "throttle_rate": 0.002}
