"""Every bad input at the pirho.hmm boundary gives a clear ValueError / TypeError."""

import re

import numpy as np
import pytest

from pirho.hmm import CategoricalHMM, baum_welch, casino
from pirho.hmm import kernels as K

GOOD = dict(start=[0.5, 0.5], trans=[[0.9, 0.1], [0.2, 0.8]], emit=[[0.5, 0.5], [0.1, 0.9]])


def make(**changes):
    return CategoricalHMM(**{**GOOD, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": [1.5, -0.5]}, r"start has an invalid probability -0.5 at index 1"),
        ({"trans": [[0.9, 0.1], [np.nan, 0.8]]}, r"trans row 1 has an invalid probability nan"),
        ({"emit": [[0.5, 0.5], [np.inf, 0.9]]}, r"emit row 1 has an invalid probability inf"),
        ({"trans": [[0.9, 0.1], [0.3, 0.8]]}, r"trans row 1 sums to 1.1, expected 1"),
        ({"start": [0.5, 0.6]}, r"start sums to 1.1, expected 1"),
        ({"emit": [[0.5, 0.5], [0.1, 0.8]]}, r"emit row 1 sums to 0.9"),
        ({"start": [[0.5, 0.5]]}, r"start must have shape \(K,\)"),
        ({"trans": [0.5, 0.5]}, r"trans must have shape \(K, K\)"),
        ({"emit": [1.0]}, r"emit must have shape \(K, M\)"),
        ({"trans": [[1.0]]}, r"trans must have shape \(K, K\) = \(2, 2\) to match start"),
        ({"emit": [[0.5, 0.5]] * 3}, r"emit must have shape \(K, M\) with K = 2 rows"),
        ({"start": ["a", "b"]}, r"start must be a numeric array"),
    ],
)
def test_invalid_parameters_name_the_problem(changes, message):
    with pytest.raises(ValueError, match=message):
        make(**changes)


def test_rows_within_tolerance_are_accepted():
    make(trans=[[0.9 + 5e-7, 0.1], [0.2, 0.8]])


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        ([0, 2, 1], ValueError, r"symbol 2 at position 1 is outside \[0, 2\)"),
        ([0, -2], ValueError, r"symbol -2 at position 1 is outside \[0, 2\) \(or -1 = missing\)"),
        ([0, 1.5], ValueError, r"symbol 1.5 at position 1 is not an integer"),
        (np.array([0.0, 1.0]), ValueError, r"symbol 0.0 at position 0 is not an integer"),
        ([0, "1"], ValueError, r"is not an integer"),
        ([True, False], ValueError, r"symbol True at position 0 is not an integer"),
        ([], ValueError, r"x is empty"),
        (np.array([], dtype=int), ValueError, r"sequence is empty"),
        ([[0, 1], []], ValueError, r"sequence 1: sequence is empty"),
        ([[0, 1], [1, 5]], ValueError, r"sequence 1: symbol 5 at position 1 is outside"),
        (np.zeros((2, 2, 2), dtype=int), ValueError, r"got shape \(2, 2, 2\)"),
        ("0101", TypeError, r"not a string"),
        (7, TypeError, r"got int"),
        ([[0, 1], 3], TypeError, r"sequence 1 is a int"),
    ],
)
def test_bad_sequences_name_position_and_value(x, error, message):
    m = make()
    for method in (m.log_likelihood, m.posterior, m.viterbi, m.forward, m.filter):
        with pytest.raises(error, match=message):
            method(x)


