"""Capability sweeps and attack identities shared by the attack tactics.

A distillation campaign wants coverage: it walks systematically through capability areas
(reasoning, coding, knowledge, tool use, safety, writing ...) and through many payloads per
area, usually through a handful of templates shared by every account of the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from distillwatch.simulate import infra
from distillwatch.simulate.phrasing import SWEEP_AREAS, SWEEP_TEMPLATES, cot_request, pick
from distillwatch.simulate.plan import Account, Ctx, identity


@dataclass(frozen=True)
class Sweep:
    """A campaign's capability sweep: shared templates and a walk over areas and payloads."""

    templates: tuple[str, ...]
    areas: tuple[tuple[str, str], ...]
    cot_share: float

    @classmethod
    def for_campaign(
        cls, rng: np.random.Generator, n_templates: int, cot_share: float = 0.1
    ) -> Sweep:
        k = min(max(1, n_templates), len(SWEEP_TEMPLATES))
        idx = rng.choice(len(SWEEP_TEMPLATES), k, replace=False)
        order = rng.permutation(len(SWEEP_AREAS))
        return cls(
            tuple(SWEEP_TEMPLATES[i] for i in idx), tuple(SWEEP_AREAS[i] for i in order), cot_share
        )

    def prompts(self, ctx: Ctx, rng: np.random.Generator, n: int) -> list[str]:
        """``n`` prompts cycling through every area in turn (coverage, not popularity)."""
        out = []
        start = int(rng.integers(len(self.areas)))
        for i in range(n):
            pool, label = self.areas[(start + i) % len(self.areas)]
            text = pick(rng, ctx.corpus.pool(pool))
            if rng.random() < self.cot_share:
                out.append(cot_request(rng, text))
            else:
                out.append(pick(rng, self.templates).format(area=label, x=text))
        return out


def attack_accounts(
    ctx: Ctx,
    rng: np.random.Generator,
    n: int,
    group: str,
    cid: str | None,
    *,
    age_days: tuple[float, float] = (20.0, 200.0),
    network: str = "cloud",
    ua: tuple[str, ...] = ("sdk", "http"),
    email: tuple[float, float] = (0.6, 0.05),
) -> list[Account]:
    """Identities for a campaign: drawn by the same code as benign ones, only parameters differ."""
    return [
        identity(
            ctx,
            rng,
            label="attack",
            group=group,
            campaign_id=cid,
            age_days=age_days,
            email=infra.email_domain(rng, free=email[0], disposable=email[1]),
            ua_family=pick(rng, ua),
            network=network,
        )
        for _ in range(n)
    ]
