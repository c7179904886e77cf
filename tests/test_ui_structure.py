"""The window's code keeps its shape: a small scene, no private names across objects.

Checked on the source (AST); only the check of subclasses imports pyqtgraph.
"""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "gdviz"
#: The trees checked for private names read across objects.
CHECKED = ("ui", "export")
#: The one module allowed to read pyqtgraph's private names (tested in test_pg_compat).
COMPAT = "ui/pg_compat.py"
#: Modules allowed to read other objects' private names: none. Keep it so.
NOT_YET_CHECKED: set[str] = set()
#: The scene wires its items together; drawing belongs in gdviz/ui/items.
SCENE_MAX_LINES = 500


def checked_modules():
    for tree in CHECKED:
        for path in sorted((ROOT / tree).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in NOT_YET_CHECKED and rel != COMPAT:
                yield rel


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def foreign_private_names(source: str) -> list[str]:
    """``obj._name`` where ``obj`` is not ``self``/``cls``, and ``self._name`` that the
    module never assigns or defines (a private name inherited from a library class).
    """
    tree = ast.parse(source)
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            own.add(node.name)
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute):
                    own.add(sub.attr)
                elif isinstance(sub, ast.Name):
                    own.add(sub.id)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        value = node.value
        on_self = isinstance(value, ast.Name) and value.id in ("self", "cls")
        if not on_self or node.attr not in own:
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_check_finds_private_names_across_objects():
    # It must be able to fail: each of these reads a private name it does not own.
    assert foreign_private_names("def f(w):\n    return w._pending\n")
    assert foreign_private_names("class A:\n    def f(self):\n        return self.window._x\n")
    assert foreign_private_names(
        "class C(pg.PlotCurveItem):\n    def f(self):\n        return self._boundingRect\n"
    )
    # … and must pass code that only uses its own.
    own = "class A:\n    def __init__(self):\n        self._x = 1\n    def f(self):\n"
    assert not foreign_private_names(own + "        return self._x + self.__class__.__name__\n")


@pytest.mark.parametrize("module", list(checked_modules()))
def test_no_private_names_across_objects(module):
    found = foreign_private_names((ROOT / module).read_text(encoding="utf-8"))
    assert not found, f"{module} reads private names it does not own: {found}"


def test_the_exempt_modules_exist():
    # A renamed or removed module must leave the list, or the list hides nothing.
    for rel in (*NOT_YET_CHECKED, COMPAT):
        assert (ROOT / rel).is_file(), rel


def test_the_scene_is_a_composition_under_500_lines():
    lines = (ROOT / "ui" / "scene.py").read_text(encoding="utf-8").count("\n")
    assert lines < SCENE_MAX_LINES, f"scene.py has {lines} lines"


#: How the checked modules name pyqtgraph's packages.
PG_ALIASES = {"pg": "pyqtgraph", "gl": "pyqtgraph.opengl"}


def pyqtgraph_privates_through_self(source: str) -> list[str]:
    """``self._name`` in a subclass of a pyqtgraph class where pyqtgraph itself uses ``_name``.

    A subclass that reads or sets its base's private cache (``self._boundingRect``)
    depends on pyqtgraph's internals as much as ``obj._name`` does.
    """
    found = []
    for cls in ast.walk(ast.parse(source)):
        if not isinstance(cls, ast.ClassDef):
            continue
        pg_text = ""
        for base in cls.bases:
            parts = ast.unparse(base).split(".")
            if len(parts) == 2 and parts[0] in PG_ALIASES:
                base_cls = getattr(importlib.import_module(PG_ALIASES[parts[0]]), parts[1])
                for k in base_cls.__mro__:
                    if k.__module__.startswith("pyqtgraph"):
                        pg_text += inspect.getsource(k)
        if not pg_text:
            continue
        for node in ast.walk(cls):
            if (
                isinstance(node, ast.Attribute)
                and _is_private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and re.search(rf"\bself\.{node.attr}\b", pg_text)
            ):
                found.append(f"line {node.lineno}: {cls.name}: self.{node.attr}")
    return found


def test_the_subclass_check_finds_pyqtgraph_privates():
    bounds = "class C(pg.PlotCurveItem):\n    def f(self):\n        return self._boundingRect\n"
    assert pyqtgraph_privates_through_self(bounds)
    mine = "class C(pg.PlotCurveItem):\n    def f(self):\n        return self._my_bounds\n"
    assert not pyqtgraph_privates_through_self(mine)


@pytest.mark.parametrize("module", list(checked_modules()))
def test_no_pyqtgraph_private_names_in_subclasses(module):
    found = pyqtgraph_privates_through_self((ROOT / module).read_text(encoding="utf-8"))
    assert not found, f"{module} uses pyqtgraph's private names: {found}"
