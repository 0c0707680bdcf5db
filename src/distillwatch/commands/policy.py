"""``distillwatch policy ...``: check a policy file and manage manual overrides."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from distillwatch.console import console, fail, out

if TYPE_CHECKING:
    from distillwatch.enforce.store import EnforcementStore

T = TypeVar("T")

app = typer.Typer(
    help="Check enforcement policies; set, list and clear manual overrides.",
    no_args_is_help=True,
)

_REDIS = typer.Option(None, "--redis", help="The gateways' Redis (redis://host:port/0).")
_PREFIX = typer.Option("distillwatch:", "--redis-prefix", help="Key prefix of the gateways.")
_STATE = typer.Option(
    Path("distillwatch-state/overrides.jsonl"),
    "--state",
    help="Overrides file of a gateway without Redis (its --state).",
)


def _with_store(
    redis: str | None, prefix: str, state: Path, step: Callable[[EnforcementStore], Awaitable[T]]
) -> T:
    """Run one step against the gateways' state store (Redis, or the overrides file)."""
    from distillwatch.enforce.store import MemoryStore, StoreUnavailable

    async def main() -> T:
        store: EnforcementStore
        if redis:
            from distillwatch.enforce.redis_store import RedisStore

            store = RedisStore(redis, prefix=prefix, timeout=2.0)
        else:
            store = MemoryStore(state)
        try:
            return await step(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except StoreUnavailable as exc:
        fail(str(exc))
        raise  # fail() leaves; this only tells the type checker


@app.command("override")
def override(
    account: str = typer.Argument(..., help="Account id to override."),
    action: str = typer.Option(..., "--action", "-a", help="allow, throttle, challenge or block."),
    ttl: str = typer.Option("1h", "--ttl", help="How long the override holds (30m, 1h, 7d)."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why (kept with every decision)."),
    retry_after: str = typer.Option("60s", "--retry-after", help="For throttle: Retry-After."),
    redis: str | None = _REDIS,
    prefix: str = _PREFIX,
    state: Path = _STATE,
) -> None:
    """Force an action on an account until the TTL runs out (wins over every rule)."""
    from distillwatch.enforce.decision import Action, manual_override
    from distillwatch.enforce.policy import PolicyError, parse_duration

    try:
        chosen = Action.parse(action, "--action")
        seconds = parse_duration(ttl, "--ttl")
        wait = parse_duration(retry_after, "--retry-after")
    except (ValueError, PolicyError) as exc:
        fail(str(exc))
        return
    now = time.time()
    entry = manual_override(account, chosen, seconds, reason, now, wait)
    _with_store(redis, prefix, state, lambda store: store.set_override(account, entry))
    ref = f" (reference {entry.reference_id})" if entry.reference_id else ""
    console.print(f"{account}: {chosen.value} for {ttl}{ref}")


@app.command("clear")
def clear(
    account: str = typer.Argument(..., help="Account id whose override to remove."),
    redis: str | None = _REDIS,
    prefix: str = _PREFIX,
    state: Path = _STATE,
) -> None:
    """Remove an account's manual override."""
    removed = _with_store(redis, prefix, state, lambda store: store.clear_override(account))
    console.print(f"{account}: override removed" if removed else f"{account}: had no override")


@app.command("list")
def list_overrides(
    redis: str | None = _REDIS,
    prefix: str = _PREFIX,
    state: Path = _STATE,
) -> None:
    """Show the manual overrides in force."""
    found = _with_store(redis, prefix, state, lambda store: store.overrides(time.time()))
    if not found:
        console.print("no overrides in force")
    for account, entry in sorted(found.items()):
        left = max(0, int(entry.until - time.time()))
        # plain tab-separated lines (not Rich, which expands tabs): easy to grep and cut
        typer.echo(f"{account}\t{entry.action.value}\t{left}s left\t{'; '.join(entry.reasons)}")


@app.command("check")
def check(policy: Path = typer.Argument(..., help="Policy file (TOML).")) -> None:
    """Validate a policy file and print its rules in the order they are weighed."""
    from distillwatch.enforce.policy import PolicyError, load_policy

    try:
        loaded = load_policy(policy)
    except PolicyError as exc:
        fail(str(exc))
        return
    for rule in loaded.rules:
        sticky = f", sticks {rule.ttl:g}s to the {rule.scope}" if rule.ttl else ""
        out.print(f"rule {rule.name}: {rule.action.value}{sticky}")
    limit = loaded.cluster_limit
    if limit is not None:
        out.print(
            f"cluster limit: {limit.rate:g}/s, burst {limit.burst:g}, then {limit.action.value}"
        )
    allowed = len(loaded.allow_accounts) + len(loaded.allow_clusters)
    console.print(f"{policy}: ok ({len(loaded.rules)} rules, {allowed} allowlisted)")
