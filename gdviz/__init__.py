"""gdviz: watch gradient descent happen.

Type a loss, race optimizers across its surface, watch the loss curve live.
The numerical core (:mod:`gdviz.core`) is pure NumPy + SymPy and never imports Qt.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gdviz")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
