"""pirho: two-way sequence inference.

Three parts, named after the two messages of the forward-backward algorithm,
π (forward, a summary of the past) and ρ (backward, a summary of the future):

- ``pirho.hmm``: exact HMM inference by dynamic programming (numpy + numba; no torch).
- ``pirho.nn``: bidirectional recurrent layers and the models built on them (torch).
- ``pirho.experiments``: the claims about these models, measured.
"""

__version__ = "0.1.0"
