import os

from hypothesis import settings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Numba compiles on first call and CI machines are shared: no per-example deadline.
settings.register_profile("pirho", deadline=None, max_examples=60, derandomize=True)
settings.load_profile("pirho")
