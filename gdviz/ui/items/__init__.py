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
