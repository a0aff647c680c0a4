"""SemiMarkovHMM: exact against brute-force enumeration of segmentations, against the ordinary
HMM with geometric durations, and against the expanded-state (countdown) HMM run by pirho's
own kernels; posterior samples, EM, and bad inputs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pirho.hmm import (
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    Durations,
    GaussianHMM,
    PoissonHMM,
    SemiMarkovHMM,
    casino,
    semi_markov_em,
)
from pirho.hmm.fitting.em_loop import EMMonitor
from pirho.hmm.semi_markov import duration_m_step, expected_statistics, segments_of


# -- the independent references --------------------------------------------------------------
def emission_probs(model: SemiMarkovHMM, x) -> np.ndarray:
    """(T, K) P(x_t | k), straight from the family's parameters."""
    emissions = model.emissions
    if isinstance(emissions, CategoricalHMM):
        return emissions.emit[:, np.asarray(x)].T
    out = np.exp(emissions.emission_log_likelihood(x))
    return np.where(np.isnan(np.asarray(x, dtype=float)).all(axis=-1)[:, None], 1.0, out)


def brute_force_segmentations(model: SemiMarkovHMM, x) -> dict:
    """Every state path of length T, each scored as its segmentation: start, then per segment
    p_k(d) (the last segment: Σ_{d' ≥ d} p_k(d'), right-censored), trans between segments and
    the emissions. Returns path probabilities and the marginals derived from them."""
    e = emission_probs(model, x)
    n_steps, n_states = e.shape
    table = model.durations.table
    max_d = table.shape[1]
    probs = {}
    for path in itertools.product(range(n_states), repeat=n_steps):
        segs = segments_of(np.array(path))
        p = model.start[path[0]]
        for i, (first, d, k) in enumerate(segs):
            last = i == len(segs) - 1
            if d > max_d:
                p = 0.0
                break
            p *= table[k, d - 1 :].sum() if last else table[k, d - 1]
            p *= np.prod(e[first : first + d, k])
            if not last:
                p *= model.trans[k, segs[i + 1][2]]
        probs[path] = p
    total = sum(probs.values())
    posterior = np.zeros((n_steps, n_states))
    begins = np.zeros((n_steps, n_states))
    ends = np.zeros((n_steps, n_states))
    for path, p in probs.items():
        for first, d, k in segments_of(np.array(path)):
            begins[first, k] += p
            ends[first + d - 1, k] += p
        posterior[np.arange(n_steps), path] += p
    best = max(probs, key=lambda path: probs[path])
    return {
        "log_likelihood": math.log(total) if total > 0 else -math.inf,
        "posterior": posterior / total,
        "begins": begins / total,
        "ends": ends / total,
        "best_path": np.array(best),
        "best_log_prob": math.log(probs[best]),
        "probs": {path: p / total for path, p in probs.items()},
    }


def expanded_hmm(model: SemiMarkovHMM) -> CategoricalHMM:
    """The countdown construction (hmmlearn #582): state (k, r) = in a segment of k with r
    steps left, r = 1..D. Needs categorical emissions."""
    n_states, max_d = model.durations.table.shape
    table = model.durations.table
    size = n_states * max_d
    start = np.zeros(size)
    trans = np.zeros((size, size))
    for k in range(n_states):
        start[k * max_d : (k + 1) * max_d] = model.start[k] * table[k]
        for r in range(1, max_d):  # (k, r+1) → (k, r): index k·D + r → k·D + r − 1
            trans[k * max_d + r, k * max_d + r - 1] = 1.0
        for j in range(n_states):  # (k, 1) → (j, r) with trans[k, j] p_j(r)
            trans[k * max_d, j * max_d : (j + 1) * max_d] += model.trans[k, j] * table[j]
    for i in range(size):  # rows of unreachable (k, r) with p = 0 stay valid distributions
        if trans[i].sum() == 0:
            trans[i, i] = 1.0
    emit = np.repeat(model.emissions.emit, max_d, axis=0)
    return CategoricalHMM(start, trans / trans.sum(axis=1, keepdims=True), emit)


