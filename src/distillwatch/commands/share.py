"""``distillwatch share ...``: export, preview, publish, serve, pull, hunt.

Heavy libraries (FastAPI, the STIX validator, SQLAlchemy) are imported inside each command,
so ``distillwatch --help`` stays fast and the core install works without the ``share`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import typer

from distillwatch.console import console, fail, out

if TYPE_CHECKING:
    from distillwatch.share.export import ExportResult
    from distillwatch.share.keyed import GroupKey
    from distillwatch.share.policy import Policy

app = typer.Typer(
    name="share",
    help="Share sanitised STIX 2.1 campaign intelligence with other providers over TAXII 2.1.",
    no_args_is_help=True,
)

_SCAN = typer.Option(..., "--scan", help="A scan output directory (distillwatch scan --out).")
_POLICY = typer.Option(None, "--policy", help="Sharing policy TOML (default: the built-in one).")
_KEY = typer.Option(None, "--key-file", help="The group's HMAC key (else $DISTILLWATCH_SHARE_KEY).")
_TO = typer.Option(None, "--to", help="Recipient member (repeatable; default: all in policy).")


def _prepare(
    scan: Path, policy_file: Path | None, key_file: Path | None, to: list[str] | None
) -> tuple[Policy, GroupKey, ExportResult]:
    """Load the policy and key and build the bundle, or fail with a clear message."""
    from distillwatch.report.scandir import ScanFileError
    from distillwatch.share.export import build_bundle
    from distillwatch.share.keyed import GroupKeyError, load_key
    from distillwatch.share.policy import PolicyError, load_policy

    if not scan.is_dir():
        fail(f"no scan directory at {scan}")
    try:
        policy = load_policy(policy_file)
        key = load_key(key_file)
        result = build_bundle(scan, policy, key, recipients=to or None)
    except (PolicyError, GroupKeyError, ScanFileError) as exc:
        fail(str(exc))
        raise AssertionError from exc  # unreachable: fail() exits
    return policy, key, result


@app.command()
def export(
    scan: Path = _SCAN,
    out_file: Path = typer.Option(..., "--out", "-o", help="Where to write the STIX bundle."),
    policy_file: Path | None = _POLICY,
    key_file: Path | None = _KEY,
    to: list[str] | None = _TO,
    audit_log: Path = typer.Option(
        Path("share-audit.jsonl"), "--audit-log", help="Append-only log of every export."
    ),
    strict: bool = typer.Option(
        True, "--strict/--no-strict", help="Refuse a bundle with validator warnings too."
    ),
) -> None:
    """Write a STIX 2.1 bundle of the scan's campaigns, as the sharing policy allows."""
    from distillwatch.share import audit
    from distillwatch.share.validate import oasis_problems

    policy, key, result = _prepare(scan, policy_file, key_file, to)
    problems = [
        p for p in oasis_problems(result.objects, strict=strict) if strict or p.severity == "error"
    ]
    if problems:
        listed = "\n".join(f"  {p}" for p in problems[:20])
        fail(f"the bundle does not pass the STIX 2.1 validator; nothing written:\n{listed}")
    data = orjson.dumps(result.bundle, option=orjson.OPT_INDENT_2)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_bytes(data)
    audit.append(audit_log, audit.export_event(result, policy, key, data, str(out_file)))
    console.print(
        f"exported {len(result.campaigns)} campaign(s), {len(result.objects)} objects "
        f"(TLP up to {result.clearance.upper()}) for {', '.join(result.recipients)} -> "
        f"{out_file}; logged in {audit_log}",
        soft_wrap=True,
    )


@app.command()
def preview(
    scan: Path = _SCAN,
    policy_file: Path | None = _POLICY,
    key_file: Path | None = _KEY,
    to: list[str] | None = _TO,
) -> None:
    """Show what an export would send (fields, encodings, TLP, counts) without writing it."""
    from distillwatch.share.preview import print_preview

    policy, _, result = _prepare(scan, policy_file, key_file, to)
    print_preview(result, policy, out)


@app.command("init-policy")
def init_policy(
    path: Path = typer.Argument(Path("sharing-policy.toml"), help="Where to write the policy."),
) -> None:
    """Write the default sharing policy to edit and sign off."""
    from distillwatch.share.policy import DEFAULT_POLICY

    if path.exists():
        fail(f"{path} exists; not overwriting it")
    path.write_text(DEFAULT_POLICY, encoding="utf-8")
    console.print(f"wrote {path}")
