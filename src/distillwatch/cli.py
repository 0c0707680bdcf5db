"""The ``distillwatch`` command line."""

from __future__ import annotations

import importlib
import multiprocessing

import typer

from distillwatch import __version__

app = typer.Typer(
    name="distillwatch",
    help="Detect, stop, attribute and share adversarial distillation of model APIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

#: command name -> module in ``distillwatch.commands`` that defines ``command`` (or ``app``).
_COMMANDS = {
    "simulate": "simulate",
    "ingest": "ingest",
    "scan": "scan",
    "calibrate": "calibrate",
    "evaluate": "evaluate",
    "replay": "replay",
    "share": "share",
    "gateway": "gateway",
    "policy": "policy",
    "watermark": "watermark",
    "console": "review",
}


def _register() -> None:
    for name, module in _COMMANDS.items():
        try:
            mod = importlib.import_module(f"distillwatch.commands.{module}")
        except ModuleNotFoundError as exc:  # a stage not built yet
            if exc.name != f"distillwatch.commands.{module}":
                raise
            continue
        if hasattr(mod, "command"):
            app.command(name=name)(mod.command)
        else:  # a group of sub-commands: the module exposes a Typer ``app``
            app.add_typer(mod.app, name=name)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Detect, stop, attribute and share adversarial distillation of model APIs."""


def _in_worker_start() -> bool:
    """Whether this import is a worker process's re-run of the program's script: with
    ``forkserver`` (a scan's ingest workers) and ``spawn``, multiprocessing runs the
    ``distillwatch`` script again as ``__mp_main__`` in every worker before its task, the
    flag below set (the one ``multiprocessing.spawn`` itself checks). A worker runs no
    command, and importing them all cost each worker of a scan 1.0 CPU s (SciPy's
    statistics, DuckDB, Typer's commands)."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


if not _in_worker_start():
    _register()

if __name__ == "__main__":
    app()
