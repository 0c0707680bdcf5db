"""What an analyst's decision does outside the console: enforcement and sharing.

Block, throttle and unblock go to the gateways' enforcement store (Redis, or the overrides
file of a gateway without Redis) as the same manual overrides ``distillwatch policy override``
and ``policy clear`` write. A share preview runs the sharing policy's export of the scan the
campaign came from and shows what would leave for that campaign; nothing is sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distillwatch.enforce.decision import Action, ActiveAction, manual_override
from distillwatch.enforce.policy import PolicyError, parse_duration
from distillwatch.review.store import ConsoleError

if TYPE_CHECKING:
    from distillwatch.enforce.store import EnforcementStore

ENFORCE_ACTIONS = ("block", "throttle", "unblock")


class PartlyEnforced(ConsoleError):
    """The store failed part way: ``done`` accounts were changed before it did."""

    def __init__(self, message: str, done: list[str]) -> None:
        super().__init__(message)
        self.done = done


@dataclass(frozen=True)
class EnforceConfig:
    """Where the gateways keep their state (the ``policy`` command's options)."""

    redis: str | None = None
    prefix: str = "distillwatch:"
    state: Path = Path("distillwatch-state/overrides.jsonl")

    def open(self) -> EnforcementStore:
        from distillwatch.enforce.store import MemoryStore

        if self.redis:
            from distillwatch.enforce.redis_store import RedisStore

            return RedisStore(self.redis, prefix=self.prefix, timeout=2.0)
        return MemoryStore(self.state)

    def where(self) -> str:
        return f"redis {self.prefix}" if self.redis else str(self.state)


@dataclass(frozen=True)
class ShareConfig:
    """The sharing policy and group key ``share preview`` would use."""

    policy: Path | None = None
    key_file: Path | None = None


def parse_enforcement(action: str, ttl: str) -> tuple[str, float]:
    if action not in ENFORCE_ACTIONS:
        raise ConsoleError(f"action must be one of {', '.join(ENFORCE_ACTIONS)}, not {action!r}")
    try:
        seconds = parse_duration(ttl or "1h", "ttl")
    except (ValueError, PolicyError) as exc:
        raise ConsoleError(str(exc)) from exc
    return action, seconds


async def enforce(
    config: EnforceConfig, accounts: list[str], action: str, seconds: float, reason: str
) -> dict[str, Any]:
    """Apply ``action`` to each account; returns what was done (for the audit log)."""
    from distillwatch.enforce.store import StoreUnavailable

    store = config.open()
    now = time.time()
    refs: dict[str, str] = {}
    done = 0
    try:
        for account in accounts:
            if action == "unblock":
                await store.clear_override(account)
                done += 1
                continue
            entry = manual_override(account, Action.parse(action), seconds, reason, now)
            await store.set_override(account, entry)
            done += 1
            if entry.reference_id:
                refs[account] = entry.reference_id
    except StoreUnavailable as exc:
        # the store's own message may hold its URL (and a password in it): not shown
        raise PartlyEnforced(
            f"enforcement store unavailable ({config.where()}); {action} applied to {done} of "
            f"{len(accounts)} account(s) before it failed",
            accounts[:done],
        ) from exc
    finally:
        await store.close()
    return {
        "accounts": len(accounts),
        "store": config.where(),
        "until": now + seconds,
        "references": dict(list(refs.items())[:20]),
    }


async def overrides_of(config: EnforceConfig, accounts: list[str]) -> dict[str, ActiveAction]:
    """The overrides in force for these accounts (empty if the store is unreachable)."""
    from distillwatch.enforce.store import StoreUnavailable

    store = config.open()
    try:
        found = await store.overrides(time.time())
    except (StoreUnavailable, ValueError):
        return {}
    finally:
        await store.close()
    wanted = set(accounts)
    return {k: v for k, v in found.items() if k in wanted}


@dataclass
class Preview:
    """One campaign's share preview, as plain rows for a page."""

    campaign_id: str
    policy: str
    recipients: list[str]
    clearance: str
    objects: int
    stix_id: str | None
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # field, leaves as, TLP, n
    skipped: str | None = None


def share_preview(config: ShareConfig, scan_path: str, campaign_id: str) -> Preview:
    """What ``share export`` of the campaign's scan would send for this campaign."""
    from distillwatch.ingest import IngestError
    from distillwatch.report.scandir import ScanFileError
    from distillwatch.share.export import build_bundle
    from distillwatch.share.indicators import KIND_OF_FIELD
    from distillwatch.share.keyed import GroupKeyError, load_key
    from distillwatch.share.policy import FIELDS, load_policy
    from distillwatch.share.policy import PolicyError as SharePolicyError

    scan = Path(scan_path)
    if not scan.is_dir():
        raise ConsoleError(f"the scan directory {scan} is gone; re-import it to preview")
    try:
        policy = load_policy(config.policy)
        result = build_bundle(scan, policy, load_key(config.key_file))
    except (SharePolicyError, GroupKeyError, ScanFileError, IngestError) as exc:
        raise ConsoleError(str(exc)) from exc
    preview = Preview(
        campaign_id,
        f"{policy.name} ({policy.source})",
        result.recipients,
        result.clearance.upper(),
        0,
        None,
    )
    skipped = dict(result.skipped)
    if campaign_id in skipped:
        preview.skipped = skipped[campaign_id]
        return preview
    mine = next((c for c in result.campaigns if c.campaign_id == campaign_id), None)
    if mine is None:
        raise ConsoleError(f"campaign {campaign_id} is not in {scan}/campaigns.jsonl")
    preview.stix_id, preview.objects = mine.stix_id, mine.objects
    for name in FIELDS:
        rule = policy.rule(name)
        if name in mine.fields:
            encoding, n = mine.fields[name]
            preview.rows.append((name, encoding, rule.tlp.upper(), str(n)))
        elif name in mine.expired:
            preview.rows.append((name, "expired", "", ""))
        elif not rule.leaves:
            preview.rows.append((name, "stays home (policy)", "", ""))
        elif name in KIND_OF_FIELD:
            preview.rows.append((name, "nothing to share", "", "0"))
        else:
            preview.rows.append((name, "plain", rule.tlp.upper(), ""))
        if mine.withheld.get(name):
            preview.rows.append((name, f"{mine.withheld[name]} withheld (seen elsewhere)", "", ""))
    preview.rows.append(("prompt text, account ids", "never leave", "", ""))
    return preview
