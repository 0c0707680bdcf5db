"""Every account check, in the order their reasons are listed."""

from distillwatch.detect.checks.automation import AutomationCheck
from distillwatch.detect.checks.base import Account, AccountCheck
from distillwatch.detect.checks.capability_sweep import CapabilitySweepCheck
from distillwatch.detect.checks.cot_harvest import CotHarvestCheck
from distillwatch.detect.checks.grading_harvest import GradingHarvestCheck
from distillwatch.detect.checks.harvest_structure import HarvestStructureCheck
from distillwatch.detect.checks.instruction_frames import InstructionFrameCheck
from distillwatch.detect.checks.logprob_harvest import LogprobHarvestCheck
from distillwatch.detect.checks.model_pivot import ModelPivotCheck
from distillwatch.detect.checks.multilingual_sweep import MultilingualSweepCheck
from distillwatch.detect.checks.proxy_rotation import ProxyRotationCheck
from distillwatch.detect.checks.sensitive_rewrite import SensitiveRewriteCheck
from distillwatch.detect.checks.tool_trace import ToolTraceCheck

CHECKS: tuple[type[AccountCheck], ...] = (
    HarvestStructureCheck,
    CotHarvestCheck,
    GradingHarvestCheck,
    SensitiveRewriteCheck,
    LogprobHarvestCheck,
    CapabilitySweepCheck,
    InstructionFrameCheck,
    MultilingualSweepCheck,
    ToolTraceCheck,
    ProxyRotationCheck,
    ModelPivotCheck,
    AutomationCheck,
)

__all__ = ["CHECKS", "Account", "AccountCheck"]
