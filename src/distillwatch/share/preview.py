"""``share preview``: what an export would send, shown before anything leaves.

For each campaign, every field that would leave (how it is encoded, at which TLP, how many
values, a few of the clear ones), every field that stays home and why, and the objects by
type and TLP. Hashed values are shown only as a short prefix: the preview is for a human to
approve the *shape* of an export.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console, Group
from rich.table import Table

from distillwatch.share import tlp
from distillwatch.share.export import ExportResult
from distillwatch.share.indicators import KIND_OF_FIELD
from distillwatch.share.policy import FIELDS, Policy

_SHOWN = 3


def _values(result: ExportResult, stix_id: str, field: str) -> list[str]:
    """A few of the values leaving for ``field`` of the campaign ``stix_id``."""
    kind = KIND_OF_FIELD.get(field)
    for obj in result.objects:
        if obj.get("campaign_ref") == stix_id:
            for ident in obj.get("identifiers", []):
                if ident["kind"] == kind:
                    vals = ident["values"][:_SHOWN]
                    return [v[:12] + "…" if ident["encoding"] != "plain" else v for v in vals]
        if obj["type"] == "indicator" and obj["name"].startswith(field.replace("_", " ")):
            return [obj["pattern"][:70] + ("…" if len(obj["pattern"]) > 70 else "")]
    return []


def render(result: ExportResult, policy: Policy) -> Group:
    """The preview as Rich renderables."""
    parts: list[Table] = []
    head = Table(title="export preview", show_header=False, title_justify="left")
    head.add_row("policy", f"{policy.name} ({policy.source})")
    head.add_row("producer", policy.producer)
    head.add_row("recipients", ", ".join(result.recipients))
    head.add_row("clearance", f"TLP:{result.clearance.upper()} (objects above it are left out)")
    levels = Counter(
        tlp.level_of(o.get("object_marking_refs", []), "clear") or "clear" for o in result.objects
    )
    head.add_row(
        "objects", f"{len(result.objects)} " + str(dict(Counter(o["type"] for o in result.objects)))
    )
    head.add_row(
        "by TLP",
        ", ".join(
            f"{k.upper()}: {n}" for k, n in sorted(levels.items(), key=lambda kv: tlp.rank(kv[0]))
        ),
    )
    if result.dropped_by_tlp:
        head.add_row("left out", f"{result.dropped_by_tlp} object(s) above the clearance")
    parts.append(head)
    for c in result.campaigns:
        table = Table(title=f"campaign {c.campaign_id} → {c.stix_id}", title_justify="left")
        for col in ("field", "leaves as", "TLP", "values", "example"):
            table.add_column(col)
        for field in FIELDS:
            rule = policy.rule(field)
            if field in c.fields:
                encoding, n = c.fields[field]
                example = ", ".join(_values(result, c.stix_id, field))
                table.add_row(field, encoding, rule.tlp.upper(), str(n), example)
            elif field in c.expired:
                table.add_row(
                    field, "[dim]expired[/]", "", "", f"last seen + {rule.valid_days:g} d is past"
                )
            elif not rule.leaves:
                table.add_row(field, "[dim]stays home (policy)[/]", "", "", "")
            elif field in KIND_OF_FIELD:
                table.add_row(field, "[dim]nothing to share[/]", "", "0", "")
            else:
                table.add_row(field, "plain", rule.tlp.upper(), "", "")
            if c.withheld.get(field):
                table.add_row(
                    "",
                    f"[yellow]{c.withheld[field]} withheld[/]",
                    "",
                    "",
                    "also seen in other traffic",
                )
        table.add_row("prompt text, account ids", "[bold]never leave[/]", "", "", "")
        parts.append(table)
    if result.skipped:
        skipped = Table(title="campaigns not shared", title_justify="left")
        skipped.add_column("campaign")
        skipped.add_column("why")
        for cid, why in result.skipped:
            skipped.add_row(cid, why)
        parts.append(skipped)
    return Group(*parts)


def print_preview(result: ExportResult, policy: Policy, console: Console) -> None:
    console.print(render(result, policy))
