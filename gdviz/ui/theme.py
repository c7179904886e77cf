"""Themes are data: colours and sizes, applied in one place.

A :class:`Theme` holds every colour and size the views and widgets use; nothing
else in :mod:`gdviz.ui` hard-codes a colour. Presentation mode is just another
theme (larger ``font_scale``, thicker lines), so it needs no special code paths.
Run colours are not part of a theme: a run keeps its colour in every theme
(see :mod:`gdviz.core.colors`).
pyqtgraph reads its global configuration only when an item is created, so the
views restyle their existing items explicitly in their ``set_theme``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

__all__ = [
    "DARK",
    "LIGHT",
    "OKABE_ITO",
    "PROJECTOR",
    "THEMES",
    "Theme",
    "css_color",
    "get_theme",
    "stylesheet",
]

#: Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2008). The
#: basin map colours its minima with it; runs take
#: :data:`gdviz.core.colors.RUN_PALETTE`, which starts with the four of these
#: that read on both a dark and a white plot.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)


@dataclass(frozen=True)
class Theme:
    """Everything visual that is not data.

    Attributes
    ----------
    name
        ``"dark"`` or ``"light"`` (or a variant such as ``"projector"``).
    background, foreground
        Plot background and text/axis colour.
    panel, panel_text, accent, error
        Widget colours (side panels, highlights, error messages).
    colormap
        Name of a perceptually uniform pyqtgraph colour map for the heat-map.
    heatmap_opacity
        How strongly the heat-map is drawn (lower makes paths stand out).
    contour, field
        Colours (``#rrggbbaa`` allowed) of contour lines and gradient-field arrows.
    path_shadow
        Colour of the outline drawn under every path, so any run colour stays
        visible on any part of the colour map. Opaque is cheapest: Qt strokes
        wide opaque lines as segments, translucent ones as slower paths.
    font_size
        Base font size in points before scaling.
    font_scale
        Multiplies font sizes, line widths and markers (presentation mode: 1.5, 2).
    line_width, marker_size
        Path width and current-point size in pixels before scaling.
    """

    name: str
    background: str
    foreground: str
    panel: str
    panel_text: str
    accent: str
    error: str
    colormap: str
    heatmap_opacity: float
    contour: str
    field: str
    path_shadow: str
    font_size: float = 10.0
    font_scale: float = 1.0
    line_width: float = 2.5
    marker_size: float = 13.0

    @property
    def font_pt(self) -> float:
        """Scaled base font size in points."""
        return self.font_size * self.font_scale

    @property
    def line_px(self) -> float:
        return self.line_width * self.font_scale

    @property
    def marker_px(self) -> float:
        return self.marker_size * self.font_scale

    def scaled(self, font_scale: float) -> Theme:
        """The same theme with fonts and lines scaled (for projectors)."""
        if not 0.5 <= font_scale <= 4.0:
            raise ValueError(f"font scale must be 0.5…4, got {font_scale:g}")
        return replace(self, font_scale=font_scale)


DARK = Theme(
    name="dark",
    background="#15171c",
    foreground="#e6e6e6",
    panel="#202329",
    panel_text="#e6e6e6",
    accent="#56B4E9",
    error="#ff7a6b",
    colormap="viridis",
    heatmap_opacity=0.85,
    contour="#ffffff55",
    field="#ffffff70",
    path_shadow="#000000",
)

LIGHT = Theme(
    name="light",
    background="#ffffff",
    foreground="#1a1a1a",
    panel="#f3f3f3",
    panel_text="#1a1a1a",
    accent="#0072B2",
    error="#b00020",
    colormap="cividis",
    heatmap_opacity=0.40,
    contour="#00000060",
    field="#00000070",
    path_shadow="#ffffff",
)

#: Presentation mode: black on pure white for washed-out projectors, a paler
#: heat-map so the paths carry the picture, darker contours and thicker lines.
#: A white halo keeps each path apart from the contours under it. On white the
#: heat-map's opacity sets how dark its low end gets, where the paths end up:
#: at 0.35 (0.40 in the light theme) every run colour still differs from every
#: heat-map colour by 1.4:1 (1.23:1) in luminance, where 0.45 (0.55) left a
#: run the same lightness as the minimum; the contours keep 4.6:1 (2.3:1).
PROJECTOR = Theme(
    name="projector",
    background="#ffffff",
    foreground="#000000",
    panel="#ffffff",
    panel_text="#000000",
    accent="#0072B2",
    error="#b00020",
    colormap="cividis",
    heatmap_opacity=0.35,
    contour="#000000a0",
    field="#000000a0",
    path_shadow="#ffffffe0",
    line_width=3.0,
    marker_size=14.0,
)

THEMES: dict[str, Theme] = {t.name: t for t in (DARK, LIGHT, PROJECTOR)}


def get_theme(name: str, font_scale: float = 1.0) -> Theme:
    """A theme by name, optionally scaled.

    Raises
    ------
    KeyError
        For an unknown name (the message lists the known ones).
    """
    if name not in THEMES:
        raise KeyError(f"unknown theme {name!r}; themes are: {', '.join(THEMES)}")
    theme = THEMES[name]
    return theme if font_scale == 1.0 else theme.scaled(font_scale)


def css_color(color: str, alpha: float | None = None) -> str:
    """``#rrggbb`` / ``#rrggbbaa`` (CSS order) as ``rgba(...)`` for Qt style sheets.

    Qt reads 8-digit hex as ``#aarrggbb``, the opposite of CSS, so colours with
    alpha are always written as ``rgba()`` to mean what they say.
    """
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    a = int(c[6:8], 16) if len(c) == 8 else 255
    if alpha is not None:
        a = round(255 * alpha)
    return f"rgba({r}, {g}, {b}, {a})"


@lru_cache(maxsize=1)
def _check_mark() -> str:
    """Path of the check mark drawn in a ticked box ("" if it is not a file on disk)."""
    try:
        path = resources.files("gdviz.resources") / "icons" / "check.svg"
        return str(path).replace("\\", "/") if path.is_file() else ""
    except (ModuleNotFoundError, OSError):
        return ""


def stylesheet(theme: Theme) -> str:
    """The Qt style sheet for widgets in ``theme`` (applied once, to the window)."""
    pt = theme.font_pt
    fg = theme.foreground
    border = css_color(fg, 0.25)
    strong = css_color(fg, 0.35)
    hint = css_color(theme.panel_text, 0.7)
    # Tick boxes: an outline that reads on the panel (the platform's was
    # nearly invisible on the dark one), sized with the text; ticked, filled
    # with the accent and a black check mark.
    box = round(14 * theme.font_scale)
    line = max(1, round(1.5 * theme.font_scale))
    mark = css_color(theme.panel_text, 0.65)
    check = f' image: url("{_check_mark()}");' if _check_mark() else ""
    return f"""
    QWidget {{ background: {theme.panel}; color: {theme.panel_text}; font-size: {pt:.1f}pt; }}
    QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QListWidget, QTableWidget {{
        background: {theme.background}; border: 1px solid {border};
        border-radius: 3px; padding: 2px 4px;
    }}
    QLineEdit[invalid="true"] {{ border: 2px solid {theme.error}; }}
    QLabel[role="error"] {{ color: {theme.error}; }}
    QLabel[role="hint"] {{ color: {hint}; }}
    QLabel[role="math"] {{ font-family: "DejaVu Sans Mono", monospace; }}
    QCheckBox::indicator, QListView::indicator {{
        width: {box}px; height: {box}px; border: {line}px solid {mark};
        border-radius: 3px; background: {theme.background};
    }}
    QCheckBox::indicator:checked, QListView::indicator:checked {{
        background: {theme.accent}; border-color: {theme.accent};{check}
    }}
    QCheckBox::indicator:disabled {{ border-color: {css_color(theme.panel_text, 0.3)}; }}
    QFrame[banner="true"] {{ border: 2px solid {strong}; border-radius: 4px;
        padding: {round(4 * theme.font_scale)}px {round(10 * theme.font_scale)}px; }}
    QFrame[banner="true"][role="error"] {{ border-color: {theme.error}; }}
    QFrame[banner="true"][role="hint"] QLabel {{ color: {theme.panel_text}; }}
    QFrame[banner="true"] QLabel {{ border: none; padding: 0px; }}
    QPushButton, QToolButton {{
        background: {theme.background}; border: 1px solid {strong};
        border-radius: 3px; padding: 3px 8px;
    }}
    QPushButton:checked, QToolButton:checked {{ background: {theme.accent}; color: #000000; }}
    QPushButton:hover, QToolButton:hover {{ border-color: {theme.accent}; }}
    QGroupBox {{ border: 1px solid {border}; border-radius: 4px; }}
    QLabel[role="section"] {{ font-weight: bold; }}
    QWidget:disabled {{ color: {css_color(theme.panel_text, 0.4)}; }}
    QHeaderView::section {{ background: {theme.panel}; color: {theme.panel_text};
        border: none; padding: 2px; }}
    """
