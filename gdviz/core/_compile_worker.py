"""The compile worker process behind ``compile_loss(..., timeout=...)``.

It is started by :mod:`gdviz.core.loss` as ``python -c``. Each request is
``(kind, args)``: ``("loss", (text, variables))`` compiles a plain loss with
:func:`gdviz.core.loss._compile_blob`, ``("dataset", (text, dataset_name,
column_names, parameters))`` a per-sample loss with
:func:`gdviz.core.dataset_loss._compile_blob` (only names travel, never the
data). The reply is ``("ok", blob)`` with the blob's expressions pickled
separately, or ``("error", ExpressionError)``. The parent kills the worker when
a request overruns; memory is capped so a bomb fails here rather than swapping
the machine.
"""

from __future__ import annotations

import pickle
import sys

#: Address-space cap for the worker (bytes): far above any sane compile.
MEMORY_LIMIT = 4 * 1024**3


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
        if soft == resource.RLIM_INFINITY or soft > cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):  # pragma: no cover - some sandboxes forbid it
        pass


class _Channel:
    """Length-prefixed pickles over binary streams."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    def recv(self):
        head = self.reader.read(8)
        if len(head) < 8:
            raise EOFError
        return pickle.loads(self.reader.read(int.from_bytes(head, "little")))

    def send(self, message) -> None:
        data = pickle.dumps(message)
        self.writer.write(len(data).to_bytes(8, "little") + data)
        self.writer.flush()


def main() -> None:
    """Entry point of the worker process: protocol on stdin/stdout."""
    reader, writer = sys.stdin.buffer, sys.stdout.buffer
    # Anything printed by accident must not corrupt the protocol stream.
    sys.stdout = sys.stderr
    serve(_Channel(reader, writer))


def serve(conn) -> None:
    """Answer ``(kind, args)`` requests on ``conn`` until ``None`` or EOF."""
    _limit_memory()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    from gdviz.core import dataset_loss, loss
    from gdviz.core.expression import ExpressionError

    # Both compile steps are imported before "ready", so that no request pays
    # for an import against its time limit.
    compilers = {"loss": loss._compile_blob, "dataset": dataset_loss._compile_blob}
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            kind, args = request
            blob = compilers[kind](*args)
            blob["exprs"] = pickle.dumps(blob["exprs"])
            reply = ("ok", blob)
        except ExpressionError as exc:
            reply = ("error", exc)
        except RecursionError:
            reply = ("error", ExpressionError("the expression is nested too deeply to compile"))
        except MemoryError:
            reply = (
                "error",
                ExpressionError("compiling this expression needs too much memory"),
            )
        except Exception as exc:  # the parent must always get an answer
            reply = (
                "error",
                ExpressionError(f"gdviz could not compile this expression ({type(exc).__name__})"),
            )
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
