"""Honest look-alikes of the attacks' *who, where and when*: identity, payment, networks, timing.

Every tactic about accounts and infrastructure has honest twins that a detector must not flag
on that surface alone: fresh accounts arriving together with shared templates (courses and
hackathons, like a hydra cluster's sign-ups), several accounts on one card (companies and
families, like hydra's shared cards), many IPs and ASNs (phones and VPNs, like proxy rotation;
cloud egress pools, like hydra's exits and bulk's volume) and a switch to a new model within
hours of its release (evaluation teams, like ``pivot``). Registered in
:data:`IDENTITY_LOOKALIKES`; every trait is drawn per group or per account from wide ranges.

The populations live by family: ``lookalikes_groups.py`` (cohort, shared_card),
``lookalikes_networks.py`` (mobile, cloud_egress), ``lookalikes_release.py`` (release_eval);
their shared building blocks in ``lookalike_accounts.py`` and ``phone_networks.py``.
"""

from __future__ import annotations

from distillwatch.simulate.lookalikes_groups import (
    cohort_accounts,
    cohort_plan,
    shared_card_accounts,
    shared_card_plan,
)
from distillwatch.simulate.lookalikes_networks import (
    cloud_egress_accounts,
    cloud_egress_plan,
    mobile_accounts,
    mobile_plan,
)
from distillwatch.simulate.lookalikes_release import release_eval_plan
from distillwatch.simulate.populations import Behaviour, people_accounts

IDENTITY_LOOKALIKES: dict[str, Behaviour] = {
    "cohort": Behaviour(cohort_accounts, cohort_plan),
    "shared_card": Behaviour(shared_card_accounts, shared_card_plan),
    "mobile": Behaviour(mobile_accounts, mobile_plan),
    "cloud_egress": Behaviour(cloud_egress_accounts, cloud_egress_plan),
    "release_eval": Behaviour(
        people_accounts(("eval", "sdk"), email=(0.2, 0.0), university=0.3, network="cloud"),
        release_eval_plan,
    ),
}
