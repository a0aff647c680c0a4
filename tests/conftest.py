"""Shared test helpers: hypothesis profile, one torch thread, and where The Time Machine is."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Numba compiles on first call and CI machines are shared: no per-example deadline.
settings.register_profile("pirho", deadline=None, max_examples=60, derandomize=True)
settings.load_profile("pirho")

REPO = Path(__file__).resolve().parents[1]
TIME_MACHINE = "timemachine.txt"


def find_time_machine() -> Path | None:
    """The Time Machine for tests: ``$PIRHO_DATA_DIR``, else ``../shared/data`` beside the repo.

    The same two places as CI (``.ci/run`` sets ``PIRHO_DATA_DIR`` to the second), so ``make
    test`` and CI run the same tests.
    """
    folders = [os.environ.get("PIRHO_DATA_DIR"), REPO.parent / "shared" / "data"]
    for folder in folders:
        if folder and (Path(folder) / TIME_MACHINE).is_file():
            return Path(folder) / TIME_MACHINE
    return None


@pytest.fixture
def time_machine(monkeypatch) -> Path:
    """The path of The Time Machine, with ``$PIRHO_DATA_DIR`` pointing at its folder for the
    test (so the library finds it too); skips the test when there is no copy."""
    path = find_time_machine()
    if path is None:
        pytest.skip(
            "The Time Machine not found: set PIRHO_DATA_DIR to a folder with " + TIME_MACHINE
        )
    monkeypatch.setenv("PIRHO_DATA_DIR", str(path.parent))
    return path


@pytest.fixture
def one_torch_thread():
    """Run a test with torch on one thread (small models; the CI machine has 2 shared cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def random_hmm():
    """A factory: ``random_hmm(rng, n_states, n_symbols)`` is a CategoricalHMM whose start,
    transition rows and emission rows are Dirichlet(1) draws from ``rng``."""
    import numpy as np

    from pirho.hmm import CategoricalHMM

    def make(rng, n_states: int, n_symbols: int):
        return CategoricalHMM(
            rng.dirichlet(np.ones(n_states)),
            rng.dirichlet(np.ones(n_states), n_states),
            rng.dirichlet(np.ones(n_symbols), n_states),
        )

    return make


@pytest.fixture(scope="session")
def small_corpus_file(tmp_path_factory):
    """400 HKCanCor utterances as a word/TAG file (one document: split in 20 blocks); skips
    without pycantonese."""
    pytest.importorskip("pycantonese")
    from pirho.data.corpora import hkcancor

    sentences = hkcancor().sentences[:400]
    path = tmp_path_factory.mktemp("corpus") / "hk400.txt"
    lines = [" ".join(f"{w}/{t}" for w, t in zip(s.words, s.tags, strict=True)) for s in sentences]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
