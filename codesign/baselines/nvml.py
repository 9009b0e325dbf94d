"""A minimal NVML binding over ctypes (no pynvml dependency) and a power-sampling thread.

Only what the benchmark records: GPU name, driver, clocks, power limit, power, and the
total-energy counter (millijoules, Volta and newer). ``Nvml.open()`` returns None when
libnvidia-ml is not present, so callers fall back cleanly.
"""

from __future__ import annotations

import ctypes
import threading
import time
from typing import Callable

NVML_SUCCESS = 0
NVML_CLOCK_GRAPHICS, NVML_CLOCK_SM, NVML_CLOCK_MEM = 0, 1, 2   # nvmlClockType_t (nvml.h)


class Nvml:
    def __init__(self, lib, handle):
        self._lib, self._h = lib, handle

    @classmethod
    def open(cls, index: int = 0) -> "Nvml | None":
        for name in ("libnvidia-ml.so.1", "libnvidia-ml.so", "nvml.dll"):
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        else:
            return None
        if lib.nvmlInit_v2() != NVML_SUCCESS:
            return None
        h = ctypes.c_void_p()
        if lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(h)) != NVML_SUCCESS:
            return None
        return cls(lib, h)

    def _uint(self, fn: str, *args) -> int | None:
        v = ctypes.c_uint()
        return v.value if getattr(self._lib, fn)(self._h, *args, ctypes.byref(v)) == NVML_SUCCESS else None

    def name(self) -> str:
        buf = ctypes.create_string_buffer(96)
        self._lib.nvmlDeviceGetName(self._h, buf, ctypes.c_uint(96))
        return buf.value.decode(errors="replace")

    def driver(self) -> str:
        buf = ctypes.create_string_buffer(96)
        self._lib.nvmlSystemGetDriverVersion(buf, ctypes.c_uint(96))
        return buf.value.decode(errors="replace")

    def energy_mj(self) -> int | None:
        v = ctypes.c_ulonglong()
        ok = self._lib.nvmlDeviceGetTotalEnergyConsumption(self._h, ctypes.byref(v)) == NVML_SUCCESS
        return v.value if ok else None

    def power_w(self) -> float | None:
        mw = self._uint("nvmlDeviceGetPowerUsage")
        return None if mw is None else mw / 1000.0

    def clocks(self) -> dict:
        out = {}
        for label, ctype in (("sm", NVML_CLOCK_SM), ("mem", NVML_CLOCK_MEM), ("graphics", NVML_CLOCK_GRAPHICS)):
            out[f"{label}_mhz"] = self._uint("nvmlDeviceGetClockInfo", ctypes.c_int(ctype))
            out[f"{label}_max_mhz"] = self._uint("nvmlDeviceGetMaxClockInfo", ctypes.c_int(ctype))
        return out

    def power_limit_w(self) -> float | None:
        mw = self._uint("nvmlDeviceGetEnforcedPowerLimit")
        return None if mw is None else mw / 1000.0

    def close(self) -> None:
        self._lib.nvmlShutdown()


class PowerSampler:
    """Samples ``read_power()`` (watts) every ``interval_s`` on a thread: the fallback when the
    energy counter is missing. Use as a context manager; ``times``/``watts`` hold the samples."""

    def __init__(self, read_power: Callable[[], float | None], interval_s: float = 0.01,
                 clock: Callable[[], float] = time.perf_counter):
        self._read, self._dt, self._clock = read_power, interval_s, clock
        self.times: list[float] = []
        self.watts: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        p = self._read()
        if p is not None:
            self.times.append(self._clock())
            self.watts.append(float(p))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._dt)
        self._sample()   # one sample after the window, so that it lies inside the samples

    def __enter__(self) -> "PowerSampler":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
