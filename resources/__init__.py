"""Data files shipped with gdviz (presets, lessons, icons), importable as gdviz.resources."""
