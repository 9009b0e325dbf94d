"""codesign.devices: FPGA boards and GPUs, every figure with its source."""

from .database import FpgaDevice, GpuDevice, get_device, list_devices, load_device_file
from .links import Link, default_link, get_link, list_links

__all__ = ["FpgaDevice", "GpuDevice", "Link", "default_link", "get_device", "get_link", "list_devices", "list_links",
           "load_device_file"]
