"""``distillwatch simulate``: write a labelled week of synthetic API traffic."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from distillwatch.console import console, fail, out, progress_bar


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def command(
    out_dir: Path = typer.Option(
        ..., "--out", help="Directory to write the log, labels and resolved scenario into."
    ),
    accounts: int | None = typer.Option(None, "--accounts", help="Total accounts."),
    days: float | None = typer.Option(None, "--days", help="Length of the log in days."),
    seed: int | None = typer.Option(None, "--seed", help="RNG seed (same seed, same bytes)."),
    scenario: Path | None = typer.Option(
        None, "--scenario", help="Scenario TOML file (merged over the packaged default)."
    ),
    family: Path | None = typer.Option(
        None,
        "--family",
        help="Scenario family TOML (ranges drawn per run; see benchmarks/scenarios/families/).",
    ),
    draw: int | None = typer.Option(
        None, "--draw", min=0, help="Which draw of --family (default 0); same draw, same scenario."
    ),
    corpora: Path | None = typer.Option(
        None, "--corpora", help="Use a full corpora directory instead of the packaged sample."
    ),
    fmt: str | None = typer.Option(None, "--format", help="jsonl | jsonl.gz | jsonl.zst"),
) -> None:
    """Simulate benign traffic and distillation campaigns as a traffic log v1 with labels."""
    from distillwatch.simulate import ScenarioError, draw_scenario, load_scenario, simulate

    if corpora is not None and not corpora.is_dir():
        fail(f"--corpora {corpora} is not a directory")
    if family is not None and scenario is not None:
        fail("give --scenario or --family, not both")
    if draw is not None and family is None:
        fail("--draw needs --family")
    overrides = {
        "accounts": accounts,
        "days": days,
        "seed": seed,
        "corpora": str(corpora) if corpora else None,
        "format": fmt,
    }
    try:
        if family is not None:
            sc = draw_scenario(family, draw or 0, **overrides)
        else:
            sc = load_scenario(scenario, **overrides)
    except ScenarioError as exc:
        fail(str(exc))
        return
    with progress_bar() as bar:
        task = bar.add_task("simulating", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            summary = simulate(sc, out_dir, on_progress=progress)
        except (ScenarioError, FileNotFoundError, ValueError) as exc:
            fail(str(exc))
            return
    table = Table(
        title=f"simulated {summary.requests:,} requests from {summary.accounts:,} "
        f"accounts in {summary.seconds:.1f}s"
    )
    for col in ("group", "label", "accounts", "requests"):
        table.add_column(col, justify="right" if col in ("accounts", "requests") else "left")
    for name, g in sorted(summary.groups.items(), key=lambda kv: (kv[1]["label"], kv[0])):
        table.add_row(name, g["label"], f"{g['accounts']:,}", f"{g['requests']:,}")
    out.print(table)
    camps = Table(title="campaigns")
    for col in ("campaign", "tactic", "accounts", "requests"):
        camps.add_column(col)
    for cid, c in summary.campaigns.items():
        camps.add_row(cid, c["tactic"], f"{c['accounts']:,}", f"{c['requests']:,}")
    out.print(camps)
    out.print(
        f"time span: {_when(summary.first_ts)} → {_when(summary.last_ts)}; "
        f"{summary.new_model} released {_when(summary.release_ts)}"
    )
    for kind, path in summary.files.items():
        out.print(f"{kind:9s} {path}  ({summary.sizes[kind] / 1e6:.2f} MB)")
    console.print(f"[green]done[/] in {summary.seconds:.1f}s")
