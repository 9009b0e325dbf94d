"""The vendor part number of a design's device, for ``set_part`` in run_hls.tcl.

The device database (``codesign.devices``) is the one owner of part numbers, each with its source.
"""

from __future__ import annotations

from ...devices import get_device
from ...errors import CodesignError


def device_part(device: str) -> tuple[str, str]:
    """Return (part, where it came from) for a device name such as "u280"."""
    dev = get_device(device)          # unknown names: CodesignError listing the database's devices
    part = getattr(dev, "part", None)
    if not part:
        raise CodesignError(f"device {device!r} is not an FPGA (it has no part number); "
                            "emit-hls needs an FPGA device", field="device")
    return part, "codesign.devices"
