"""Render the scene offscreen, step by step, to PNG frames, GIF or MP4."""
