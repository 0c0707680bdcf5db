"""Scenario draws on disk: simulate a family draw once, scan it once with the rules, reuse.

Training the calibrated scorer, fitting its calibration and measuring generalisation all read
the same thing per draw -- each account's features, the kinds of its findings and its label --
so a draw is simulated and scanned once (``scan`` with ``learned=False``: findings do not
depend on the model) and kept under a work directory. The families live in
``benchmarks/scenarios/families``: ``train`` draws fit the model, ``tune`` draws fit the
calibration and the default threshold, ``heldout`` draws are only ever measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from distillwatch.detect.identity import with_identity


@dataclass(frozen=True)
class Draw:
    """One simulated and rules-scanned draw of a family."""

    family: str
    index: int
    sim: Path
    scan: Path

    def accounts(self) -> pl.DataFrame:
        """Features (with ``disposable_email``), finding kinds, rules score, label and group
        per account."""
        features = with_identity(pl.read_parquet(self.scan / "features.parquet"))
        rows = [json.loads(line) for line in (self.scan / "accounts.jsonl").open()]
        kinds = pl.DataFrame(
            {
                "account_id": [r["account_id"] for r in rows],
                "kinds": [[f["kind"] for f in r["findings"]] for r in rows],
                "rules_score": [float(r["score"]) for r in rows],
                "distinctive": [bool(r.get("distinctive", True)) for r in rows],
            },
            schema={
                "account_id": pl.String,
                "kinds": pl.List(pl.String),
                "rules_score": pl.Float64,
                "distinctive": pl.Boolean,
            },
        )
        labels = pl.read_ndjson(self.sim / "labels.jsonl", infer_schema_length=None)
        group = pl.coalesce(
            pl.col("population") if "population" in labels.columns else pl.lit(None),
            pl.col("tactic") if "tactic" in labels.columns else pl.lit(None),
        )
        labels = labels.select(
            "account_id",
            (pl.col("label") == "attack").alias("attack"),
            group.cast(pl.String).alias("group"),
            pl.col("campaign_id").cast(pl.String),
        )
        return features.join(kinds, on="account_id").join(labels, on="account_id", how="left")


def detection_stamp() -> str:
    """A digest of the code a rules scan depends on (signals, features, detection): a draw
    scanned by other code is scanned again, so findings and the current checks never differ."""
    import hashlib

    import distillwatch

    root = Path(distillwatch.__file__).parent
    digest = hashlib.sha256()
    model_side = {"calibrated.py", "learned.py", "operating_point.py"}  # not read by the rules
    for folder in ("signals", "features", "detect"):
        for path in sorted((root / folder).rglob("*.py")):
            if path.name not in model_side:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def make_draw(family_file: Path, index: int, work: Path, accounts: int | None = None) -> Draw:
    """Simulate and scan draw ``index`` of ``family_file`` under ``work`` unless already there
    (and scanned by the current detection code)."""
    from distillwatch.scan import run_scan
    from distillwatch.simulate.family import draw_scenario

    name = family_file.stem
    sim, scan = work / f"{name}-{index}" / "sim", work / f"{name}-{index}" / "scan"
    if not (sim / "labels.jsonl").exists():
        from distillwatch.simulate import simulate

        overrides = {"accounts": accounts} if accounts else {}
        simulate(draw_scenario(family_file, index, **overrides), sim)
    stamp = scan / "detection.stamp"
    current = detection_stamp()
    fresh = stamp.exists() and stamp.read_text() == current
    if not fresh or not (scan / "_work" / "enriched.parquet").exists():
        run_scan([sim], scan, learned=False, keep_work=True)
        stamp.write_text(current)
    return Draw(name, index, sim, scan)
