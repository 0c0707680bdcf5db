"""Keyring: derivation per account, rotation, storage, and clear errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

import pytest

from distillwatch.watermark.keys import (
    KeyringError,
    MasterKey,
    keyring_from_dict,
    load_keyring,
    new_keyring,
    rotate,
    save_keyring,
)
from distillwatch.watermark.scheme import Scheme


def test_account_keys_are_hmac_derived_and_distinct() -> None:
    master = MasterKey("wm-1", b"\x01" * 32, Scheme(), "2026-01-01T00:00:00Z")
    digest = hmac.new(
        b"\x01" * 32, b"distillwatch/watermark/v1\x00account\x00acct_9", hashlib.sha256
    ).digest()
    key = master.derive("acct_9")
    assert key.material == (int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:16], "big"))
    assert key.label == "wm-1/acct_9"
    assert master.derive("acct_9") == key
    materials = {master.derive(f"acct_{i}").material for i in range(500)}
    assert len(materials) == 500
    assert master.derive().material not in materials
    assert master.derive().label == "wm-1"
    assert "material" not in repr(key) and "secret" not in repr(master)


def test_rotation_keeps_old_keys_for_detection() -> None:
    ring = new_keyring(Scheme("kgw"), created="2026-01-01T00:00:00Z")
    first = ring.active
    ring2 = rotate(ring, Scheme("gumbel"), now="2026-02-01T00:00:00Z")
    assert ring2.active is not first and ring2.active.scheme.name == "gumbel"
    assert ring2.get(first.key_id).retired == "2026-02-01T00:00:00Z"
    assert len(ring2.candidates()) == 2
    assert len(ring2.candidates(include_retired=False)) == 1
    per_account = ring2.candidates(["a", "b", "c"])
    assert [k.label for k in per_account][:3] == [f"{first.key_id}/{a}" for a in "abc"]
    assert len(per_account) == 6


def test_save_and_load_round_trip_owner_only(tmp_path: Path) -> None:
    ring = rotate(new_keyring(Scheme("kgw", window=3, gamma=0.5, delta=1.0)))
    path = tmp_path / "ring.json"
    save_keyring(ring, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(path) == ring


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "cannot read keyring"),
        (json.dumps({"format": "other"}), "not a distillwatch keyring"),
        (json.dumps({"format": "distillwatch-keyring/1", "keys": []}), "holds no keys"),
        (
            json.dumps({"format": "distillwatch-keyring/1", "keys": [{"id": "x"}]}),
            "key #1 is malformed",
        ),
        (
            json.dumps(
                {
                    "format": "distillwatch-keyring/1",
                    "keys": [
                        {"id": "x", "secret": "00", "scheme": {"name": "kgw"}, "created": "t"}
                    ],
                }
            ),
            "shorter than 128 bits",
        ),
    ],
)
def test_bad_keyrings_name_the_file_and_the_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "ring.json"
    path.write_text(content)
    with pytest.raises(KeyringError, match=message) as info:
        load_keyring(path)
    assert str(path) in str(info.value)


def test_missing_keyring_and_no_active_key(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="keyring not found"):
        load_keyring(tmp_path / "nope.json")
    ring = new_keyring(Scheme())
    data = {
        "format": "distillwatch-keyring/1",
        "keys": [
            {
                "id": ring.active.key_id,
                "secret": ring.active.secret.hex(),
                "scheme": {"name": "kgw"},
                "created": "t",
                "retired": "t2",
            }
        ],
    }
    with pytest.raises(KeyringError, match="no active key"):
        _ = keyring_from_dict(data).active
