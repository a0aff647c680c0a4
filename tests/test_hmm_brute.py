"""brute_force: an enumeration checked by hand-rolled loops, and its path budget."""

import itertools
import math

import numpy as np
import pytest

from pirho.hmm import CategoricalHMM, brute_force, casino
from pirho.hmm.brute import DEFAULT_MAX_PATHS


def literal_sum(m, x):
    """P(x) and per-path probabilities by explicit Python loops over itertools.product."""
    probs = {}
    for path in itertools.product(range(m.n_states), repeat=len(x)):
        p = m.start[path[0]] * m.emit[path[0], x[0]]
        for t in range(1, len(x)):
            p *= m.trans[path[t - 1], path[t]] * m.emit[path[t], x[t]]
        probs[path] = p
    return probs


def test_brute_force_equals_literal_sum_over_paths():
    m = CategoricalHMM([0.6, 0.3, 0.1], [[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [0.3, 0.0, 0.7]],
                       [[0.5, 0.5, 0.0], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])  # fmt: skip
    x = [0, 2, 1, 2, 2]
    probs = literal_sum(m, x)
    total = sum(probs.values())
    r = brute_force(m, x)
    assert r.n_paths == 3**5 and r.n_dp_operations == 5 * 9
    assert r.log_likelihood == pytest.approx(math.log(total), rel=1e-13)
    best = max(probs, key=probs.get)
    assert tuple(r.best_path) == best
    assert r.best_log_prob == pytest.approx(math.log(probs[best]), rel=1e-13)
    for t in range(5):
        for k in range(3):
            marginal = sum(p for path, p in probs.items() if path[t] == k) / total
            assert r.posterior[t, k] == pytest.approx(marginal, abs=1e-14)


def test_brute_force_of_impossible_sequence_is_minus_inf():
    m = CategoricalHMM([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]])
    r = brute_force(m, [0, 1])
    assert r.log_likelihood == -np.inf and r.best_log_prob == -np.inf


def test_brute_force_refuses_above_the_path_budget():
    m = casino()
    with pytest.raises(ValueError, match=r"2\^23 = 8388608 paths exceeds the budget"):
        brute_force(m, [0] * 23)
    assert DEFAULT_MAX_PATHS == 2**22
    with pytest.raises(ValueError, match="exceeds the budget max_paths = 100"):
        brute_force(m, [0] * 7, max_paths=100)
    assert brute_force(m, [0] * 7, max_paths=128).n_paths == 128


def test_brute_force_takes_one_sequence():
    with pytest.raises(ValueError, match="one sequence"):
        brute_force(casino(), [[0, 1], [2]])
    with pytest.raises(TypeError, match="CategoricalHMM"):
        brute_force("casino", [0])
