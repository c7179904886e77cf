"""Qt widgets and pyqtgraph items that draw what :mod:`gdviz.core` computes."""
