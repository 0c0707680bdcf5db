"""The sharing policy: exactly which fields may leave, how, at which TLP, and to whom.

A policy is a small TOML file that the member's legal and security people can read and sign
off. Everything not listed in ``[fields]`` stays home (deny by default); every listed field
says whether it leaves in the clear (``plain``), only as a keyed hash (``hmac``) or not at all
(``drop``), its TLP level, and - for indicators - how long it stays valid and how much one
match of it says. ``[recipients]`` names the members exports may go to and the most
restricted TLP level each is cleared for. Prompt text, account ids and full records are not
fields at all: no policy can let them out.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillwatch.share import tlp

SHARE_MODES = ("plain", "hmac", "drop")

#: field -> (kind of data, modes it allows). Indicator fields come from the scan's
#: ``indicators`` object; profile fields from the campaign as a whole.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ip_prefixes": ("indicator", SHARE_MODES),
    "asns": ("indicator", ("plain", "drop")),
    "user_agents": ("indicator", SHARE_MODES),
    "payment_fingerprints": ("indicator", ("hmac", "drop")),
    "email_domains": ("indicator", ("hmac", "drop")),
    "template_ids": ("fingerprint", SHARE_MODES),
    "capabilities": ("fingerprint", ("plain", "drop")),
    "timing": ("fingerprint", ("plain", "drop")),
    "tactics": ("profile", ("plain", "drop")),
    "sightings": ("profile", ("plain", "drop")),
}

DEFAULT_POLICY = """\
# distillwatch sharing policy (docs/sharing.md). Fields not listed here never leave.
[policy]
name = "default"
producer = "member-a"          # our identity in the group
default_tlp = "amber"
min_campaign_score = 0.8       # only confident campaigns are shared
min_campaign_accounts = 2

[recipients]                   # member -> most restricted TLP it may receive
member-b = "amber"
member-c = "amber"

[fields]
ip_prefixes = { share = "plain", tlp = "green", valid_days = 7, confidence = 60 }
asns = { share = "plain", tlp = "green", valid_days = 14, confidence = 15 }
user_agents = { share = "plain", tlp = "green", valid_days = 30, confidence = 15 }
payment_fingerprints = { share = "hmac", tlp = "amber", valid_days = 90, confidence = 95 }
email_domains = { share = "hmac", tlp = "amber", valid_days = 30, confidence = 25 }
template_ids = { share = "plain", tlp = "amber", valid_days = 30, confidence = 85 }
capabilities = { share = "plain", tlp = "amber" }
timing = { share = "plain", tlp = "amber" }
tactics = { share = "plain", tlp = "green" }
sightings = { share = "plain", tlp = "amber" }
"""


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class FieldRule:
    """How one field may leave."""

    share: str
    tlp: str
    valid_days: float = 30.0
    confidence: int = 50

    @property
    def leaves(self) -> bool:
        return self.share != "drop"


@dataclass(frozen=True)
class Policy:
    name: str
    producer: str
    default_tlp: str
    recipients: dict[str, str]  # member -> max TLP level
    fields: dict[str, FieldRule]
    min_campaign_score: float = 0.8
    min_campaign_accounts: int = 2
    source: str = "<default>"

    def rule(self, field: str) -> FieldRule:
        """The rule for ``field``; a field the policy does not list is dropped."""
        return self.fields.get(field, FieldRule("drop", self.default_tlp))

    def clearance(self, members: list[str]) -> str:
        """The most restricted TLP that *all* of ``members`` may receive."""
        unknown = [m for m in members if m not in self.recipients]
        if unknown:
            raise PolicyError(
                f"policy {self.name!r} ({self.source}) does not allow exports to "
                f"{', '.join(unknown)}; its recipients are {', '.join(self.recipients) or 'none'}"
            )
        return min((self.recipients[m] for m in members), key=tlp.rank)


def _fail(source: str, where: str, why: str) -> PolicyError:
    return PolicyError(f"{source}: {where}: {why}")


def _level(source: str, where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(source, where, f"must be a TLP level string, got {value!r}")
    try:
        return tlp.normalise(value)
    except tlp.TlpError as exc:
        raise _fail(source, where, str(exc)) from exc


def _rule(source: str, name: str, raw: Any, default_tlp: str) -> FieldRule:
    where = f"[fields] {name}"
    if name not in FIELDS:
        raise _fail(source, where, f"unknown field; known fields: {', '.join(FIELDS)}")
    if isinstance(raw, str):
        raw = {"share": raw}
    if not isinstance(raw, dict):
        raise _fail(source, where, 'must be a table like { share = "plain", tlp = "green" }')
    unknown = set(raw) - {"share", "tlp", "valid_days", "confidence"}
    if unknown:
        raise _fail(source, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    share = raw.get("share", "drop")
    allowed = FIELDS[name][1]
    if share not in allowed:
        raise _fail(source, where, f"share = {share!r} is not allowed; use {' or '.join(allowed)}")
    confidence = raw.get("confidence", 50)
    if not isinstance(confidence, int) or not 0 <= confidence <= 100:
        raise _fail(source, where, f"confidence must be an integer 0..100, got {confidence!r}")
    days = raw.get("valid_days", 30)
    if not isinstance(days, int | float) or days <= 0:
        raise _fail(source, where, f"valid_days must be a positive number, got {days!r}")
    level = _level(source, f"{where}.tlp", raw.get("tlp", default_tlp))
    return FieldRule(share, level, float(days), confidence)


def parse_policy(text: str, source: str = "<string>") -> Policy:
    """Parse and check a policy; every problem names ``source`` and the offending key."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML ({exc})") from exc
    unknown = set(doc) - {"policy", "recipients", "fields"}
    if unknown:
        raise _fail(source, "top level", f"unknown table(s) {', '.join(sorted(unknown))}")
    head = doc.get("policy", {})
    for key in ("name", "producer"):
        if not isinstance(head.get(key), str) or not head[key]:
            raise _fail(source, f"[policy] {key}", "is required (a non-empty string)")
    default_tlp = _level(source, "[policy] default_tlp", head.get("default_tlp", "amber"))
    recipients = {
        str(m): _level(source, f"[recipients] {m}", lvl)
        for m, lvl in doc.get("recipients", {}).items()
    }
    fields = {
        name: _rule(source, name, raw, default_tlp) for name, raw in doc.get("fields", {}).items()
    }
    score = head.get("min_campaign_score", 0.8)
    if not isinstance(score, int | float) or not 0 <= score <= 1:
        raise _fail(source, "[policy] min_campaign_score", f"must be in 0..1, got {score!r}")
    accounts = head.get("min_campaign_accounts", 2)
    if not isinstance(accounts, int) or accounts < 1:
        raise _fail(source, "[policy] min_campaign_accounts", "must be a positive integer")
    return Policy(
        name=head["name"],
        producer=head["producer"],
        default_tlp=default_tlp,
        recipients=recipients,
        fields=fields,
        min_campaign_score=float(score),
        min_campaign_accounts=accounts,
        source=source,
    )


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path``, or the packaged default when ``path`` is None."""
    if path is None:
        return parse_policy(DEFAULT_POLICY, "<default policy>")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read the sharing policy {path}: {exc.strerror}") from exc
    return parse_policy(text, str(path))
