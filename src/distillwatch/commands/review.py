"""``distillwatch console ...``: the analyst console (import, users, feedback, serve).

The web framework and SQLAlchemy are imported inside each command so ``distillwatch --help``
stays fast. Passwords never come from the command line (it is visible in ``ps`` and shell
history): from an environment variable, or from standard input.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from distillwatch.console import console, fail

if TYPE_CHECKING:
    from distillwatch.review.store import Store

app = typer.Typer(
    help="The analyst console: review scans, decide cases, act, share, feed verdicts back.",
    no_args_is_help=True,
)
user_app = typer.Typer(help="Console users (viewer, analyst, admin).", no_args_is_help=True)
app.add_typer(user_app, name="user")

PASSWORD_ENV = "DISTILLWATCH_CONSOLE_PASSWORD"
_DB = typer.Option(
    "distillwatch-console.db",
    "--db",
    envvar="DISTILLWATCH_CONSOLE_DB",
    help="The console store: a SQLite file or a postgresql:// URL.",
)
_SCHEMA = typer.Option(None, "--schema", help="PostgreSQL schema of the store (default: public).")
_ACTOR = typer.Option(None, "--as", help="Name written to the audit log (default: $USER).")


def _store(db: str, schema: str | None) -> Store:
    from sqlalchemy.exc import SQLAlchemyError

    from distillwatch.review.store import Store

    try:
        return Store(db, schema=schema)
    except SQLAlchemyError as exc:
        fail(f"cannot open the console store {db.split('@')[-1]}: {type(exc).__name__}")
        raise


def _actor(name: str | None) -> str:
    return f"cli:{name or os.environ.get('USER') or 'unknown'}"


@app.command("import")
def import_(
    scans: list[Path] = typer.Argument(..., help="Scan output directories (distillwatch scan)."),
    replay: list[Path] | None = typer.Option(None, "--replay", help="A replay output directory."),
    db: str = _DB,
    schema: str | None = _SCHEMA,
    actor: str | None = _ACTOR,
) -> None:
    """Import scans (and replay decisions); opens cases for what they flag."""
    from distillwatch.review.importer import import_replay, import_scan
    from distillwatch.review.store import ConsoleError

    store = _store(db, schema)
    try:
        for scan in scans:
            r = import_scan(store, scan, _actor(actor))
            console.print(
                f"scan #{r.scan_id} from {scan}: {r.accounts} accounts, {r.flagged} flagged, "
                f"{r.campaigns} campaigns; {r.cases_opened} case(s) opened, "
                f"{r.dismissed_before} flagged again on evidence already dismissed",
                soft_wrap=True,
                markup=False,
            )
        for rd in replay or []:
            n = import_replay(store, rd, _actor(actor))
            console.print(f"{n} decisions from {rd}", markup=False)
    except ConsoleError as exc:
        fail(str(exc))
    finally:
        store.close()


@app.command("import-intel")
def import_intel_(
    blocklist: Path | None = typer.Option(
        None, "--blocklist", help="The block list `share pull` keeps (share-blocklist.json)."
    ),
    hits: Path | None = typer.Option(
        None, "--hits", help="The retrohunt.jsonl of `share hunt`: our accounts that match."
    ),
    db: str = _DB,
    schema: str | None = _SCHEMA,
    actor: str | None = _ACTOR,
) -> None:
    """Import shared intelligence (replacing the previous import) for the intel page."""
    from distillwatch.review.intel import import_intel
    from distillwatch.review.store import ConsoleError

    if blocklist is None and hits is None:
        fail("give --blocklist and/or --hits")
    store = _store(db, schema)
    try:
        said = import_intel(store, blocklist, hits, _actor(actor))
    except ConsoleError as exc:
        fail(str(exc))
    finally:
        store.close()
    console.print(f"imported {said}", markup=False)


def _read_password(env: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            fail("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option(..., "--role", help="viewer, analyst or admin."),
    password_env: str = typer.Option(
        PASSWORD_ENV,
        "--password-env",
        help="Environment variable holding the password (else it is read from standard input).",
    ),
    db: str = _DB,
    schema: str | None = _SCHEMA,
    actor: str | None = _ACTOR,
) -> None:
    """Create a user, or reset its role and password (its sessions end)."""
    from distillwatch.review.auth import add_user
    from distillwatch.review.store import ConsoleError

    password = _read_password(password_env)
    store = _store(db, schema)
    try:
        with store.begin() as conn:
            add_user(conn, store.t, _actor(actor), name, role, password)
    except ConsoleError as exc:
        fail(str(exc))
    finally:
        store.close()
    console.print(f"user {name}: {role}", markup=False)


@user_app.command("list")
def user_list(db: str = _DB, schema: str | None = _SCHEMA) -> None:
    """Users and their roles."""
    from distillwatch.review.auth import users

    store = _store(db, schema)
    with store.begin() as conn:
        for name, role in users(conn, store.t):
            typer.echo(f"{name}\t{role}")
    store.close()


@app.command("verdicts")
def verdicts(
    out_file: Path = typer.Option(..., "--out", "-o", help="Where to write verdicts.jsonl."),
    db: str = _DB,
    schema: str | None = _SCHEMA,
) -> None:
    """Write analysts' verdicts as the file ``calibrate --verdicts`` reads."""
    from distillwatch.review.cases import verdict_lines

    store = _store(db, schema)
    with store.begin() as conn:
        lines = verdict_lines(conn, store.t)
    store.close()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_bytes(b"".join(lines))
    console.print(f"{len(lines)} verdict(s) -> {out_file}", markup=False)


@app.command("serve")
def serve(
    db: str = _DB,
    schema: str | None = _SCHEMA,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    redis: str | None = typer.Option(None, "--redis", help="The gateways' Redis (as policy)."),
    prefix: str = typer.Option("distillwatch:", "--redis-prefix", help="Gateways' key prefix."),
    state: Path = typer.Option(
        Path("distillwatch-state/overrides.jsonl"),
        "--state",
        help="Overrides file of a gateway without Redis (its --state).",
    ),
    share_policy: Path | None = typer.Option(None, "--share-policy", help="Sharing policy TOML."),
    share_key: Path | None = typer.Option(
        None, "--share-key-file", help="The group's HMAC key (else $DISTILLWATCH_SHARE_KEY)."
    ),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark cookies Secure (when served behind TLS)."
    ),
) -> None:
    """Serve the console (log in with a user made by ``console user add``)."""
    import uvicorn

    from distillwatch.review.actions import EnforceConfig, ShareConfig
    from distillwatch.review.app import create_app

    store = _store(db, schema)
    app_ = create_app(
        store,
        EnforceConfig(redis, prefix, state),
        ShareConfig(share_policy, share_key),
        secure_cookies=secure_cookies,
    )
    console.print(f"console on http://{host}:{port}/ (store {db.split('@')[-1]})", markup=False)
    uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False)
