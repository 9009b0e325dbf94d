"""The vendor part number of a design's device, for ``set_part`` in run_hls.tcl.

The device database (``codesign.devices``, the model helper's) is the owner of part numbers.
Until it is importable, the export flow's board table (``codesign.export.boards``, each entry
sourced from the vendor's board documentation) gives the same part for the same name.
"""

from __future__ import annotations

from ...errors import CodesignError


def device_part(device: str) -> tuple[str, str]:
    """Return (part, where it came from) for a device name such as "u280"."""
    try:
        from ...devices import get_device  # the device database, when it has landed
    except ImportError:
        get_device = None
    if get_device is not None:
        try:
            dev = get_device(device)
        except CodesignError:
            dev = None
        part = getattr(dev, "part", None)
        if part:
            return part, "codesign.devices"
        if dev is not None:
            raise CodesignError(f"device {device!r} is not an FPGA (it has no part number); "
                                "emit-hls needs an FPGA device", field="device")
    from ...export.boards import BOARDS
    board = BOARDS.get(device.strip().lower())
    if board is None:
        raise CodesignError(f"unknown FPGA device {device!r}; allowed: {', '.join(sorted(BOARDS))}",
                            field="device")
    return board.part, f"codesign.export.boards ({board.source})"
