"""pirho.data.synthetic: samplers match their HMMs; the polysemy HMM means what it says."""

import numpy as np
import pytest

from pirho.data.synthetic import (
    EVIDENCE,
    SENSES,
    polysemy_hmm,
    random_hmm,
    sample_dataset,
    sample_polysemy,
    sample_sequences,
)
from pirho.hmm import CategoricalHMM, casino


def empirical_parameters(states, symbols, n_states, n_symbols):
    """Start, transition and emission frequencies (rows with no data are NaN), and counts."""
    start = np.bincount(states[:, 0], minlength=n_states) / len(states)
    trans_counts = np.zeros((n_states, n_states))
    np.add.at(trans_counts, (states[:, :-1].ravel(), states[:, 1:].ravel()), 1)
    emit_counts = np.zeros((n_states, n_symbols))
    np.add.at(emit_counts, (states.ravel(), symbols.ravel()), 1)
    with np.errstate(invalid="ignore"):
        trans = trans_counts / trans_counts.sum(1, keepdims=True)
        emit = emit_counts / emit_counts.sum(1, keepdims=True)
    return start, trans, emit, trans_counts.sum(1), emit_counts.sum(1)


def assert_rows_close(estimate, truth, counts, min_count=2000, sigmas=5.0):
    """Each well-visited row's frequencies lie within `sigmas` binomial standard errors."""
    for row in np.flatnonzero(counts >= min_count):
        se = np.sqrt(truth[row] * (1 - truth[row]) / counts[row]) + 1e-12
        assert np.all(np.abs(estimate[row] - truth[row]) <= sigmas * se + 1e-9), row


def test_sample_sequences_statistics_match_casino_parameters():
    model = casino()
    split = sample_sequences(model, n_sequences=4000, length=60, seed=1)
    start, trans, emit, trans_n, emit_n = empirical_parameters(split.states, split.symbols, 2, 6)
    np.testing.assert_allclose(start, model.start, atol=5 * np.sqrt(0.25 / 4000))
    assert_rows_close(trans, model.trans, trans_n)
    assert_rows_close(emit, model.emit, emit_n)


def test_sample_sequences_statistics_match_a_random_hmm_with_structural_zeros():
    trans = np.array([[0.5, 0.5, 0.0], [0.0, 0.7, 0.3], [0.2, 0.0, 0.8]])
    emit = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.5, 0.0], [0.1, 0.2, 0.3, 0.4]])
    model = CategoricalHMM(np.array([0.2, 0.3, 0.5]), trans, emit)
    split = sample_sequences(model, n_sequences=3000, length=40, seed=7)
    start, est_trans, est_emit, trans_n, emit_n = empirical_parameters(
        split.states, split.symbols, 3, 4
    )
    np.testing.assert_allclose(start, model.start, atol=0.05)
    assert_rows_close(est_trans, trans, trans_n)
    assert_rows_close(est_emit, emit, emit_n)
    assert est_trans[0, 2] == 0 and est_trans[1, 0] == 0 and est_emit[0, 1:].sum() == 0
    assert np.isfinite(model.log_likelihood(list(split.symbols[:50]))).all()


def test_sample_dataset_is_seeded_and_test_split_ignores_train_size():
    a = sample_dataset(casino(), n_train=5, n_val=3, n_test=4, length=20, seed=3)
    b = sample_dataset(casino(), n_train=5, n_val=3, n_test=4, length=20, seed=3)
    c = sample_dataset(casino(), n_train=9, n_val=3, n_test=4, length=20, seed=3)
    d = sample_dataset(casino(), n_train=5, n_val=3, n_test=4, length=20, seed=4)
    assert np.array_equal(a.train.symbols, b.train.symbols)
    assert np.array_equal(a.test.states, c.test.states)
    assert np.array_equal(a.test.symbols, c.test.symbols)
    assert not np.array_equal(a.test.symbols, d.test.symbols)
    assert a.train.symbols.shape == (5, 20) and a.test.n_steps == 80


