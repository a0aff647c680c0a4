import os

import pytest
from hypothesis import settings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Numba compiles on first call and CI machines are shared: no per-example deadline.
settings.register_profile("pirho", deadline=None, max_examples=60, derandomize=True)
settings.load_profile("pirho")


@pytest.fixture
def one_torch_thread():
    """Run a test with torch on one thread (small models; the CI machine has 2 shared cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
