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


def _fail(message: str) -> None:
    """``fail`` with the message shown as written: config errors name TOML tables like
    ``[members]``, which the console would otherwise take for markup and swallow."""
    from rich.markup import escape

    fail(escape(message))


app = typer.Typer(
    name="share",
    help="Share sanitised STIX 2.1 campaign intelligence with other providers over TAXII 2.1.",
    no_args_is_help=True,
)

_SCAN = typer.Option(..., "--scan", help="A scan output directory (distillwatch scan --out).")
_POLICY = typer.Option(None, "--policy", help="Sharing policy TOML (default: the built-in one).")
_KEY = typer.Option(None, "--key-file", help="The group's HMAC key (else $DISTILLWATCH_SHARE_KEY).")
_TO = typer.Option(None, "--to", help="Recipient member (repeatable; default: all in policy).")
_TRAFFIC = typer.Option(
    None,
    "--traffic",
    help="The scanned logs: values also seen outside the campaigns are withheld (repeatable).",
)


def _prepare(
    scan: Path,
    policy_file: Path | None,
    key_file: Path | None,
    to: list[str] | None,
    traffic: list[Path] | None = None,
) -> tuple[Policy, GroupKey, ExportResult]:
    """Load the policy and key and build the bundle, or fail with a clear message."""
    from distillwatch.ingest import IngestError
    from distillwatch.report.scandir import ScanFileError
    from distillwatch.share.export import build_bundle
    from distillwatch.share.keyed import GroupKeyError, load_key
    from distillwatch.share.policy import PolicyError, load_policy
    from distillwatch.share.traffic import distinct_requests

    if not scan.is_dir():
        _fail(f"no scan directory at {scan}")
    try:
        policy = load_policy(policy_file)
        key = load_key(key_file)
        seen = distinct_requests(list(traffic)) if traffic else None
        result = build_bundle(scan, policy, key, recipients=to or None, traffic=seen)
    except (PolicyError, GroupKeyError, ScanFileError, IngestError) as exc:
        _fail(str(exc))
        raise AssertionError from exc  # unreachable: _fail() exits
    return policy, key, result


@app.command()
def export(
    scan: Path = _SCAN,
    out_file: Path = typer.Option(..., "--out", "-o", help="Where to write the STIX bundle."),
    policy_file: Path | None = _POLICY,
    key_file: Path | None = _KEY,
    to: list[str] | None = _TO,
    traffic: list[Path] | None = _TRAFFIC,
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

    policy, key, result = _prepare(scan, policy_file, key_file, to, traffic)
    problems = [
        p for p in oasis_problems(result.objects, strict=strict) if strict or p.severity == "error"
    ]
    if problems:
        listed = "\n".join(f"  {p}" for p in problems[:20])
        _fail(f"the bundle does not pass the STIX 2.1 validator; nothing written:\n{listed}")
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
    traffic: list[Path] | None = _TRAFFIC,
) -> None:
    """Show what an export would send (fields, encodings, TLP, counts) without writing it."""
    from distillwatch.share.preview import print_preview

    policy, _, result = _prepare(scan, policy_file, key_file, to, traffic)
    print_preview(result, policy, out)


@app.command("init-policy")
def init_policy(
    path: Path = typer.Argument(Path("sharing-policy.toml"), help="Where to write the policy."),
) -> None:
    """Write the default sharing policy to edit and sign off."""
    from distillwatch.share.policy import DEFAULT_POLICY

    if path.exists():
        _fail(f"{path} exists; not overwriting it")
    path.write_text(DEFAULT_POLICY, encoding="utf-8")
    console.print(f"wrote {path}")


_PASSWORD_ENV = "DISTILLWATCH_SHARE_PASSWORD"
_USER = typer.Option(..., "--user", help="Your member name on the TAXII server.")
_PASSWORD_FILE = typer.Option(
    None, "--password-file", help=f"File holding your password (else ${_PASSWORD_ENV})."
)
_CA_FILE = typer.Option(
    None, "--ca-file", help="CA certificate(s) to check the hub's TLS certificate against."
)


def _password(path: Path | None) -> str:
    import os

    if path is not None:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            _fail(f"cannot read the password file {path}: {exc.strerror}")
    value = os.environ.get(_PASSWORD_ENV)
    if not value:
        _fail(f"no password: give --password-file or set {_PASSWORD_ENV}")
        raise AssertionError  # unreachable
    return value


