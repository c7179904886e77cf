"""Check the run palette: contrast on every theme's plot, distinctness with and without
colour-vision deficiencies, beside the Okabe–Ito palette the runs used before.

Prints, per colour, the WCAG contrast ratio against the dark plot (``#15171c``)
and the white one (light and projector themes), and for the whole palette the
smallest CIEDE2000 difference between two of its colours in normal vision and
as simulated for protanopia, deuteranopia and tritanopia (Machado, Oliveira &
Fernandes 2009, severity 1, applied in linear sRGB). The same figures for
Okabe–Ito's eight colours are printed for comparison.

Usage: ``python scripts/run_palette.py``
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from gdviz.core.colors import RUN_COLOR_NAMES, RUN_PALETTE, contrast_ratio
from gdviz.ui.theme import DARK, LIGHT, OKABE_ITO

#: Machado et al. (2009) simulation matrices at full severity (linear RGB).
CVD = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}
_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def _linear(color: str) -> np.ndarray:
    c = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(rgb: np.ndarray) -> tuple[float, float, float]:
    xyz = _XYZ @ np.clip(rgb, 0, 1) / (_XYZ @ np.ones(3))
    d = 6 / 29
    f = np.where(xyz > d**3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def ciede2000(lab1: tuple[float, ...], lab2: tuple[float, ...]) -> float:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005)."""
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    cbar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(cbar**7 / (cbar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1, c2 = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1 = math.degrees(math.atan2(b1, a1p)) % 360
    h2 = math.degrees(math.atan2(b2, a2p)) % 360
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 + 180) % 360 - 180
    d_big_h = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh / 2))
    lbar, cbarp = (L1 + L2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        hbar = h1 + h2
    elif abs(h1 - h2) <= 180:
        hbar = (h1 + h2) / 2
    else:
        hbar = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(hbar - 30))
        + 0.24 * math.cos(math.radians(2 * hbar))
        + 0.32 * math.cos(math.radians(3 * hbar + 6))
        - 0.20 * math.cos(math.radians(4 * hbar - 63))
    )
    rc = 2 * math.sqrt(cbarp**7 / (cbarp**7 + 25**7))
    rt = -math.sin(math.radians(60 * math.exp(-(((hbar - 275) / 25) ** 2)))) * rc
    sl = 1 + 0.015 * (lbar - 50) ** 2 / math.sqrt(20 + (lbar - 50) ** 2)
    sc, sh = 1 + 0.045 * cbarp, 1 + 0.015 * cbarp * t
    dl, dc, dh_ = (L2 - L1) / sl, (c2 - c1) / sc, d_big_h / sh
    return math.sqrt(dl * dl + dc * dc + dh_ * dh_ + rt * dc * dh_)


def closest_pair(palette: tuple[str, ...], vision: str) -> float:
    labs = [_lab(CVD[vision] @ _linear(c)) for c in palette]
    return min(ciede2000(a, b) for a, b in itertools.combinations(labs, 2))


def main() -> None:
    print(f"{'colour':8} {'name':15} {'on dark':>8} {'on white':>9}")
    for c in RUN_PALETTE:
        dark, white = contrast_ratio(c, DARK.background), contrast_ratio(c, LIGHT.background)
        print(f"{c:8} {RUN_COLOR_NAMES[c]:15} {dark:8.2f} {white:9.2f}")
    worst = min(
        min(contrast_ratio(c, DARK.background), contrast_ratio(c, LIGHT.background))
        for c in RUN_PALETTE
    )
    old = min(
        min(contrast_ratio(c, DARK.background), contrast_ratio(c, LIGHT.background))
        for c in OKABE_ITO
    )
    print(f"\nlowest contrast on either plot: run palette {worst:.2f}, Okabe–Ito {old:.2f}")
    print("\nsmallest CIEDE2000 difference between two colours")
    print(f"{'vision':14} {'12 runs':>8} {'first 8':>8} {'Okabe–Ito 8':>12}")
    for vision in CVD:
        all12 = closest_pair(RUN_PALETTE, vision)
        first8 = closest_pair(RUN_PALETTE[:8], vision)
        oi = closest_pair(OKABE_ITO, vision)
        print(f"{vision:14} {all12:8.1f} {first8:8.1f} {oi:12.1f}")


if __name__ == "__main__":
    main()
