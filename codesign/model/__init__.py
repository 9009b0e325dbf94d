"""codesign.model: the analytical latency / resource / power / energy / cost model of the LLM processor.

Contract (common brief): ``evaluate_batch``, ``VIOLATIONS``, ``evaluate_design``, ``instruction_cycles``.
"""

from .constants import LIFETIME_YEARS, USD_PER_KWH
from .cycles import instruction_cycles
from .evaluate import OUTPUT_KEYS, VIOLATIONS, evaluate_batch, evaluate_design, violation_names

__all__ = ["LIFETIME_YEARS", "OUTPUT_KEYS", "USD_PER_KWH", "VIOLATIONS", "evaluate_batch", "evaluate_design",
           "instruction_cycles", "violation_names"]
