"""``optional_imports.without``: a companion module looks absent inside the block only."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from distillwatch.optional_imports import without


def _package(root: Path, name: str) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    (root / name / "sub.py").write_text("VALUE = 2\n", encoding="utf-8")


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith(("dw_companion", "dw_library"))]:
        del sys.modules[name]


def test_hidden_inside_the_block_and_importable_after(packages: Path) -> None:
    _package(packages, "dw_companion")
    with without("dw_companion"):
        with pytest.raises(ImportError):
            importlib.import_module("dw_companion")
        with pytest.raises(ImportError):
            importlib.import_module("dw_companion.sub")
    assert "dw_companion" not in sys.modules
    assert importlib.import_module("dw_companion.sub").VALUE == 2


def test_a_library_that_tries_the_companion_gets_none(packages: Path) -> None:
    _package(packages, "dw_companion")
    (packages / "dw_library.py").write_text(
        "try:\n    import dw_companion\nexcept ImportError:\n    dw_companion = None\n",
        encoding="utf-8",
    )
    with without("dw_companion"):
        library = importlib.import_module("dw_library")
    assert library.dw_companion is None
    assert importlib.import_module("dw_companion").VALUE == 1


def test_an_imported_companion_is_never_hidden(packages: Path) -> None:
    _package(packages, "dw_companion")
    companion = importlib.import_module("dw_companion")
    with without("dw_companion"):
        assert importlib.import_module("dw_companion") is companion
    assert sys.modules["dw_companion"] is companion


def test_the_entry_goes_even_when_the_block_raises(packages: Path) -> None:
    with pytest.raises(RuntimeError), without("dw_companion"):
        raise RuntimeError("boom")
    assert "dw_companion" not in sys.modules
