"""Ready-made models. The dishonest casino's parameters live here and nowhere else."""

from __future__ import annotations

import numpy as np

from pirho.hmm.families.categorical import CategoricalHMM

__all__ = ["casino"]

FAIR, LOADED = 0, 1


def casino() -> CategoricalHMM:
    """The dishonest casino of Durbin, Eddy, Krogh & Mitchison (1998), a 2-state, 6-symbol HMM.

    States: 0 = fair die, 1 = loaded die. Symbols 0..5 are the faces 1..6. The fair die
    shows each face with probability 1/6; the loaded die shows faces 1–5 with probability 1/10
    each and a six with probability 1/2. The casino switches fair → loaded with probability
    0.05 and loaded → fair with 0.10 per roll, and starts in either with probability 1/2.

    >>> m = casino()
    >>> m.n_states, m.n_symbols, float(m.emit[1, 5])
    (2, 6, 0.5)
    """
    start = np.array([0.5, 0.5])
    trans = np.array([[0.95, 0.05], [0.10, 0.90]])
    emit = np.array([[1 / 6] * 6, [0.1, 0.1, 0.1, 0.1, 0.1, 0.5]])
    return CategoricalHMM(start, trans, emit)
