"""Measure a scan against ground truth: account FPR and recall, per population and tactic,
campaign recall and purity, and the volume baseline at the same FPR.

Only the evaluator reads labels; detection never imports it.
"""

from distillwatch.evaluate.baseline import VolumeBaseline, volume_baseline, volume_threshold
from distillwatch.evaluate.campaigns import CampaignFigures, campaign_figures
from distillwatch.evaluate.evaluation import Evaluation, evaluate_frames, evaluate_scan
from distillwatch.evaluate.load import NoOverlapError, join_scan_labels, load_labels
from distillwatch.evaluate.metrics import GroupRate, Rates, confusion, group_rates, roc_auc
from distillwatch.evaluate.targets import DEFAULT_FPR_TARGET, TargetCheck, check_targets

__all__ = [
    "DEFAULT_FPR_TARGET",
    "CampaignFigures",
    "Evaluation",
    "GroupRate",
    "NoOverlapError",
    "Rates",
    "TargetCheck",
    "VolumeBaseline",
    "campaign_figures",
    "check_targets",
    "confusion",
    "evaluate_frames",
    "evaluate_scan",
    "group_rates",
    "join_scan_labels",
    "load_labels",
    "roc_auc",
    "volume_baseline",
    "volume_threshold",
]