def _verify(ca_file: Path | None) -> str | bool:
    if ca_file is None:
        return True
    if not ca_file.is_file():
        _fail(f"no CA file at {ca_file}")
    return str(ca_file)


@app.command()
def publish(
    bundle: Path = typer.Argument(..., help="A bundle written by 'share export'."),
    collection: str = typer.Option(..., "--collection", help="The TAXII collection URL."),
    user: str = _USER,
    password_file: Path | None = _PASSWORD_FILE,
    audit_log: Path = typer.Option(Path("share-audit.jsonl"), "--audit-log"),
    ca_file: Path | None = _CA_FILE,
    extension: str = typer.Option(
        "auto",
        "--extension",
        help="Send the fingerprint's extension-definition: auto (only to a distillwatch hub), "
        "include, omit.",
    ),
) -> None:
    """Add a bundle's objects to a TAXII 2.1 collection (logged in the audit log)."""
    import hashlib

    from distillwatch.share import audit
    from distillwatch.share.client import ShareClientError, Source
    from distillwatch.share.client import publish as send

    try:
        data = bundle.read_bytes()
        doc = orjson.loads(data)
    except (OSError, orjson.JSONDecodeError) as exc:
        _fail(f"cannot read the bundle {bundle}: {exc}")
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        _fail(f"{bundle} is not a STIX bundle (no 'objects' list)")
    try:
        source = Source(collection, user, _password(password_file), _verify(ca_file))
        status = send(source, doc, extension=extension)
    except ShareClientError as exc:
        _fail(str(exc))
        return
    audit.append(
        audit_log,
        {
            "action": "publish",
            "bundle_id": doc.get("id"),
            "bundle_sha256": hashlib.sha256(data).hexdigest(),
            "collection": collection,
            "user": user,
            "status": {k: status[k] for k in ("id", "status", "success_count", "failure_count")},
            "omitted_extension_definitions": status["omitted"],
        },
    )
    console.print(
        f"published {status['success_count']}/{status['total_count']} objects to {collection} "
        f"(status {status['id']}, {status['failure_count']} failed"
        + (
            ", extension-definition left out: not a distillwatch hub)" if status["omitted"] else ")"
        ),
        soft_wrap=True,
    )
    for failure in status["failures"] or []:
        console.print(f"[red]refused[/] {failure}", soft_wrap=True)
    if status["failure_count"]:
        raise typer.Exit(1)


@app.command()
def serve(
    config: Path = typer.Option(..., "--config", help="Server configuration TOML."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8765, "--port"),
    database: str | None = typer.Option(None, "--database", help="Override the config's URL."),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", help="PEM certificate (chain) to serve HTTPS with."
    ),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert."),
) -> None:
    """Run the TAXII 2.1 server (discovery, collections, objects, manifests, versions).

    Members log in with HTTP Basic: serve with --tls-cert/--tls-key (or behind a TLS
    proxy) anywhere but loopback, or their passwords cross the network in clear."""
    import dataclasses

    import uvicorn

    from distillwatch.share.server import ConfigError, checker, create_app, load_config

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
        return
    if database:
        cfg = dataclasses.replace(cfg, database=database)
    if (tls_cert is None) != (tls_key is None):
        _fail("give both --tls-cert and --tls-key (or neither)")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            _fail(f"no TLS file at {path}")
    scheme = "https" if tls_cert else "http"
    if scheme == "http" and host not in ("127.0.0.1", "::1", "localhost"):
        console.print(
            f"[yellow]warning[/] serving {host} without TLS: Basic credentials travel in clear "
            "(use --tls-cert/--tls-key or a TLS proxy)",
            soft_wrap=True,
        )
    console.print(
        f"TAXII 2.1 server on {scheme}://{host}:{port}/taxii2/ (api root /{cfg.api_root}/)"
    )
    try:  # the app validates uploads in a worker process (started before it listens)
        uvicorn.run(
            create_app(cfg),
            host=host,
            port=port,
            log_level="warning",
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
        )
    finally:
        checker.shutdown()


