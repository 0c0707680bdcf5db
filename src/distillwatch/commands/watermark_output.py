"""What ``distillwatch watermark detect`` prints: the key table, marked documents, spans.

Kept apart from the command definitions so each file stays one thing; everything here
only formats results the watermark package computed.
"""

from __future__ import annotations

from rich.table import Table

from distillwatch.console import out
from distillwatch.watermark.detect import Detection
from distillwatch.watermark.documents import DocumentScore, DocumentScores
from distillwatch.watermark.evidence import MarkedDocument, findings
from distillwatch.watermark.spans import Span


def p_text(p: float) -> str:
    return "< 1e-300" if p <= 0.0 else f"{p:.3g}"


def key_report(result: Detection, alpha: float, top: int, radioactive: bool) -> None:
    table = Table(title="keys, best match first (all documents pooled)", title_justify="left")
    table.add_column("key", overflow="fold")
    for col in ("tuples", "z", "p", "p (corrected)"):
        table.add_column(col, justify="right", no_wrap=True)
    for s in result.scores[:top]:
        style = "bold green" if s.p_adjusted <= alpha else ""
        row = (s.label, f"{s.scored:,}", f"{s.z:.2f}", p_text(s.p_value), p_text(s.p_adjusted))
        table.add_row(*row, style=style)
    schemes = ", ".join(dict.fromkeys(s.scheme for s in result.scores))
    out.print(
        f"{result.documents:,} document(s), {result.tokens:,} tokens, "
        f"{len(result.scores):,} key(s) tried; {schemes}",
        soft_wrap=True,
    )
    out.print(table)
    found = findings(list(result.scores), alpha, radioactive)
    for finding in found:
        out.print(f"[bold green]match[/] {finding}", soft_wrap=True)
    if not found:
        out.print(
            f"no key matches at alpha = {alpha:g} (p corrected for the keys tried)", soft_wrap=True
        )


def where(doc: DocumentScore | Span) -> str:
    return f"line {doc.line}" if doc.line else f"document {doc.doc + 1}"


#: how each document's tuples were chosen, per ``--shared`` rule
RULES = {
    "first": "each tuple scored in the first document holding it",
    "drop": "only tuples no other document holds",
    "keep": "every tuple of each document (shared n-grams make p-values dependent)",
}


def document_report(docs: DocumentScores, alpha: float, top: int, shared: str) -> None:
    flagged = docs.flagged(alpha)
    out.print(
        f"per document: {docs.documents:,} distinct document(s) x {len(docs.keys):,} key(s); "
        f"{RULES[shared]}",
        soft_wrap=True,
    )
    for d in flagged[:top]:
        copies = f" ({d.copies} identical copies)" if d.copies > 1 else ""
        finding = MarkedDocument(where(d) + copies, d.key, d.p_adjusted, d.scored)
        out.print(f"[bold green]match[/] {finding}", soft_wrap=True)
    if len(flagged) > top:
        out.print(f"... and {len(flagged) - top:,} more (--top, or --json)")
    if not flagged:
        best = docs.ranked(1)
        tail = (
            f"; best {where(best[0])} p (corrected) = {p_text(best[0].p_adjusted)}" if best else ""
        )
        out.print(f"no document matches at alpha = {alpha:g}{tail}", soft_wrap=True)


def span_report(spans: list[Span], windows: int, alpha: float, top: int) -> None:
    out.print(f"spans: {windows:,} windows of 32-256 tokens tried", soft_wrap=True)
    for s in spans[:top]:
        out.print(
            f"[bold green]marked span[/] {where(s)}, tokens {s.start:,}-{s.end:,}: key {s.key}, "
            f"p = {p_text(s.p_adjusted)} (corrected for every window and key)",
            soft_wrap=True,
        )
    if not spans:
        out.print(f"no marked span at alpha = {alpha:g}")
