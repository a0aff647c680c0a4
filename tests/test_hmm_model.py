"""CategoricalHMM as a public object: parameters, sampling, JSON, casino figures, imports."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pirho.hmm import (
    CategoricalHMM,
    HiddenMarkovModel,
    Likelihoods,
    ObservationBatch,
    casino,
)


def test_parameters_are_read_only_float64_copies():
    start = [0.5, 0.5]
    trans = np.array([[0.9, 0.1], [0.2, 0.8]])
    m = CategoricalHMM(start, trans, [[0.5, 0.5], [0.1, 0.9]])
    trans[0, 0] = 0.0  # the model kept its own copy
    assert m.trans[0, 0] == 0.9
    for arr in (m.start, m.trans, m.emit):
        assert arr.dtype == np.float64
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 0.3
    assert (m.n_states, m.n_symbols) == (2, 2)


def test_casino_has_durbin_parameters():
    m = casino()
    np.testing.assert_array_equal(m.start, [0.5, 0.5])
    np.testing.assert_array_equal(m.trans, [[0.95, 0.05], [0.10, 0.90]])
    np.testing.assert_allclose(m.emit[0], np.full(6, 1 / 6))
    np.testing.assert_allclose(m.emit[1], [0.1, 0.1, 0.1, 0.1, 0.1, 0.5])


def test_sample_is_reproducible_and_has_the_model_statistics():
    m = casino()
    s1, x1 = m.sample(200_000, seed=3)
    s2, x2 = m.sample(200_000, seed=3)
    assert np.array_equal(s1, s2) and np.array_equal(x1, x2)
    assert not np.array_equal(x1, m.sample(200_000, seed=4)[1])
    assert s1.dtype == np.int64 and x1.dtype == np.int64
    # Stationary distribution of trans: P(loaded) = 0.05 / (0.05 + 0.10) = 1/3.
    assert s1.mean() == pytest.approx(1 / 3, abs=0.02)
    # Empirical transition and emission frequencies.
    from_fair = s1[:-1] == 0
    assert (s1[1:][from_fair] == 1).mean() == pytest.approx(0.05, abs=0.004)
    assert (x1[s1 == 1] == 5).mean() == pytest.approx(0.5, abs=0.01)
    assert (x1[s1 == 0] == 5).mean() == pytest.approx(1 / 6, abs=0.01)


def test_sample_never_draws_a_zero_probability_state_or_symbol():
    m = CategoricalHMM([0.0, 1.0, 0.0], np.eye(3)[[1, 2, 0]], [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    states, symbols = m.sample(999, seed=0)
    assert np.array_equal(states, np.tile([1, 2, 0], 333))
    assert np.array_equal(symbols, np.tile([1, 0, 0], 333))


def test_json_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    m = CategoricalHMM(
        rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3), 3), rng.dirichlet(np.ones(4), 3)
    )
    path = tmp_path / "model.json"
    m.save(path)
    loaded = CategoricalHMM.load(path)
    for name in ("start", "trans", "emit"):
        assert np.array_equal(getattr(loaded, name), getattr(m, name))
    assert json.loads(path.read_text())["format"] == "pirho.CategoricalHMM"
    assert CategoricalHMM.from_dict(m.to_dict()).to_dict() == m.to_dict()


def test_casino_decoding_accuracy_at_100000_rolls():
    m = casino()
    states, rolls = m.sample(100_000, seed=0)
    posterior_acc = (m.posterior(rolls).argmax(axis=1) == states).mean()
    viterbi_acc = (m.viterbi(rolls)[0] == states).mean()
    filter_acc = (m.filter(rolls).argmax(axis=1) == states).mean()
    # Seed 0 gives 0.8165 / 0.7921 / 0.7730 (posterior ≥ Viterbi ≥ filter, as expected).
    assert posterior_acc == pytest.approx(0.82, abs=0.01)
    assert 0.78 <= viterbi_acc <= 0.81
    assert filter_acc < viterbi_acc < posterior_acc


def test_dead_state_does_not_break_long_posteriors():
    # A state that is never reachable decays slowly in ρ_t; it must not push the live states
    # to underflow (0/0 = NaN) on long sequences.
    base = casino()
    start = np.append(base.start, 0.0)
    trans = np.zeros((3, 3))
    trans[:2, :2] = base.trans
    trans[2, 2] = 1.0
    emit = np.vstack([base.emit, np.full(6, 1 / 6)])
    padded = CategoricalHMM(start, trans, emit)
    _, rolls = CategoricalHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[0.9] + [0.02] * 5,
                              [0.02] * 5 + [0.9]]).sample(50_000, seed=1)  # fmt: skip
    expected = base.posterior(rolls)
    got = padded.posterior(rolls)
    np.testing.assert_allclose(got[:, :2], expected, atol=1e-12)
    assert (got[:, 2] == 0).all()
    np.testing.assert_allclose(padded.posterior(rolls, lag=5)[:, :2], base.posterior(rolls, lag=5),
                               atol=1e-12)  # fmt: skip


def test_importing_pirho_hmm_does_not_import_torch():
    code = "import sys, pirho.hmm; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


class DenseCategorical(HiddenMarkovModel):
    """A family written as issue 10's will be: a (N, K) log-likelihood matrix per batch, with
    symbol -1 = missing (log-likelihood 0 in every state)."""

    FORMAT = "test.DenseCategorical"
    EMISSION_KEYS = ("emit",)

    def __init__(self, start, trans, emit):
        super().__init__(start, trans)
        self.emit = np.asarray(emit, dtype=float)

    def _as_batch(self, x):
        if isinstance(x, list) and isinstance(x[0], list):
            offsets = np.cumsum([0] + [len(s) for s in x])
            return ObservationBatch(np.concatenate(x).astype(np.int64), offsets, True)
        x = np.asarray(x, dtype=np.int64)
        return ObservationBatch(x, np.array([0, len(x)]), False)

    def _likelihoods(self, observations):
        with np.errstate(divide="ignore"):
            log_lik = np.log(self.emit[:, observations].T)
        log_lik[observations < 0] = 0.0
        return Likelihoods.from_log(log_lik)

    def _sample_emissions(self, states, rng):
        return np.array([rng.choice(self.emit.shape[1], p=self.emit[k]) for k in states])

    def _emission_params(self):
        return {"emit": self.emit.tolist()}


def test_a_family_from_a_log_likelihood_matrix_gets_every_method_from_the_base():
    m = casino()
    dense = DenseCategorical(m.start, m.trans, m.emit)
    seqs = [m.sample(n, seed=n)[1] for n in (1, 7, 30)]
    for method in ("forward", "backward", "filter", "posterior"):
        for got, want in zip(getattr(dense, method)([list(s) for s in seqs]),
                             getattr(m, method)(seqs), strict=True):  # fmt: skip
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dense.log_likelihood(seqs[2]), m.log_likelihood(seqs[2]), rtol=1e-13)
    np.testing.assert_allclose(dense.posterior(seqs[2], lag=3), m.posterior(seqs[2], lag=3))
    path, log_prob = dense.viterbi(seqs[2])
    assert np.array_equal(path, m.viterbi(seqs[2]).path)
    assert log_prob == pytest.approx(m.viterbi(seqs[2]).log_prob, rel=1e-13)
    assert DenseCategorical.from_dict(dense.to_dict()).to_dict() == dense.to_dict()
    # A missing observation (row of log-likelihood 0) is marginalised out: brute force over
    # a model whose emissions ignore that step gives the same posterior.
    x = [5, -1, 5, 0]
    blank = CategoricalHMM(m.start, m.trans, np.hstack([m.emit, np.ones((2, 1))]) / 2)
    with_blank = [5, 6, 5, 0]  # symbol 6 has likelihood 1/2 in both states: no information
    np.testing.assert_allclose(dense.posterior(x), blank.posterior(with_blank), atol=1e-12)
    # Every step of the blank model has half the likelihood: 4 steps, a factor 2^-4.
    assert dense.log_likelihood(x) == pytest.approx(
        blank.log_likelihood(with_blank) + 4 * np.log(2), rel=1e-12
    )


def test_the_base_class_cannot_be_used_without_the_emission_hooks():
    with pytest.raises(TypeError, match="abstract"):
        HiddenMarkovModel([1.0], [[1.0]])


def test_compiled_kernels_are_cached_on_disk():
    # A second process loads the compiled likelihood kernel from numba's cache, not a compile.
    code = (
        "from pirho.hmm import casino\nfrom pirho.hmm._compiled import recursions\n"
        "casino().log_likelihood([0, 1])\n"
        "print(sum(recursions.log_likelihood.stats.cache_hits.values()))\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
            for _ in range(2)]  # fmt: skip
    assert int(runs[1].stdout.strip()) >= 1


def test_first_compilation_is_announced_once_and_a_warm_cache_is_silent(tmp_path):
    # A fresh NUMBA_CACHE_DIR is a cold cache: the first process says it compiles, the second
    # (loading from that cache) says nothing; the line goes to stderr, never to stdout.
    code = "from pirho.hmm import casino\nprint(casino().log_likelihood([0, 1]))\n"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                           text=True, env=env) for _ in range(2)]  # fmt: skip
    assert runs[0].stderr.count("pirho: compiling the HMM kernels once") == 1
    assert runs[1].stderr == "" and runs[0].stdout == runs[1].stdout
