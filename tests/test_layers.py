"""The layering of DESIGN.md: ``cli → experiments → {tagging, lm, train} → {nn, hmm, data,
plots} → _checks``; nothing imports ``cli``; ``hmm`` imports neither torch, ``nn`` nor ``data``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import pirho

SRC = Path(pirho.__file__).resolve().parent

# an import statement (top level or inside a function) naming one of the modules
IMPORT = r"^\s*(?:from\s+{0}(?:\.|\s)|import\s+{0}\b|from\s+pirho\s+import\s+[^\n]*\b{1}\b)"


def _importers(modules: list[Path], dotted: str, root: Path = SRC) -> list[str]:
    """The modules (paths relative to ``root``) with an import statement naming ``dotted``."""
    pattern = re.compile(IMPORT.format(re.escape(dotted), dotted.rsplit(".", 1)[-1]), re.M)
    return [str(p.relative_to(root)) for p in modules if pattern.search(p.read_text("utf-8"))]


def test_importing_pirho_hmm_loads_neither_torch_nor_nn_nor_data():
    # every public entry point of the package, in a fresh interpreter
    code = (
        "import sys\n"
        "import pirho.hmm, pirho.hmm.sklearn, pirho.hmm.dask, pirho.hmm.fitting, pirho.hmm.io\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'\n"
        "             or m.startswith(('pirho.nn', 'pirho.data'))))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize("dotted", ["torch", "pirho.nn", "pirho.data"])
def test_no_module_of_pirho_hmm_imports_a_layer_it_must_not(dotted):
    # also the imports inside functions, which the fresh interpreter above does not run
    assert _importers(sorted((SRC / "hmm").rglob("*.py")), dotted) == []


def test_the_layer_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from pirho.data.text import UNK\n    return UNK\n")
    assert _importers([module], "pirho.data", tmp_path) == ["m.py"]
    assert _importers([module], "pirho.nn", tmp_path) == []
    module.write_text("from pirho import cli, hmm\n")
    assert _importers([module], "pirho.cli", tmp_path) == ["m.py"]


@pytest.mark.xfail(
    strict=False,
    reason="the experiments still import pirho.cli._options for their argparse types; "
    "issue 18 §3 moves the options into data and the checkers into pirho._checks "
    "(the experiment-options work, engineer C)",
)
def test_no_module_below_the_cli_imports_it():
    modules = [
        p
        for p in sorted(SRC.rglob("*.py"))
        if "cli" not in p.relative_to(SRC).parts[:1] and p.name != "__main__.py"
    ]
    assert _importers(modules, "pirho.cli") == []
