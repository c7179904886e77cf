"""The ``gdviz`` command.

With no sub-command it opens the window (optionally on a session file); each
sub-command runs headless. Sub-commands live in their own modules, listed in
:data:`SUBCOMMANDS`; each module provides ``add_parser(subparsers)`` and
``run(args) -> int``. Qt is imported only by the commands that draw.

Exit status: 0 on success, 2 for bad input (one clear line on stderr, no
traceback), 1 for an unexpected failure.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gdviz import __version__

#: Modules that each contribute one sub-command, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[str, ...] = ("gdviz.cli_trace", "gdviz.cli_export", "gdviz.cli_maps")


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gdviz",
        usage="gdviz [-h] [--version] [SESSION.gdviz.toml | COMMAND ...]",
        description=(
            "Watch gradient descent happen. With no command, open the window "
            "(on SESSION if a session file is given); each COMMAND runs headless."
        ),
    )
    parser.add_argument("--version", action="version", version=f"gdviz {__version__}")
    if SUBCOMMANDS:
        sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
        for name in SUBCOMMANDS:
            importlib.import_module(name).add_parser(sub)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        session = None
        if argv and not argv[0].startswith("-") and argv[0] not in _command_names(parser):
            # `gdviz FILE`: open a session file in the window.
            session, rest = argv[0], argv[1:]
            if rest:
                raise UsageError(f"gdviz: unexpected arguments after the session file: {rest}")
            argv = []
        args = parser.parse_args(argv)
        runner = getattr(args, "run", None)
        if runner is not None:
            return int(runner(args) or 0)
        from gdviz.app import run_app

        return run_app(session=session)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gdviz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
