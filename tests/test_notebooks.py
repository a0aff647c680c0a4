"""The notebooks in notebooks/: stored without outputs, the same cells in both languages, and
each one executed from a clean kernel (marker ``notebooks``: ``make notebooks``, run by CI).
"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
NAMES = sorted({re.sub(r"-(en|zh)$", "", p.stem) for p in PATHS})


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_every_notebook_exists_in_english_and_chinese():
    assert NAMES == ["01-exact", "02-learned"]
    for name in NAMES:
        assert (NOTEBOOKS / f"{name}-en.ipynb").is_file()
        assert (NOTEBOOKS / f"{name}-zh.ipynb").is_file()


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_committed_notebooks_have_no_outputs_or_execution_counts(path):
    for number, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {number} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {number} was run"


@pytest.mark.parametrize("name", NAMES)
def test_both_languages_have_the_same_code_cells(name):
    en, zh = (_cells(NOTEBOOKS / f"{name}-{lang}.ipynb") for lang in ("en", "zh"))
    assert [c["cell_type"] for c in en] == [c["cell_type"] for c in zh]
    for english, chinese in zip(en, zh, strict=True):
        if english["cell_type"] == "code":
            # the one difference: the language the notebook prints and labels in
            assert "".join(chinese["source"]).replace('LANG = "zh"', 'LANG = "en"') == "".join(
                english["source"]
            )
        else:
            assert re.search(r"[\u4e00-\u9fff]", "".join(chinese["source"])), "untranslated"


def _requirements(path: Path) -> str | None:
    if path.stem.startswith("02-"):
        from pirho.experiments.common import time_machine_requirement

        return time_machine_requirement()
    return None


@pytest.mark.notebooks
@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_notebook_runs_from_a_clean_kernel(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    reason = _requirements(path)
    if reason:
        pytest.skip(reason)
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # explore.html, cloze.pt go here
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    images = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert images >= 3, f"{path.name}: {images} inline figures"
