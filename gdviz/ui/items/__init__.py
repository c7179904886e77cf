"""The graphics items the scene is composed of, one per module.

- :mod:`~gdviz.ui.items.drawing`: shared helpers (colours, pens, ticks, pixel sizes).
- :mod:`~gdviz.ui.items.fast_curve`: a curve whose bounding box is cheap to ask for.
- :mod:`~gdviz.ui.items.trail`: a polyline shown up to a step, finished chunks cached.
- :mod:`~gdviz.ui.items.surface_layer`: heat-map, contours, gradient field or
  1-D curve, refined progressively when the loss is expensive.
- :mod:`~gdviz.ui.items.colorbar`: the colour bar, its axis fitted to its labels.
- :mod:`~gdviz.ui.items.surface_view`: the surface plot and colour bar, shaped to
  their view window.
- :mod:`~gdviz.ui.items.run_markers`: each run's marker, trail and arrows, and the
  start marker.
- :mod:`~gdviz.ui.items.legend`: the run legend.
- :mod:`~gdviz.ui.items.series_plot`: one value per run against the step (loss,
  ‖∇f‖, learning rate).
- :mod:`~gdviz.ui.items.loss_column`: legend and series plots, stacked or in tabs
  so each stays readable.
"""

from __future__ import annotations

from typing import Any

__all__ = ["part"]


class part:
    """A read-only attribute that is an attribute of one of the owner's parts.

    ``image = part("layer.image", "The heat-map.")`` in a class body makes
    ``obj.image`` read ``obj.layer.image``: a composition keeps the names the
    rest of the app knows its items by.
    """

    def __init__(self, path: str, doc: str) -> None:
        self.path = path.split(".")
        self.__doc__ = doc

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        for name in self.path:
            obj = getattr(obj, name)
        return obj
