"""codesign.model: the analytical latency / resource / power / energy / cost model of the LLM processor.

Contract: ``evaluate_batch``, ``VIOLATIONS``, ``evaluate_design``, ``instruction_cycles``
(docs/ARCHITECTURE.md: what each module of this folder owns).
"""

from .constants import LIFETIME_YEARS, USD_PER_KWH
from .cycles import instruction_cycles
from .evaluate import OUTPUT_KEYS, evaluate_batch
from .feasibility import VIOLATIONS, violation_names
from .report import design_params, evaluate_design

__all__ = ["LIFETIME_YEARS", "OUTPUT_KEYS", "USD_PER_KWH", "VIOLATIONS", "design_params", "evaluate_batch",
           "evaluate_design", "instruction_cycles", "violation_names"]
