"""Inter-device links (``data/links.yaml``): what a multi-card design's all-reduces and pipeline
hops travel over. Every figure carries its source, as the device records do."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import lru_cache

import yaml

from ..errors import CodesignError
from .database import DATA


@dataclass(frozen=True)
class Link:
    name: str
    description: str
    gbps: float            # line rate per port and direction
    efficiency: float      # payload fraction a long transfer sustains
    latency_us: float      # one hop
    pj_per_bit: float      # dynamic energy per payload bit
    port_w: float          # power of one active port (module), moving data or not
    ports: int             # ports per card; 0 = a star through the host (any card reaches any other)
    devices: tuple = ()    # boards that carry it
    sources: dict = field(default_factory=dict, compare=False)

    @property
    def bytes_per_s(self) -> float:
        """Sustained payload bandwidth of one port and direction."""
        return self.gbps * 1e9 / 8 * self.efficiency


_NUM = ("gbps", "efficiency", "latency_us", "pj_per_bit", "port_w")


def _check(rec, where: str) -> Link:
    if not isinstance(rec, dict):
        raise CodesignError("must be a mapping of field -> value", field=where)
    names = {f.name for f in fields(Link)}
    unknown = sorted(set(rec) - names)
    if unknown:
        raise CodesignError(f"unknown field(s) {unknown}; allowed: {sorted(names)}", field=f"{where}.{unknown[0]}")
    for k in ("name", "gbps", "efficiency", "latency_us", "ports"):
        if k not in rec:
            raise CodesignError("missing", field=f"{where}.{k}")
    for k in _NUM:
        v = rec.get(k, 0.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise CodesignError(f"must be a number >= 0, got {v!r}", field=f"{where}.{k}")
    if rec["gbps"] <= 0 or not 0 < rec["efficiency"] <= 1:
        raise CodesignError("gbps must be > 0 and efficiency in (0, 1]", field=f"{where}.gbps")
    if isinstance(rec["ports"], bool) or not isinstance(rec["ports"], int) or rec["ports"] < 0:
        raise CodesignError(f"must be an integer >= 0, got {rec['ports']!r}", field=f"{where}.ports")
    missing = [k for k in _NUM if k not in rec.get("sources", {})]
    if missing:
        raise CodesignError(f"every figure needs a source; missing for {missing}", field=f"{where}.sources")
    return Link(**{**rec, "devices": tuple(rec.get("devices", ())), "description": rec.get("description", "")})


@lru_cache(maxsize=None)
def _links() -> dict[str, Link]:
    data = yaml.safe_load((DATA / "links.yaml").read_text())
    return {k: _check(v, f"links.yaml:{k}") for k, v in data.items()}


def list_links() -> list[Link]:
    return list(_links().values())


def get_link(name: str) -> Link:
    db = _links()
    key = str(name).strip().lower()
    if key not in db:
        raise CodesignError(f"unknown link {name!r}; allowed: {', '.join(sorted(db))}", field="--link")
    return db[key]


def default_link(device) -> Link:
    """A direct card-to-card link if the board has one (no host in the path: microseconds less per
    hop), the fastest of those; else the host path. A one-line error naming --devices if none."""
    mine = [lk for lk in _links().values() if device.name in lk.devices]
    if not mine:
        raise CodesignError(f"no inter-card link is known for device '{device.name}'; allowed: a device of "
                            f"{sorted({d for lk in _links().values() for d in lk.devices})}", field="--devices")
    return max(mine, key=lambda lk: (lk.ports > 0, lk.bytes_per_s, lk.name))
