"""Sky positions for the demo world's FAST requests: targets spread over FAST's
sky, with extra pressure on the Galactic plane, written in the two notations
applicants use (sexagesimal or decimal degrees)."""

from __future__ import annotations

import math
import random


def _sphere_dec(rng: random.Random, lo: float, hi: float) -> float:
    a, b = math.sin(math.radians(lo)), math.sin(math.radians(hi))
    return math.degrees(math.asin(rng.uniform(a, b)))


def _sexa(value: float) -> str:
    tenths = int(round(abs(value) * 36000))
    a, rem = divmod(tenths, 36000)
    m, s10 = divmod(rem, 600)
    return f"{a:02d}:{m:02d}:{s10 / 10:04.1f}"


def _sexa_ra(deg: float) -> str:
    return _sexa((deg / 15) % 24)


def _sexa_dec(deg: float) -> str:
    return ("+" if deg >= 0 else "-") + _sexa(deg)


def _target_name(area: str, ra: float, dec: float, rng: random.Random, i: int) -> str:
    h = ra / 15
    hh, mm = int(h), int((h % 1) * 60)
    sign = "+" if dec >= 0 else "-"
    dd, dm = int(abs(dec)), int((abs(dec) % 1) * 60)
    if area == "pulsars":
        return f"PSR J{hh:02d}{mm:02d}{sign}{dd:02d}{dm:02d}"
    if area == "frb":
        return f"FRB 20{rng.randint(18, 25)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{'ABC'[i % 3]}"
    if area == "hi":
        return rng.choice(["NGC", "UGC", "IC"]) + f" {rng.randint(100, 9999)}"
    return f"G{rng.uniform(10, 80):05.1f}{rng.choice('+-')}{rng.uniform(0, 1):.2f}"


def fast_targets(rng: random.Random, area: str, n: int, hours: float) -> list[dict[str, object]]:
    targets = []
    per = max(0.25, math.floor(hours / n * 4) / 4)
    for i in range(n):
        if area in ("pulsars", "ism") and rng.random() < 0.6:
            # the Galactic plane culminates around LST 18-20 h: the pressure there is high
            ra = rng.gauss(285, 15) % 360
            dec = max(-13.5, min(65.5, rng.gauss(5, 10)))
        else:
            ra = rng.uniform(0, 360)
            dec = _sphere_dec(rng, -13.5, 65.5)
        tgt: dict[str, object] = {
            "name": _target_name(area, ra, dec, rng, i),
            "hours": per,
        }
        if rng.random() < 0.5:
            tgt["ra_deg"] = _sexa_ra(ra)
            tgt["dec_deg"] = _sexa_dec(dec)
        else:
            tgt["ra_deg"] = round(ra, 4)
            tgt["dec_deg"] = round(dec, 4)
        targets.append(tgt)
    return targets
