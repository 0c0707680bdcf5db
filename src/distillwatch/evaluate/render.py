"""Rich tables of an evaluation: overall, per population, per tactic (scan vs baseline),
campaigns, and the targets as a PASS/FAIL table with the numbers behind each verdict."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from distillwatch.evaluate.evaluation import Evaluation
from distillwatch.evaluate.metrics import GroupRate
from distillwatch.evaluate.online import OnlineFigures

#: True campaigns listed in the campaign table; the rest are summarised in a footer row.
MAX_CAMPAIGN_ROWS = 40


def pct(value: float | None, digits: int = 2) -> str:
    """A share as a percentage; an undefined one as a dash."""
    return "—" if value is None else f"{value:.{digits}%}"


def num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _verdict(ok: bool) -> str:
    return "[bold green]PASS[/]" if ok else "[bold red]FAIL[/]"


def overall_table(ev: Evaluation) -> Table:
    r, b = ev.accounts, ev.baseline
    br = b.rates
    table = Table(title="accounts", title_justify="left")
    table.add_column("figure")
    table.add_column("scan", justify="right")
    table.add_column("volume baseline", justify="right")
    rows = [
        ("benign FPR", pct(r.fpr, 3), pct(br.fpr, 3) if br else "—"),
        ("attack recall", pct(r.recall), pct(br.recall) if br else "—"),
        ("precision", pct(r.precision), pct(br.precision) if br else "—"),
        ("F1", num(r.f1), num(br.f1) if br else "—"),
        ("ROC-AUC (score / requests)", num(r.roc_auc), num(br.roc_auc) if br else "—"),
        ("flagged benign", f"{r.false_positives:,}", f"{br.false_positives:,}" if br else "—"),
        ("flagged attack", f"{r.true_positives:,}", f"{br.true_positives:,}" if br else "—"),
    ]
    for row in rows:
        table.add_row(*row)
    table.caption = (
        f"{r.accounts:,} labelled accounts: {r.benign:,} benign, {r.attack:,} attack. "
        f"Baseline: {b.note}."
    )
    table.caption_justify = "left"
    return table


def population_table(populations: list[GroupRate], fpr_target: float) -> Table:
    table = Table(title="benign populations (false positives)", title_justify="left")
    for name, justify in (("population", "left"), ("accounts", "right"), ("flagged", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("FPR", justify="right")
    for p in populations:
        over = p.rate is not None and p.rate > fpr_target
        rate = f"[red]{pct(p.rate, 3)}[/]" if over else pct(p.rate, 3)
        table.add_row(p.group, f"{p.accounts:,}", f"{p.hits:,}", rate)
    return table


def tactic_table(ev: Evaluation) -> Table:
    table = Table(title="attack tactics (recall at the same FPR)", title_justify="left")
    table.add_column("tactic")
    for name in ("accounts", "caught", "recall", "baseline caught", "baseline recall"):
        table.add_column(name, justify="right")
    base = {t.group: t for t in ev.baseline.tactics}
    for t in ev.tactics:
        bt = base.get(t.group)
        table.add_row(
            t.group,
            f"{t.accounts:,}",
            f"{t.hits:,}",
            pct(t.rate),
            f"{bt.hits:,}" if bt else "—",
            pct(bt.rate) if bt else "—",
        )
    return table


def campaign_table(ev: Evaluation) -> Table:
    c = ev.campaigns
    table = Table(title="campaigns", title_justify="left")
    table.add_column("true campaign")
    table.add_column("tactic")
    for name in ("accounts", "flagged", "detected"):
        table.add_column(name, justify="right")
    table.add_column("covered by (predicted: accounts)")
    ordered = sorted(c.true_campaigns, key=lambda t: (t.detected, t.flagged_share, t.campaign_id))
    for t in ordered[:MAX_CAMPAIGN_ROWS]:
        cover = ", ".join(f"{cid}: {n:,}" for cid, n in list(t.covered_by.items())[:4])
        if len(t.covered_by) > 4:
            cover += f", +{len(t.covered_by) - 4} more"
        table.add_row(
            t.campaign_id,
            t.tactic,
            f"{t.accounts:,}",
            pct(t.flagged_share, 1),
            "[green]yes[/]" if t.detected else "[red]no[/]",
            cover or "[dim]none[/]",
        )
    if len(ordered) > MAX_CAMPAIGN_ROWS:
        table.add_row(f"[dim]… {len(ordered) - MAX_CAMPAIGN_ROWS:,} more (all detected)[/]")
    impure = [p for p in c.predicted if p.purity < 1.0]
    table.caption = (
        f"campaign recall {pct(c.recall, 1)} ({c.detected:,} of {c.total:,} detected); "
        f"{len(c.predicted):,} predicted campaigns, purity mean {num(c.mean_purity)}, "
        f"min {num(c.min_purity)}; {len(impure):,} impure"
    )
    table.caption_justify = "left"
    return table


def targets_table(ev: Evaluation) -> Table:
    table = Table(title=f"targets: {_verdict(ev.passed)}", title_justify="left")
    table.add_column("target")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("", justify="center")
    table.add_column("detail")
    for t in ev.targets:
        table.add_row(t.name, pct(t.value, 3), t.goal, _verdict(t.met), t.detail)
    return table


def online_tables(figures: OnlineFigures) -> tuple[Table, Table]:
    """Leak per campaign, then the online targets (with benign requests refused)."""
    leaks = Table(title="online: requests each campaign got answered", title_justify="left")
    for name, justify in (
        ("campaign", "left"),
        ("tactic", "left"),
        ("accounts", "right"),
        ("requests", "right"),
        ("answered", "right"),
        ("leak", "right"),
    ):
        leaks.add_column(name, justify=justify)  # type: ignore[arg-type]
    for c in sorted(figures.campaigns, key=lambda c: -c.share):
        leaks.add_row(c.campaign, c.tactic, f"{c.accounts:,}", f"{c.requests:,}",
                      f"{c.answered:,}", pct(c.share))  # fmt: skip
    targets = Table(title="online targets", title_justify="left")
    for name in ("target", "value", "goal", ""):
        targets.add_column(name)
    for name, value, goal, met in figures.targets():
        targets.add_row(name, pct(value, 4), goal, _verdict(met))
    by_pop = ", ".join(f"{k} {v:,}" for k, v in sorted(figures.refused_by_population.items()))
    targets.caption = (
        f"{figures.benign_refused:,} of {figures.benign_requests:,} benign requests refused "
        f"({figures.benign_accounts_refused:,} accounts){': ' + by_pop if by_pop else ''}"
    )
    return leaks, targets


def render_evaluation(
    ev: Evaluation | None, console: Console, online: OnlineFigures | None = None
) -> None:
    """Every table of the scan evaluation and/or the replay's online figures."""
    if ev is not None:
        console.print(overall_table(ev))
        console.print(population_table(ev.populations, ev.fpr_target))
        console.print(tactic_table(ev))
        console.print(campaign_table(ev))
    if online is not None:
        for table in online_tables(online):
            console.print(table)
    if ev is not None:
        console.print(targets_table(ev))
