"""The package's shape: entry points, version, and the Qt-free core."""

import subprocess
import sys

import gdviz
from gdviz import cli


def test_version_is_read_from_metadata():
    assert gdviz.__version__ != "0.0.0+unknown"
    assert gdviz.__version__.count(".") >= 2


def test_core_never_imports_qt():
    code = (
        "import pkgutil, importlib, sys, gdviz.core\n"
        "for m in pkgutil.walk_packages(gdviz.core.__path__, 'gdviz.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('PySide6', 'pyqtgraph', 'PyQt5', 'PyQt6', 'shiboken6'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_headless_commands_do_not_import_qt():
    code = (
        "import sys\n"
        "from gdviz import cli\n"
        "cli.build_parser()\n"
        "sys.exit(1 if 'PySide6' in sys.modules else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_version_flag():
    proc = subprocess.run(
        [sys.executable, "-m", "gdviz", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"gdviz {gdviz.__version__}"


def test_help_lists_subcommands():
    names = cli._command_names(cli.build_parser())
    assert {"trace", "export"} <= names
    proc = subprocess.run([sys.executable, "-m", "gdviz", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for name in names:
        assert name in proc.stdout


def test_bad_flag_is_one_line_and_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "gdviz", "--no-such-flag"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "unrecognized arguments" in proc.stderr
    assert "Traceback" not in proc.stderr
