"""``distillwatch gateway --upstream URL``: the enforcing reverse proxy."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import typer

from distillwatch.console import console, fail


def command(
    upstream: str = typer.Option(
        ..., "--upstream", "-u", help="Base URL of the OpenAI-compatible server to protect."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", "-p", help="Policy file (TOML); default: the built-in policy."
    ),
    keys: Path | None = typer.Option(
        None, "--keys", "-k", help="Keys file mapping API keys to accounts (TOML)."
    ),
    redis: str | None = typer.Option(
        None, "--redis", help="Share enforcement state between replicas (redis://host:port/0)."
    ),
    log_dir: Path | None = typer.Option(
        None, "--log-dir", help="Write traffic log v1 (DIR/traffic) and decisions (DIR/decisions)."
    ),
    nats: str | None = typer.Option(
        None, "--nats", help="Also publish every record to NATS JetStream (nats://host:4222)."
    ),
    fail_mode: str = typer.Option(
        "open", "--fail-mode", help="When the state store is unreachable: open or closed."
    ),
    scan: Path | None = typer.Option(
        None, "--scan", help="Seed the assessor with a 'distillwatch scan' output directory."
    ),
    blocklist: Path | None = typer.Option(
        None, "--blocklist", help="Block list from 'distillwatch share pull' (re-read on change)."
    ),
    group_key: Path | None = typer.Option(
        None, "--group-key", help="Sharing-group key file, for hashed indicators."
    ),
    assessor: str | None = typer.Option(
        None,
        "--assessor",
        help="default (online engine + decayed rates), rate, online, or module:callable "
        "returning your own assessor.",
    ),
    overrides: Path = typer.Option(
        Path("distillwatch-state/overrides.jsonl"),
        "--state",
        help="Without --redis: the overrides file 'policy override' writes (same default).",
    ),
    upstream_key_env: str | None = typer.Option(
        None, "--upstream-key-env", help="Env var holding the API key to send upstream."
    ),
    trust_forwarded: bool = typer.Option(
        False, "--trust-forwarded", help="Take the client IP from X-Forwarded-For."
    ),
    body_limit: int = typer.Option(
        8 * 1024 * 1024, "--body-limit", help="Largest request body in bytes (larger: 413)."
    ),
    connect_timeout: float = typer.Option(
        10.0, "--connect-timeout", help="Seconds to open a connection upstream."
    ),
    read_timeout: float = typer.Option(
        600.0, "--read-timeout", help="Seconds until the upstream's response headers."
    ),
    idle_timeout: float = typer.Option(
        300.0, "--idle-timeout", help="Longest silence (s) between body chunks (limits streams)."
    ),
    total_timeout: float = typer.Option(
        0.0, "--total-timeout", help="Seconds for a whole exchange, body included (0: none)."
    ),
    shutdown_timeout: float = typer.Option(
        10.0, "--shutdown-timeout", help="On SIGTERM, seconds requests in flight may finish."
    ),
    ext_authz: str | None = typer.Option(
        None,
        "--ext-authz",
        help="Also answer Envoy/Kong external-authorisation checks under this path prefix "
        "(e.g. /ext_authz): decide and log only, 200 allows.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
) -> None:
    """Put enforcement in front of an OpenAI-compatible server: identify, decide, forward, log."""
    try:
        import uvicorn

        from distillwatch.gateway import GatewayConfig, build_gateway
        from distillwatch.gateway.proxy import Timeouts
    except ImportError as exc:
        fail(f"the gateway needs its extra: pip install 'distillwatch[gateway]' ({exc.name})")
        return
    if fail_mode not in ("open", "closed"):
        fail(f"--fail-mode must be 'open' or 'closed', got {fail_mode!r}")
    limits = {
        "--body-limit": body_limit, "--connect-timeout": connect_timeout,
        "--read-timeout": read_timeout, "--idle-timeout": idle_timeout,
        "--shutdown-timeout": shutdown_timeout,
    }  # fmt: skip
    for name, value in limits.items():
        if value <= 0:
            fail(f"{name} must be positive, got {value}")
    if total_timeout < 0:
        fail(f"--total-timeout must be positive or 0 (none), got {total_timeout}")
    config = GatewayConfig(
        upstream=upstream,
        policy=policy,
        keys=keys,
        redis=redis,
        log_dir=log_dir,
        nats=nats,
        fail_mode="open" if fail_mode == "open" else "closed",
        scan=scan,
        assessor=assessor,
        blocklist=blocklist,
        group_key=group_key,
        overrides=overrides,
        upstream_key_env=upstream_key_env,
        trust_forwarded=trust_forwarded,
        body_limit=body_limit,
        timeouts=Timeouts(connect_timeout, read_timeout, idle_timeout, total_timeout or None),
        shutdown_timeout=shutdown_timeout,
        ext_authz=ext_authz,
    )
    try:
        gateway = build_gateway(config)
    except (ValueError, OSError) as exc:  # PolicyError and KeysFileError are ValueErrors
        fail(str(exc))
        return
    # distillwatch's own events (state store lost/regained) at INFO; libraries (httpx logs
    # every request at INFO) only from WARNING, so the log is not a second traffic log
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("distillwatch").setLevel(logging.INFO)
    state = f"Redis {redis}" if redis else "in-memory state"
    console.print(
        f"gateway on http://{host}:{port} -> {upstream} "
        f"(policy {gateway.policy.source}, {state}, fail-{fail_mode}); metrics at /metrics"
    )
    # What start-up loaded (the engine's model, signal tables: ~200k objects) lives as long
    # as the process: frozen, it is left out of every later collection. A full collection
    # over it took 135-150 ms, a pause every request in flight waited out.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        gateway.app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,  # the upstream's Server and Date headers pass through
        date_header=False,
        # requests in flight get this long after SIGTERM, then are cancelled (and logged so)
        timeout_graceful_shutdown=max(1, round(shutdown_timeout)),
    )
