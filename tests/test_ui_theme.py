"""The style sheet: tick boxes that read on every theme and text size."""

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QColor

from gdviz.ui.stats_table import contrast_ratio
from gdviz.ui.theme import THEMES, get_theme, stylesheet


def _blend(rgba: str, under: str) -> QColor:
    r, g, b, a = (int(v) for v in re.findall(r"\d+", rgba))
    u = QColor(under)
    t = a / 255
    return QColor(
        *(round(t * c + (1 - t) * d) for c, d in zip((r, g, b), u.getRgb()[:3], strict=True))
    )


@pytest.mark.parametrize("name", sorted(THEMES))
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_tick_boxes_are_outlined_and_sized_with_the_text(name, scale):
    theme = get_theme(name, scale)
    css = stylesheet(theme)
    rule = re.search(r"QCheckBox::indicator, QListView::indicator \{([^}]*)\}", css)
    assert rule, "no tick-box rule"
    body = rule.group(1)
    assert f"width: {round(14 * scale)}px" in body
    outline = re.search(r"solid (rgba\([^)]*\))", body).group(1)
    # WCAG 2.1 non-text contrast: the outline against the panel, at least 3:1
    # (the platform's own outline on the dark panel was about 1.3:1).
    assert contrast_ratio(_blend(outline, theme.panel), QColor(theme.panel)) >= 3.0
    checked = re.search(
        r"QCheckBox::indicator:checked, QListView::indicator:checked \{([^}]*)\}", css
    )
    mark = re.search(r'image: url\("([^"]+)"\)', checked.group(1))
    assert mark and Path(mark.group(1)).is_file()


def test_the_selected_runs_swatch_keeps_its_colour(qtbot):
    # Qt tints a selected icon with the selection colour: run 1's orange
    # swatch looked olive beside its orange line.
    from PySide6.QtGui import QIcon

    from gdviz.core.session import RunSpec
    from gdviz.ui.runs_panel import RunsPanel

    panel = RunsPanel(get_theme("dark"))
    qtbot.addWidget(panel)
    panel.set_runs((RunSpec("gd", {"lr": 0.1}), RunSpec("adam", {"lr": 0.05})))
    panel.list.setCurrentRow(0)
    item = panel.list.item(0)
    assert item.isSelected()
    want = QColor(panel.color_of(0)).name()
    for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected):
        image = item.icon().pixmap(14, 14, mode).toImage()
        assert image.pixelColor(7, 7).name() == want, mode


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(float(v)):02X}" for v in rgb)


def _heatmap_colours(theme) -> list[str]:
    """Every colour the heat-map shows: its colour map laid over the plot at its opacity."""
    import numpy as np
    import pyqtgraph as pg

    lut = pg.colormap.get(theme.colormap).getLookupTable(0.0, 1.0, 256)[:, :3].astype(float)
    bg = np.array(QColor(theme.background).getRgb()[:3], float)
    return [_hex(theme.heatmap_opacity * c + (1 - theme.heatmap_opacity) * bg) for c in lut]


@pytest.mark.parametrize(
    ("name", "runs", "contours"), [("projector", 1.35, 4.5), ("light", 1.2, 2.2)]
)
def test_paths_and_contours_stand_out_from_the_light_heat_map(name, runs, contours):
    # On white the low end of the heat-map, where the paths end up, must not
    # match a run's lightness (a washed-out projector loses the hue first).
    from gdviz.core.colors import RUN_PALETTE
    from gdviz.core.colors import contrast_ratio as ratio

    theme = THEMES[name]
    shades = _heatmap_colours(theme)
    assert min(ratio(c, s) for c in RUN_PALETTE for s in shades) >= runs
    alpha = int(theme.contour[7:9], 16) / 255
    for s in shades:
        line = _hex((1 - alpha) * v for v in QColor(s).getRgb()[:3])
        assert ratio(line, s) >= contours, (s, line)