def test_random_hmm_is_valid_sticky_and_seeded():
    m = random_hmm(4, 6, seed=0, stay=0.8)
    assert (m.n_states, m.n_symbols) == (4, 6)
    assert np.all(np.diag(m.trans) >= 0.8)
    np.testing.assert_allclose(m.trans.sum(1), 1.0)
    assert np.array_equal(random_hmm(4, 6, seed=0).emit, m.emit)
    assert not np.array_equal(random_hmm(4, 6, seed=1).emit, m.emit)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sample_sequences(casino(), 0, 5), "n_sequences"),
        (lambda: sample_sequences(casino(), 2, 2.5), "length"),
        (lambda: sample_sequences("casino", 2, 5), "CategoricalHMM"),
        (lambda: random_hmm(3, 3, stay=1.0), "stay"),
        (lambda: polysemy_hmm(sense_prior=(0.5, 0.6)), "sense_prior"),
        (lambda: polysemy_hmm(template_prior=(1.0,)), "template_prior"),
        (lambda: polysemy_hmm(cue_noise=1.2), "cue_noise"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# ---------------------------------------------------------------------------------------------
# The polysemy HMM


@pytest.fixture(scope="module")
def corpus():
    return sample_polysemy(1500, 40, seed=0)


def test_polysemy_hmm_structure():
    spec = polysemy_hmm()
    model = spec.model
    assert model.n_states == 41 and len(spec.words) == model.n_symbols
    bank_states = np.flatnonzero(model.emit[:, spec.bank] > 0)
    # "bank" is emitted (with certainty) by one state per sense and template, under both senses
    assert len(bank_states) == len(SENSES) * len(EVIDENCE)
    np.testing.assert_allclose(model.emit[bank_states, spec.bank], 1.0)
    assert {spec.state_sense[s] for s in bank_states} == {0, 1}
    assert all(spec.state_role[s] == "bank" for s in bank_states)
    # sentence start: sense × template prior
    end = spec.state_names.index("end")
    np.testing.assert_allclose(model.trans[end], model.start)
    entry = model.start > 0
    np.testing.assert_allclose(
        np.sort(model.start[entry]), np.sort(np.outer([0.6, 0.4], [0.1, 0.3, 0.3, 0.3]).ravel())
    )


def test_polysemy_sample_statistics_match_the_hmm(corpus):
    model = corpus.spec.model
    start, trans, emit, trans_n, emit_n = empirical_parameters(
        corpus.states, corpus.symbols, model.n_states, model.n_symbols
    )
    assert_rows_close(trans, model.trans, trans_n, min_count=1000)
    assert_rows_close(emit, model.emit, emit_n, min_count=1000)
    # structural zeros are never violated
    assert (np.nan_to_num(trans)[model.trans == 0] == 0).all()
    assert (np.nan_to_num(emit)[model.emit == 0] == 0).all()


def test_polysemy_occurrences_are_labelled_from_the_hidden_state(corpus):
    spec = corpus.spec
    assert (corpus.symbols[corpus.sequence, corpus.position] == spec.bank).all()
    assert corpus.n_occurrences == int((corpus.symbols == spec.bank).sum())
    bank_states = corpus.states[corpus.sequence, corpus.position]
    assert np.array_equal(corpus.sense, spec.state_sense[bank_states])
    # senses follow the prior (0.6, 0.4)
    assert abs(np.mean(corpus.sense == 0) - 0.6) < 5 * np.sqrt(0.24 / corpus.n_occurrences)
    # the evidence label equals the sentence template whenever the sentence is complete
    template = spec.state_template[bank_states]
    complete = np.array(
        [
            (corpus.symbols[n, t:] == spec.words.index(".")).any()
            for n, t in zip(corpus.sequence, corpus.position, strict=True)
        ]
    )
    assert complete.mean() > 0.8
    assert np.array_equal(corpus.evidence[complete], template[complete])
    # a cut-off "after" cue only removes evidence: after -> none, both -> before
    cut = ~complete & (corpus.evidence != template)
    assert set(zip(template[cut], corpus.evidence[cut], strict=True)) <= {(2, 0), (3, 1)}


def test_polysemy_posterior_matches_hand_values():
    """Each sentence has one possible template; the posterior is prior × cue likelihoods."""
    spec = polysemy_hmm()
    sentences = {
        "we bank there .": 0.6,  # no cue: the prior
        "i money bank there .": 0.6 * 0.9 / (0.6 * 0.9 + 0.4 * 0.1),  # cue before
        "we bank river there .": 0.6 * 0.1 / (0.6 * 0.1 + 0.4 * 0.9),  # cue after
        "we sat at the bank by the water today .": 0.6 * 0.1 / (0.6 * 0.1 + 0.4 * 0.9),
        "we money bank river there .": 0.6 * 0.09 / (0.6 * 0.09 + 0.4 * 0.09),  # conflicting cues
        "they cash at the bank loan there .": 0.6 * 0.81 / (0.6 * 0.81 + 0.4 * 0.01),
        "i money cash bank there .": 0.6 * 0.81 / (0.6 * 0.81 + 0.4 * 0.01),  # a run of cues
        "i money bank fish mud water there .": 0.6 * 0.0009 / (0.6 * 0.0009 + 0.4 * 0.0729),
    }
    for sentence, p_finance in sentences.items():
        symbols = [spec.encode(sentence)]
        posterior = spec.sense_posterior(symbols)[0]
        t = sentence.split().index("bank")
        np.testing.assert_allclose(posterior[t], [p_finance, 1 - p_finance], rtol=1e-9)
        np.testing.assert_allclose(posterior[-1], [0.0, 0.0], atol=1e-12)  # "." has no sense


def test_polysemy_bayes_posterior_is_calibrated(corpus):
    """Mean posterior of the true sense ≈ accuracy of a calibrated guess, per evidence kind."""
    p_true = corpus.posterior[np.arange(corpus.n_occurrences), corpus.sense]
    guess_right = corpus.posterior.argmax(1) == corpus.sense
    expected_right = corpus.posterior.max(1)
    n = corpus.n_occurrences
    assert abs(guess_right.mean() - expected_right.mean()) < 5 * np.sqrt(0.25 / n)
    assert abs(p_true.mean() - (corpus.posterior**2).sum(1).mean()) < 5 * np.sqrt(0.25 / n)
    none = corpus.evidence == EVIDENCE.index("none")
    np.testing.assert_allclose(corpus.posterior[none], np.tile([0.6, 0.4], (none.sum(), 1)))


def test_sample_polysemy_is_seeded():
    a = sample_polysemy(30, 25, seed=5)
    b = sample_polysemy(30, 25, seed=5)
    assert np.array_equal(a.symbols, b.symbols) and np.array_equal(a.posterior, b.posterior)
    assert not np.array_equal(a.symbols, sample_polysemy(30, 25, seed=6).symbols)
