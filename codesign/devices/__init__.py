"""codesign.devices: FPGA boards and GPUs, every figure with its source."""

from .database import FpgaDevice, GpuDevice, get_device, list_devices, load_device_file

__all__ = ["FpgaDevice", "GpuDevice", "get_device", "list_devices", "load_device_file"]
