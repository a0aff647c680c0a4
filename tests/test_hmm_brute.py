"""brute_force: an enumeration checked by hand-rolled loops, and its path budget."""

import itertools
import math

import numpy as np
import pytest

from pirho.hmm import CategoricalHMM, brute_force, casino
from pirho.hmm.brute import DEFAULT_MAX_PATHS, within_path_budget


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
    with pytest.raises(ValueError, match=r"2\^23 ≈ 8,388,608 paths \(K = 2, T = 23\) exceeds"):
        brute_force(m, [0] * 23)
    assert DEFAULT_MAX_PATHS == 2**22
    with pytest.raises(ValueError, match="exceeds the budget max_paths = 100;"):
        brute_force(m, [0] * 7, max_paths=100)
    assert brute_force(m, [0] * 7, max_paths=128).n_paths == 128


def test_brute_force_states_a_huge_path_count_as_a_power():
    # 2^(10^6) has 301,030 digits: the message gives K^T, T and the order of magnitude.
    with pytest.raises(
        ValueError, match=r"2\^1000000 ≈ 10\^301030\.0 paths \(K = 2, T = 1000000\)"
    ):
        brute_force(casino(), np.zeros(10**6, dtype=np.int64))
    assert within_path_budget(2, 22) and not within_path_budget(2, 23)
    assert within_path_budget(1, 10**9) and not within_path_budget(3, 10**9, max_paths=10**6)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (0, ValueError), (2.5, TypeError)])
def test_brute_force_checks_max_paths(bad, error):
    with pytest.raises(error, match=f"max_paths must be .*got {bad}"):
        brute_force(casino(), [0, 1], max_paths=bad)


def test_brute_force_takes_one_sequence():
    with pytest.raises(ValueError, match="one sequence"):
        brute_force(casino(), [[0, 1], [2]])
    with pytest.raises(TypeError, match="CategoricalHMM"):
        brute_force("casino", [0])
