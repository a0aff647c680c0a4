"""pirho.lm as one package: its names, what importing it costs, and where it sits in the layers."""

import ast
import importlib
import pathlib
import subprocess
import sys

import pytest

import pirho.lm

LM_DIR = pathlib.Path(pirho.lm.__file__).parent


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip()


@pytest.mark.parametrize("name", pirho.lm.__all__)
def test_every_exported_name_is_its_submodules_object(name):
    value = getattr(pirho.lm, name)
    homes = [
        module
        for module in ("defaults", "text", "build", "training", "resume", "metrics")
        if name in importlib.import_module(f"pirho.lm.{module}").__all__
    ]
    assert len(homes) == 1, f"{name} is defined in {homes}"
    assert value is getattr(importlib.import_module(f"pirho.lm.{homes[0]}"), name)


def test_an_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no_such_name"):
        pirho.lm.no_such_name  # noqa: B018


def test_importing_the_package_and_its_defaults_does_not_import_torch():
    code = (
        "import sys, pirho.lm, pirho.lm.defaults, pirho.lm.text\n"
        "pirho.lm.load_lm_text, pirho.lm.RNNLM_DEFAULTS\n"
        "print('torch' in sys.modules)"
    )
    assert _run(code) == "False"


def test_the_models_read_the_defaults_without_an_import_cycle():
    # pirho.nn.models imports pirho.lm.defaults; pirho.lm.build imports pirho.nn.models
    code = (
        "import pirho.nn.models, pirho.lm\n"
        "print(pirho.lm.build_language_model.__module__, pirho.nn.models.RNNLM.__name__)"
    )
    assert _run(code) == "pirho.lm.build RNNLM"


def _pirho_imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return {name for name in found if name.startswith("pirho.")}


@pytest.mark.parametrize("path", sorted(LM_DIR.glob("*.py")), ids=lambda p: p.name)
def test_lm_imports_neither_experiments_nor_cli(path):
    upward = {name for name in _pirho_imports(path) if name.split(".")[1] in {"experiments", "cli"}}
    assert not upward, f"{path.name} imports {sorted(upward)}"


def test_the_models_defaults_are_the_recipes():
    """nn.models cannot import lm (a layer above): the two copies of the numbers agree."""
    from pirho.lm.defaults import CLOZE_DEFAULTS, RNNLM_DEFAULTS
    from pirho.nn import models

    assert models.DEFAULT_HIDDEN_SIZE == RNNLM_DEFAULTS["hidden_size"]
    assert models.DEFAULT_NUM_LAYERS == RNNLM_DEFAULTS["num_layers"]
    assert models.DEFAULT_CELL == RNNLM_DEFAULTS["cell"]
    assert models.DEFAULT_CLOZE_EMBEDDING_DIM == CLOZE_DEFAULTS["embedding_dim"]