def random_model(rng, n_states=3, max_d=4, n_symbols=3, zeros=True) -> SemiMarkovHMM:
    start = rng.dirichlet(np.ones(n_states))
    trans = rng.dirichlet(np.ones(n_states - 1), size=n_states)
    trans = np.array([np.insert(row, k, 0.0) for k, row in enumerate(trans)])
    table = rng.dirichlet(np.ones(max_d), size=n_states)
    if zeros and max_d > 1:
        table[0, rng.integers(max_d)] = 0.0  # a structural zero in a duration
        table /= table.sum(axis=1, keepdims=True)
    emit = rng.dirichlet(np.ones(n_symbols), size=n_states)
    emissions = CategoricalHMM(np.full(n_states, 1 / n_states),
                               np.full((n_states, n_states), 1 / n_states), emit)  # fmt: skip
    return SemiMarkovHMM(start, trans, table, emissions)


# -- brute force -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed,n_steps,max_d", [(0, 6, 3), (1, 5, 6), (2, 7, 2), (3, 1, 3)])
def test_inference_matches_brute_force(seed, n_steps, max_d):
    rng = np.random.default_rng(seed)
    model = random_model(rng, max_d=max_d)
    x = rng.integers(3, size=n_steps)
    ref = brute_force_segmentations(model, x)
    assert model.log_likelihood(x) == pytest.approx(ref["log_likelihood"], abs=1e-12)
    np.testing.assert_allclose(model.posterior(x), ref["posterior"], atol=1e-12)
    bounds = model.boundaries(x)
    np.testing.assert_allclose(bounds.begins, ref["begins"], atol=1e-12)
    np.testing.assert_allclose(bounds.ends, ref["ends"], atol=1e-12)
    best = model.viterbi(x)
    assert best.log_prob == pytest.approx(ref["best_log_prob"], abs=1e-12)
    assert best.states.tolist() == ref["best_path"].tolist()
    assert best.segments.tolist() == segments_of(ref["best_path"]).tolist()
    path, log_prob = best  # unpacks like the ordinary HMM's ViterbiResult
    assert path is best.states and log_prob == best.log_prob


def test_batch_equals_one_sequence_at_a_time():
    rng = np.random.default_rng(5)
    model = random_model(rng, max_d=3)
    xs = [rng.integers(3, size=n) for n in (4, 1, 6)]
    lls = model.log_likelihood(xs)
    posts = model.posterior(xs)
    paths = model.viterbi(xs)
    for b, x in enumerate(xs):
        ref = brute_force_segmentations(model, x)
        assert lls[b] == pytest.approx(ref["log_likelihood"], abs=1e-12)
        np.testing.assert_allclose(posts[b], ref["posterior"], atol=1e-12)
        assert paths[b].states.tolist() == ref["best_path"].tolist()
    assert paths.log_probs.shape == (3,)


@given(
    seed=st.integers(0, 2**31),
    n_states=st.integers(2, 3),
    max_d=st.integers(1, 4),
    n_steps=st.integers(1, 6),
)
def test_random_models_match_brute_force(seed, n_states, max_d, n_steps):
    rng = np.random.default_rng(seed)
    model = random_model(rng, n_states=n_states, max_d=max_d, zeros=seed % 2 == 0)
    x = rng.integers(3, size=n_steps)
    ref = brute_force_segmentations(model, x)
    if ref["log_likelihood"] == -math.inf:
        assert model.log_likelihood(x) == -math.inf
        with pytest.raises(ValueError, match="probability 0"):
            model.posterior(x)
        return
    assert model.log_likelihood(x) == pytest.approx(ref["log_likelihood"], abs=1e-11)
    np.testing.assert_allclose(model.posterior(x), ref["posterior"], atol=1e-11)
    np.testing.assert_allclose(model.boundaries(x).ends, ref["ends"], atol=1e-11)
    assert model.viterbi(x).log_prob == pytest.approx(ref["best_log_prob"], abs=1e-11)


def vector_family(name: str):
    uniform = ([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]])
    if name == "gaussian":
        return GaussianHMM(*uniform, [[0.0, 1.0], [2.0, -1.0]], [[1.0, 0.5], [2.0, 1.0]], "diag")
    if name == "gmm":
        return GMMHMM(*uniform, [[0.3, 0.7], [0.5, 0.5]], [[[0.0], [3.0]], [[1.0], [-2.0]]],
                      [[1.0, 0.5], [2.0, 1.0]], "spherical")  # fmt: skip
    if name == "bernoulli":
        return BernoulliHMM(*uniform, [[0.1, 0.8], [0.6, 0.3]])
    return PoissonHMM(*uniform, [[1.0, 4.0], [3.0, 0.5]])