@app.command()
def pull(
    collection: list[str] = typer.Option(..., "--collection", help="Collection URL (repeatable)."),
    user: str = _USER,
    password_file: Path | None = _PASSWORD_FILE,
    store_url: str = typer.Option(
        "sqlite:///share-imports.sqlite", "--store", help="SQLAlchemy URL of the import store."
    ),
    blocklist: Path = typer.Option(
        Path("share-blocklist.json"), "--blocklist", help="Block list for the online engine."
    ),
    key_file: Path | None = _KEY,
    follow_: bool = typer.Option(False, "--follow", help="Keep polling (a daemon)."),
    interval: float = typer.Option(2.0, "--interval", min=0.1, help="Seconds between polls."),
    trust_file: Path | None = typer.Option(
        None, "--trust", help="Trust settings TOML: member weights, caps (see docs/sharing.md)."
    ),
    ca_file: Path | None = _CA_FILE,
) -> None:
    """Fetch new objects from peers, keep their provenance, refresh the block list."""
    from distillwatch.share.client import Source
    from distillwatch.share.keyed import GroupKeyError, load_key
    from distillwatch.share.server.store import Store
    from distillwatch.share.sync import Cycle, follow, sync_once
    from distillwatch.share.trust import TrustError, load_trust

    try:
        key = load_key(key_file)
        trust = load_trust(trust_file)
    except (GroupKeyError, TrustError) as exc:
        _fail(str(exc))
        return
    secret = _password(password_file)
    sources = [Source(url, user, secret, _verify(ca_file)) for url in collection]
    store = Store(store_url)

    def report(cycle: Cycle) -> None:
        for url, r in cycle.results.items():
            if r.fetched or not follow_:
                console.print(
                    f"{url}: {r.fetched} fetched, {r.new} new, {len(r.rejected)} rejected "
                    f"in {r.seconds:.2f} s",
                    soft_wrap=True,
                )
            for ident, why in r.rejected[:5]:
                console.print(f"[yellow]rejected[/] {ident}: {why}", soft_wrap=True)
        for url, err in cycle.errors.items():
            console.print(f"[red]error[/] {url}: {err}", soft_wrap=True)
        if cycle.entries is not None:
            console.print(f"block list: {cycle.entries} entries -> {blocklist}", soft_wrap=True)

    if follow_:
        follow(sources, store, blocklist, key, interval=interval, on_cycle=report, trust=trust)
        return
    cycle = sync_once(sources, store, blocklist, key, trust=trust)
    report(cycle)
    if cycle.errors:
        raise typer.Exit(1)


@app.command()
def hunt(
    logs: list[Path] = typer.Argument(None, help="Traffic logs or an ingested dataset."),
    scan: Path | None = typer.Option(None, "--scan", help="A scan dir (its enriched data)."),
    blocklist: Path = typer.Option(Path("share-blocklist.json"), "--blocklist"),
    key_file: Path | None = _KEY,
    update: bool = typer.Option(
        False, "--update", help="Raise the scores in the scan's accounts.jsonl."
    ),
    out_file: Path | None = typer.Option(None, "--out", help="retrohunt.jsonl path."),
    threshold: float = typer.Option(0.5, "--threshold", help="Score at which to flag."),
) -> None:
    """Retro-hunt: find your accounts that share infrastructure, cards or templates with
    campaigns other members reported."""
    from distillwatch.share.blocklist import BlocklistError
    from distillwatch.share.hunt import distinct_requests, raise_scores, write_hits
    from distillwatch.share.hunt import hunt as run_hunt
    from distillwatch.share.keyed import GroupKeyError, load_key
    from distillwatch.share.match import Matcher

    if not logs and scan is None:
        _fail("give traffic logs or --scan DIR")
    try:
        key = load_key(key_file)
        matcher = Matcher.from_file(blocklist, key)
    except (GroupKeyError, BlocklistError) as exc:
        _fail(str(exc))
        return
    source: Path | list[Path] = scan if scan is not None and not logs else list(logs)
    hits = run_hunt(distinct_requests(source), matcher)
    target = out_file or ((scan or Path(".")) / "retrohunt.jsonl")
    write_hits(target, hits)
    blocked = sum(h.block for h in hits)
    console.print(f"{len(hits)} account(s) match shared campaigns ({blocked} to block) -> {target}")
    if update and scan is not None:
        newly = raise_scores(scan, hits, threshold)
        console.print(f"raised scores in {scan / 'accounts.jsonl'}: {newly} newly flagged")


@app.command()
def passwd() -> None:
    """Print the scrypt hash of a password (read from the prompt) for a server config."""
    from distillwatch.share.server.config import hash_password

    secret = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    out.print(hash_password(secret))
