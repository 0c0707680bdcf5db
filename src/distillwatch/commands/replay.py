"""``distillwatch replay LOG... --out DIR``."""

from __future__ import annotations

from pathlib import Path

import typer

from distillwatch.commands.reading import (
    FROM_OPTION,
    LOGS_HELP,
    MAPPING_OPTION,
    QUERY_OPTION,
    dialect_option,
)
from distillwatch.console import console, fail, progress_bar
from distillwatch.enforce.policy import PolicyError
from distillwatch.ingest import IngestError


def command(
    logs: list[str] = typer.Argument(..., help=LOGS_HELP, show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Directory for decisions.jsonl."),
    policy: Path | None = typer.Option(
        None, "--policy", help="Enforcement policy (TOML); default: the built-in policy."
    ),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="Apply the [online] thresholds of a `calibrate` file."
    ),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first broken record."),
    from_format: str = FROM_OPTION,
    mapping: Path | None = MAPPING_OPTION,
    query: str | None = QUERY_OPTION,
    rules_only: bool = typer.Option(
        False, "--rules-only", help="Judge with the rules alone, without the learned model."
    ),
) -> None:
    """Run the online engine and the policy over logs in time order; record every change of
    an account's action, as the gateway would have made it."""
    from distillwatch.commands.calibrate import calibrated_policy
    from distillwatch.online.replay import run_replay

    chosen = calibrated_policy(policy, calibration) if calibration is not None else None

    with progress_bar() as bar:
        task = bar.add_task("reading", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = run_replay(
                logs,
                out,
                policy_path=policy,
                policy=chosen,
                strict=strict,
                learned=not rules_only,
                on_progress=on_progress,
                dialect=dialect_option(from_format, mapping),
                query=query,
            )
        except (IngestError, PolicyError) as exc:
            fail(str(exc))
            return
    refused_accounts = sum(1 for t in result.accounts.values() if t.refused)
    console.print(
        f"replayed {result.ingest.records:,} requests from {len(result.accounts):,} accounts "
        f"in {result.seconds:.1f} s: {result.decisions:,} decisions, {result.refused:,} "
        f"requests refused across {refused_accounts:,} accounts -> {out / 'decisions.jsonl'}"
    )