@pytest.mark.parametrize("family", ["gaussian", "gmm", "bernoulli", "poisson"])
def test_every_family_matches_brute_force_and_missing_steps_count_as_likelihood_one(family):
    emissions = vector_family(family)
    model = SemiMarkovHMM([0.3, 0.7], [[0, 1], [1, 0]], [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]],
                          emissions)  # fmt: skip
    _, x = model.sample(6, seed=3)
    x = np.asarray(x, dtype=np.float64)
    x[2] = np.nan  # a missing step
    ref = brute_force_segmentations(model, x)
    assert model.log_likelihood(x) == pytest.approx(ref["log_likelihood"], abs=1e-12)
    np.testing.assert_allclose(model.posterior(x), ref["posterior"], atol=1e-12)
    assert model.viterbi(x).states.tolist() == ref["best_path"].tolist()
    # the guard off (EMMonitor(guard=False)): a decrease shows in the history
    result = semi_markov_em(model, [x, model.sample(30, seed=4)[1]], n_iter=3,
                            monitor=EMMonitor(0.0, guard=False))  # fmt: skip
    assert np.diff(result.history).min() >= -1e-9
    assert type(result.model.emissions) is type(emissions)


# -- independent constructions -----------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_geometric_durations_equal_the_ordinary_hmm(seed):
    rng = np.random.default_rng(seed)
    n_states, max_d, n_steps = 3, 600, 40
    trans = rng.dirichlet(np.ones(n_states), size=n_states)
    trans[np.arange(n_states), np.arange(n_states)] += 2.0  # sticky
    trans /= trans.sum(axis=1, keepdims=True)
    hmm = CategoricalHMM(rng.dirichlet(np.ones(n_states)), trans,
                         rng.dirichlet(np.ones(4), size=n_states))  # fmt: skip
    stay = np.diag(trans)
    d = np.arange(1, max_d + 1)
    table = stay[:, None] ** (d - 1) * (1 - stay[:, None])
    table[:, -1] += stay**max_d  # the tail beyond D, never reached at T ≪ D
    off = trans * (1 - np.eye(n_states))
    model = SemiMarkovHMM(hmm.start, off / off.sum(axis=1, keepdims=True), table, hmm)
    x = hmm.sample(n_steps, seed=seed)[1]
    assert model.log_likelihood(x) == pytest.approx(hmm.log_likelihood(x), abs=1e-10)
    np.testing.assert_allclose(model.posterior(x), hmm.posterior(x), atol=1e-10)
    assert model.viterbi(x).log_prob == pytest.approx(hmm.viterbi(x).log_prob, abs=1e-10)
    assert model.viterbi(x).states.tolist() == hmm.viterbi(x).path.tolist()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_equals_expanded_state_hmm(seed):
    rng = np.random.default_rng(seed)
    model = random_model(rng, n_states=3, max_d=5, n_symbols=4)
    expanded = expanded_hmm(model)
    xs = [rng.integers(4, size=n) for n in (60, 3, 17)]
    np.testing.assert_allclose(model.log_likelihood(xs), expanded.log_likelihood(xs),
                               rtol=0, atol=1e-10)  # fmt: skip
    for ours, theirs in zip(model.posterior(xs), expanded.posterior(xs), strict=True):
        collapsed = theirs.reshape(theirs.shape[0], 3, 5).sum(axis=2)
        np.testing.assert_allclose(ours, collapsed, atol=1e-10)


def test_long_sequence_is_stable_and_equals_expanded_hmm():
    rng = np.random.default_rng(7)
    model = random_model(rng, n_states=2, max_d=6, n_symbols=3, zeros=False)
    _, x = model.sample(200_000, seed=1)
    ours = model.log_likelihood(x)
    assert np.isfinite(ours) and ours < -1e5
    assert ours == pytest.approx(expanded_hmm(model).log_likelihood(x), rel=1e-12)
    post = model.posterior(x)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-9)


def test_gaussian_emissions_with_far_outliers_do_not_underflow():
    emissions = GaussianHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.0], [10.0]], [1.0, 1.0],
                            "spherical")  # fmt: skip
    model = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], Durations.poisson([3.0, 3.0], 20),
                          emissions)  # fmt: skip
    x = np.array([0.0, 0.1, 500.0, 10.0, 9.0, -400.0, 0.2])  # log-likelihoods ~ −1e5
    assert np.isfinite(model.log_likelihood(x))
    np.testing.assert_allclose(model.posterior(x).sum(axis=1), 1.0, atol=1e-12)


