"""Render the scene offscreen, step by step, to PNG frames, GIF or MP4.

- :mod:`gdviz.export.plan` (no Qt): what to write and the checks on it —
  :class:`~gdviz.export.plan.ExportPlan`, :class:`~gdviz.export.plan.SceneInputs`,
  :func:`~gdviz.export.plan.frame_steps`, errors.
- :mod:`gdviz.export.writers` (no Qt): all-or-nothing frame sinks for a PNG
  sequence, GIF and MP4 (ffmpeg from imageio-ffmpeg), and a background writer.
- :mod:`gdviz.export.render` (Qt): the window's scene at a fixed size, drawn
  step by step — :func:`~gdviz.export.render.export_animation` for the command
  line and :class:`~gdviz.export.render.ExportJob` for the window.
- :mod:`gdviz.export.offscreen`: choose Qt's offscreen platform before Qt starts.
"""