def test_empty_batch_is_rejected():
    with pytest.raises(ValueError, match="empty batch"):
        make().posterior(np.zeros((0, 3), dtype=int))
    with pytest.raises(ValueError, match="empty"):
        K.posterior(np.zeros(2), np.zeros((2, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="sequence 1 is empty"):
        K.posterior(np.zeros(2), np.zeros((2, 2)), np.zeros((3, 2)), offsets=[0, 3, 3])


def test_impossible_sequence_has_minus_inf_likelihood_and_decoders_refuse():
    m = CategoricalHMM([1.0, 0.0], [[0.5, 0.5], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]])
    x = [1, 0]  # state 0 emits only 0, state 1 only 1; start in 0 → x_1 = 1 is impossible
    assert m.log_likelihood(x) == -np.inf
    assert np.isneginf(m.forward(x)).all()
    for method in (m.posterior, m.viterbi, m.filter, lambda s: m.posterior(s, lag=0)):
        with pytest.raises(ValueError, match="sequence has probability 0"):
            method(x)
    with pytest.raises(ValueError, match="sequence 1 has probability 0"):
        m.posterior([[0, 1], x])
    lls = m.log_likelihood([[0, 1], x])
    assert np.isfinite(lls[0]) and lls[1] == -np.inf


def test_bad_lag_and_sample_arguments():
    m = casino()
    with pytest.raises(ValueError, match="lag must be >= 0, got -1"):
        m.posterior([0, 1], lag=-1)
    for lag in (1.5, True):
        with pytest.raises(TypeError, match=f"lag must be an integer, got {lag!r}"):
            m.posterior([0, 1], lag=lag)
    for n in (0, -3):
        with pytest.raises(ValueError, match=f"n_steps must be >= 1, got {n}"):
            m.sample(n)
    with pytest.raises(TypeError, match="n_steps must be an integer, got 2.0"):
        m.sample(2.0)
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        m.sample(3, seed=-1)


def test_malformed_model_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        CategoricalHMM.load(bad)
    bad.write_text('{"start": [0.5, 0.5], "trans": [[1, 0], [0, 1]]}')
    with pytest.raises(ValueError, match="missing 'emit'"):
        CategoricalHMM.load(bad)
    bad.write_text('{"start": [0.5, 0.5], "trans": [[1, 0], [0, 1]], "emit": [[2, -1], [0, 1]]}')
    with pytest.raises(ValueError, match="emit row 0 has an invalid probability -1"):
        CategoricalHMM.load(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="must be an object"):
        CategoricalHMM.load(bad)
    bad.write_text('{"format": "other", "start": [1], "trans": [[1]], "emit": [[1]]}')
    with pytest.raises(ValueError, match="format 'other'"):
        CategoricalHMM.load(bad)
    with pytest.raises(FileNotFoundError):
        CategoricalHMM.load(tmp_path / "missing.json")


def test_kernel_wrappers_check_shapes_and_values():
    ls, lt = np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"log_trans must have shape \(2, 2\)"):
        K.forward(ls, np.zeros((3, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"log_lik must have shape \(T, 2\)"):
        K.forward(ls, lt, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="log_lik contains NaN"):
        K.log_likelihood(ls, lt, np.full((4, 2), np.nan))
    with pytest.raises(ValueError, match="offsets must start at 0 and end at len"):
        K.posterior(ls, lt, np.zeros((4, 2)), offsets=[0, 2, 5])
    with pytest.raises(ValueError, match="lag must be >= 0, got -2"):
        K.fixed_lag_posterior(ls, lt, np.zeros((4, 2)), lag=-2)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"n_states": 0}, ValueError, "n_states must be >= 1, got 0"),
        ({"n_states": 2.0}, TypeError, "n_states must be an integer, got 2.0"),
        ({"n_restarts": 0}, ValueError, "n_restarts must be >= 1, got 0"),
        ({"n_iter": -1}, ValueError, "n_iter must be >= 0, got -1"),
        ({"n_symbols": 0}, ValueError, "n_symbols must be >= 1, got 0"),
        ({"pseudocount": -0.5}, ValueError, "pseudocount must be >= 0.0, got -0.5"),
        ({"tol": float("nan")}, ValueError, "tol must be a finite number, got nan"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
    ],
)  # fmt: skip
def test_baum_welch_options_are_checked_up_front(options, error, message):
    options = {"n_states": 2, **options}
    with pytest.raises(error, match=re.escape(message)):
        baum_welch([0, 1], **options)


@pytest.mark.parametrize("n_symbols, expected", [(None, "ints >= 0"), (3, r"ints in \[0, 3\)")])
def test_float_symbols_say_what_is_expected(n_symbols, expected):
    with pytest.raises(
        ValueError, match=rf"symbol 1.5 at position 1 is not an integer \(symbols are {expected}\)"
    ):
        baum_welch([0, 1.5], 2, n_symbols)


@pytest.mark.parametrize(
    "x, message",
    [
        ([0, [1, 2]], r"position 1 holds a list \[1, 2\], not a symbol"),
        ([[0, 1], [1, [2]]], r"sequence 1: position 1 holds a list \[2\], not a symbol"),
        ([(0, 1), [1, (2, 3)]], r"sequence 1: position 1 holds a tuple \(2, 3\), not a symbol"),
    ],
)
def test_ragged_nested_lists_name_the_offending_entry(x, message):
    with pytest.raises(ValueError, match=message):
        casino().log_likelihood(x)
    with pytest.raises(ValueError, match=message):
        baum_welch(x, 2)


def test_baum_welch_argument_errors():
    with pytest.raises(ValueError, match=r"symbol 3 at position 1 is outside \[0, 2\)"):
        baum_welch([0, 3], 2, n_symbols=2)
    with pytest.raises(ValueError, match="sequence 0 is empty|sequence is empty"):
        baum_welch([[], [1]], 2)
    impossible_init = CategoricalHMM([1.0, 0.0], np.eye(2), [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="probability 0 under the model"):
        baum_welch([0, 1], 2, 2, init=impossible_init)


def test_ragged_parameter_rows_name_the_parameter_and_row_lengths():
    with pytest.raises(
        ValueError, match=r"trans must have rows of equal length, got rows of lengths \[1, 2\]"
    ):
        CategoricalHMM([0.5, 0.5], [[1.0, 0.0], [1.0]], [[1.0], [1.0]])
    with pytest.raises(ValueError, match="emit must be a numeric array"):
        CategoricalHMM([0.5, 0.5], np.eye(2), "uniform")