# -- sampling ----------------------------------------------------------------------------------
def chi_square_p_value(counts: np.ndarray, probs: np.ndarray) -> float:
    """P-value of Pearson's chi-square statistic (Wilson–Hilferty normal approximation)."""
    expected = counts.sum() * probs
    keep = expected > 0
    stat = float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())
    dof = int(keep.sum()) - 1
    z = ((stat / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / math.sqrt(2 / (9 * dof))
    return 0.5 * math.erfc(z / math.sqrt(2))


def test_posterior_samples_match_brute_force_path_probabilities():
    rng = np.random.default_rng(11)
    model = random_model(rng, n_states=2, max_d=3, n_symbols=2)
    x = np.array([0, 1, 1, 0, 1, 0])
    ref = brute_force_segmentations(model, x)
    draws = model.sample_posterior(x, 40_000, seed=3)
    index = {path: i for i, path in enumerate(ref["probs"])}
    counts = np.zeros(len(index))
    for row in draws:
        counts[index[tuple(row.tolist())]] += 1
    probs = np.array(list(ref["probs"].values()))
    assert counts[probs == 0].sum() == 0  # impossible segmentations are never drawn
    assert chi_square_p_value(counts, probs) > 1e-3
    # and the test has power: the prior's segmentations (data ignored) are rejected
    prior_draws = np.stack([model.sample(6, seed=s)[0] for s in range(2000)])
    prior_counts = np.zeros(len(index))
    for row in prior_draws:
        prior_counts[index[tuple(row.tolist())]] += 1
    assert chi_square_p_value(prior_counts, probs) < 1e-6


def test_posterior_samples_average_to_the_posterior_for_a_batch():
    rng = np.random.default_rng(2)
    model = random_model(rng, n_states=3, max_d=4, n_symbols=3)
    xs = [rng.integers(3, size=30), rng.integers(3, size=12)]
    draws = model.sample_posterior(xs, 4000, seed=0)
    for x, d, post in zip(xs, draws, model.posterior(xs), strict=True):
        assert d.shape == (4000, len(x))
        freq = np.stack([(d == k).mean(axis=0) for k in range(3)], axis=1)
        np.testing.assert_allclose(freq, post, atol=0.035)


def test_sample_draws_durations_from_the_table():
    table = np.array([[0.0, 0.2, 0.5, 0.3], [0.6, 0.0, 0.0, 0.4]])
    model = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], table, casino())
    states, rolls = model.sample(30_000, seed=0)
    assert rolls.shape == (30_000,)
    segs = segments_of(states)[:-1]  # the last one is cut at T
    for k in range(2):
        lengths = segs[segs[:, 2] == k, 1]
        freq = np.bincount(lengths, minlength=5)[1:] / len(lengths)
        np.testing.assert_allclose(freq, table[k], atol=0.02)
    assert model.sample(5, seed=4)[0].tolist() == model.sample(5, seed=4)[0].tolist()


# -- EM ----------------------------------------------------------------------------------------
def test_expected_statistics_match_brute_force_counts():
    rng = np.random.default_rng(4)
    model = random_model(rng, n_states=2, max_d=3, n_symbols=2)
    x = np.array([0, 1, 1, 0, 0])
    ref = brute_force_segmentations(model, x)
    table = model.durations.table
    want_dur = np.zeros_like(table)
    want_trans = np.zeros((2, 2))
    for path, p in ref["probs"].items():
        if p == 0:  # a segment longer than D
            continue
        segs = segments_of(np.array(path))
        for i, (_, d, k) in enumerate(segs):
            if i < len(segs) - 1:
                want_dur[k, d - 1] += p
                want_trans[k, segs[i + 1][2]] += p
            else:  # censored: true duration d' ≥ d in proportion to p_k(d')
                want_dur[k, d - 1 :] += p * table[k, d - 1 :] / table[k, d - 1 :].sum()
    log_e = np.log(emission_probs(model, x))
    stats = expected_statistics(model.start, model.trans, table, log_e, np.array([0, 5]))
    np.testing.assert_allclose(stats.duration_counts, want_dur, atol=1e-12)
    np.testing.assert_allclose(stats.trans_counts, want_trans, atol=1e-12)
    np.testing.assert_allclose(stats.start_counts, ref["posterior"][0], atol=1e-12)


