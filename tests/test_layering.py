"""The layers of DESIGN.md, checked on the source: every import points down (or sideways).

``cli → experiments → {tagging, lm, train, explore} → {nn, hmm, data, plots} → helpers``;
nothing imports ``cli``; ``hmm`` imports neither torch, ``nn`` nor ``data``. The check reads
every module's ``import`` statements (top level and inside functions: a lazy import is still a
dependency) with :mod:`ast`, so it fails on the first module that imports upwards.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import pirho

SOURCE = Path(pirho.__file__).parent

#: top-level part of pirho → layer (higher imports lower, never the reverse)
LAYERS = {
    "cli": 5,
    "__main__": 5,
    "experiments": 4,
    "tagging": 3,
    "lm": 3,
    "train": 3,
    "explore": 3,
    "nn": 2,
    "hmm": 2,
    "data": 2,
    "plots": 2,
    "precision": 1,
    "checkpoint": 1,
    "distributed": 1,
    "_checks": 0,
    "_atomic": 0,
    "_files": 0,
    "_numba": 0,
    "__init__": 0,
}
#: same-layer imports that are not allowed
FORBIDDEN = {"hmm": {"nn", "data"}}


def _part(module: str) -> str:
    """``pirho.hmm.kernels`` → ``hmm``; ``pirho`` → ``__init__``."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def _module_name(path: Path) -> str:
    relative = path.relative_to(SOURCE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every pirho or torch import in one file.

    Relative imports are resolved; ``from pirho import cli`` names ``pirho.cli``; a call such as
    ``importlib.import_module("pirho.cli.lm")`` with a literal name counts too.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            if module == "pirho":  # from pirho import cli, hmm
                found += [
                    (node.lineno, f"pirho.{alias.name}")
                    for alias in node.names
                    if not alias.name.startswith("__")  # __version__ is not a module
                ]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
        ):
            found.append((node.lineno, node.args[0].value))
    return [(line, module) for line, module in found if module.split(".")[0] in ("pirho", "torch")]


def _sources() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def test_every_part_has_a_layer():
    parts = {_part(_module_name(path)) for path in _sources()}
    assert parts <= set(LAYERS), f"parts without a layer: {sorted(parts - set(LAYERS))}"


def test_imports_point_down():
    upward = []
    for path in _sources():
        here = _part(_module_name(path))
        for line, module in _imports(path):
            if module.split(".")[0] != "pirho" or module == "pirho":
                continue
            there = _part(module)
            if there == here:
                continue
            if LAYERS[there] > LAYERS[here] or there in FORBIDDEN.get(here, ()):
                upward.append(f"{path.relative_to(SOURCE)}:{line} imports {module}")
            elif there == "cli" and here != "__main__":
                upward.append(f"{path.relative_to(SOURCE)}:{line} imports {module}")
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_hmm_source_never_imports_torch():
    offending = [
        f"{path.relative_to(SOURCE)}:{line}"
        for path in sorted((SOURCE / "hmm").rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] == "torch"
    ]
    assert not offending, offending


def test_importing_hmm_loads_neither_torch_nor_nn_nor_data():
    code = (
        "import sys, pirho.hmm, pirho.hmm.sklearn, pirho.hmm.dask\n"
        "import pirho.hmm.fitting, pirho.hmm.io\n"
        "bad = [m for m in ('torch', 'pirho.nn', 'pirho.data', 'pirho.cli') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from pirho.cli import main\n", ["pirho.cli"]),
        ("def f():\n    from ..nn import BiRNN\n", ["pirho.nn"]),
        ("import torch\n", ["torch"]),
        ("from pirho import cli, hmm\n", ["pirho", "pirho.cli", "pirho.hmm"]),
        ("import importlib\nimportlib.import_module('pirho.cli.lm')\n", ["pirho.cli.lm"]),
        ('"""Built by pirho.cli."""\nimport pirho.client_x\nimport numpy\n', ["pirho.client_x"]),
    ],
)
def test_the_import_reader_sees_lazy_and_relative_imports(tmp_path, monkeypatch, source, expected):
    package = tmp_path / "pirho" / "hmm"
    package.mkdir(parents=True)
    path = package / "example.py"
    path.write_text(source, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "SOURCE", tmp_path / "pirho")
    assert [module for _, module in _imports(path)] == expected
