"""The numerical core of gdviz: parsing, differentiation, optimizers, engine.

Pure NumPy + SymPy. Nothing under ``gdviz.core`` may import Qt (a test checks it),
so everything here can be scripted, tested and used from a notebook.
"""