@pytest.mark.parametrize("family", ["table", "poisson", "nbinom"])
def test_em_never_decreases_the_likelihood(family):
    truth_emissions = PoissonHMM([0.5, 0.5, 0.0], np.full((3, 3), 1 / 3),
                                 [[1.0], [5.0], [12.0]])  # fmt: skip
    laws = {"table": Durations.nbinom([2.0, 4.0, 1.0], [0.3, 0.4, 0.2], 30),
            "poisson": Durations.poisson([3.0, 8.0, 5.0], 30),
            "nbinom": Durations.nbinom([2.0, 4.0, 1.0], [0.3, 0.4, 0.2], 30)}  # fmt: skip
    truth = SemiMarkovHMM([0.4, 0.3, 0.3], [[0, 0.5, 0.5], [0.3, 0, 0.7], [0.6, 0.4, 0]],
                          laws[family], truth_emissions)  # fmt: skip
    xs = [truth.sample(400, seed=s)[1] for s in range(3)]
    start_law = {
        "table": Durations.from_table(np.full((3, 30), 1 / 30)),
        "poisson": Durations.poisson([1.0, 1.0, 1.0], 30),
        "nbinom": Durations.nbinom([1.0, 1.0, 1.0], [0.5, 0.5, 0.5], 30),
    }[family]
    guess = SemiMarkovHMM([1 / 3] * 3, [[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]], start_law,
                          PoissonHMM([1 / 3] * 3, np.full((3, 3), 1 / 3),
                                     [[2.0], [4.0], [8.0]]))  # fmt: skip
    result = semi_markov_em(guess, xs, n_iter=25, monitor=EMMonitor(0.0, guard=False))
    gains = np.diff(result.history)
    assert result.n_iter == 25
    assert gains.min() >= -1e-8 * abs(result.history[-1])
    assert result.history[-1] > result.history[0] + 10


def test_em_recovers_parameters_from_simulated_data():
    emissions = GaussianHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.0], [2.0]], [1.0, 1.0],
                            "spherical")  # fmt: skip
    truth = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]],
                          Durations.nbinom([6.0, 2.0], [0.4, 0.1], 80), emissions)  # fmt: skip
    xs = [truth.sample(1500, seed=s)[1] for s in range(4)]
    guess = SemiMarkovHMM(
        [0.5, 0.5], [[0, 1], [1, 0]], Durations.nbinom([1.0, 1.0], [0.2, 0.2], 80),
        GaussianHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[-0.5], [2.5]], [2.0, 2.0],
                    "spherical"),
    )  # fmt: skip
    fitted = semi_markov_em(guess, xs, n_iter=60).model
    np.testing.assert_allclose(fitted.emissions.means.ravel(), [0.0, 2.0], atol=0.1)
    np.testing.assert_allclose(fitted.durations.mean(), truth.durations.mean(), rtol=0.12)
    assert fitted.log_likelihood(xs).sum() >= truth.log_likelihood(xs).sum() - 1.0


def test_truncated_poisson_m_step_is_the_maximum_likelihood_rate():
    old = Durations.poisson([2.0], 6)  # heavy truncation: the closed form mean is not the MLE
    counts = np.array([[0.0, 1.0, 0.0, 2.0, 3.0, 4.0]])
    rate = float(duration_m_step(old, counts).params["rates"][0])
    grid = np.exp(np.linspace(np.log(0.5), np.log(50.0), 20001))

    def expected_log(lam):
        return float((counts * np.log(Durations.poisson([lam], 6).table)).sum())

    best = grid[np.argmax([expected_log(g) for g in grid])]
    assert rate == pytest.approx(best, rel=1e-3)
    assert rate > (counts * np.arange(6)).sum() / counts.sum()  # larger than the closed form


def test_frozen_parameters_stay_exactly_and_labels_clamp():
    rng = np.random.default_rng(8)
    model = random_model(rng, n_states=2, max_d=4, n_symbols=3)
    xs = [rng.integers(3, size=40) for _ in range(2)]
    result = semi_markov_em(model, xs, params="d", n_iter=5)
    assert np.array_equal(result.model.start, model.start)
    assert np.array_equal(result.model.trans, model.trans)
    assert np.array_equal(result.model.emissions.emit, model.emissions.emit)
    assert not np.array_equal(result.model.durations.table, model.durations.table)
    # labels: the history is log P(x, labels respected), checked by brute force
    x = np.array([0, 1, 2, 2, 1])
    labels = np.array([-1, 1, -1, -1, 0])
    ref = brute_force_segmentations(model, x)
    keep = sum(p for path, p in ref["probs"].items() if path[1] == 1 and path[4] == 0)
    first = semi_markov_em(model, x, labels=labels, n_iter=0)
    assert first.history[0] == pytest.approx(ref["log_likelihood"] + math.log(keep), abs=1e-12)
    fitted = semi_markov_em(model, x, labels=labels, n_iter=3).model
    post = fitted.posterior(x)
    assert post[1, 1] < 1.0 + 1e-12 and post[4, 0] <= 1.0 + 1e-12


def test_save_and_load_round_trip(tmp_path):
    model = SemiMarkovHMM.from_hmm(casino(), 40, "nbinom")
    path = tmp_path / "m.json"
    import json

    path.write_text(json.dumps(model.to_dict()))
    again = SemiMarkovHMM.from_dict(json.loads(path.read_text()))
    x = [0, 5, 5, 5, 1, 2]
    assert again.log_likelihood(x) == model.log_likelihood(x)


# -- bad inputs --------------------------------------------------------------------------------
def test_bad_inputs_name_the_parameter():
    emissions = casino()
    table = [[0.5, 0.5], [0.5, 0.5]]
    with pytest.raises(ValueError, match=r"trans row 1 has trans\[1, 1\]"):
        SemiMarkovHMM([0.5, 0.5], [[0, 1], [0.5, 0.5]], table, emissions)
    with pytest.raises(ValueError, match="trans row 0"):
        SemiMarkovHMM([0.5, 0.5], [[0, 0.9], [1, 0]], table, emissions)
    with pytest.raises(ValueError, match="durations has 3 rows"):
        SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], [[1.0]] * 3, emissions)
    with pytest.raises(ValueError, match="durations row 0"):
        SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], [[0.5, 0.6], [1, 0]], emissions)
    with pytest.raises(ValueError, match="K >= 2"):
        SemiMarkovHMM([1.0], [[0.0]], [[1.0]], CategoricalHMM([1.0], [[1.0]], [[1.0]]))
    with pytest.raises(ValueError, match="emissions has K = 2"):
        SemiMarkovHMM([0.2, 0.3, 0.5], [[0, 1, 0], [1, 0, 0], [1, 0, 0]], [[1.0]] * 3,
                      emissions)  # fmt: skip
    with pytest.raises(TypeError, match="emissions must be a model"):
        SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], table, "gaussian")
    with pytest.raises(ValueError, match=r"rates\[1\] = -1.0"):
        Durations.poisson([1.0, -1.0], 10)
    with pytest.raises(ValueError, match="max_duration must be >= 1"):
        Durations.poisson([1.0], 0)
    with pytest.raises(ValueError, match=r"p\[0\] = 1.5"):
        Durations.nbinom([1.0], [1.5], 10)
    model = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], table, emissions)
    with pytest.raises(ValueError, match="symbol 9 at position 1"):
        model.log_likelihood([0, 9])
    with pytest.raises(ValueError, match="params='sx'"):
        semi_markov_em(model, [0, 1], params="sx")
    with pytest.raises(ValueError, match="label 2 at position 0"):
        semi_markov_em(model, [0, 1], labels=np.array([2, 0]))
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        model.sample_posterior([0, 1], 0)
    # a sequence no segmentation explains: state 0 (the only one emitting symbol 0) lasts
    # exactly 2 steps unless cut by the end of the data, state 1 exactly 1
    rigid = SemiMarkovHMM([1.0, 0.0], [[0, 1], [1, 0]], [[0.0, 1.0], [1.0, 0.0]],
                          CategoricalHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]],
                                         [[1.0, 0.0], [0.0, 1.0]]))  # fmt: skip
    assert rigid.log_likelihood([0, 0, 1, 0]) == 0.0  # the last segment is censored
    assert rigid.log_likelihood([0, 1, 0, 0]) == -math.inf
    with pytest.raises(ValueError, match="x has probability 0"):
        rigid.viterbi([0, 1, 0, 0])
    with pytest.raises(ValueError, match="sequence 1 has probability 0"):
        semi_markov_em(rigid, [[0, 0, 1], [0, 1, 0, 0]])
