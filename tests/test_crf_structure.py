"""LinearChainCRF's full structure — pairwise marginals, entropy, partial-annotation likelihood
and posterior samples — against brute-force enumeration of all K^T paths, plus the input rules
for non-finite emissions, impossible constraints and n-best's k."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2
from test_crf import brute_force, random_crf

from pirho.nn import LinearChainCRF, crf_ops

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def enumerate_posterior(crf, emissions, length):
    """(log Z, [(probability, path)]) of one sequence by brute force; [] when log Z = −inf."""
    scored = brute_force(crf, emissions[:length], length)
    log_z = np.logaddexp.reduce(np.array([s for s, _ in scored]))
    if not np.isfinite(log_z):
        return log_z, []
    return log_z, [(math.exp(s - log_z), path) for s, path in scored if s > -math.inf]


def random_partial(paths, n_tags, length, n_steps, gen):
    """Tags (T,) with −1 at unlabelled steps: labels copied from a random path (consistent with
    the constraints) or drawn uniformly (may be inconsistent), each step labelled w.p. 1/2."""
    if paths and torch.rand((), generator=gen) < 0.7:
        source = list(paths[int(torch.randint(len(paths), (), generator=gen))][1])
    else:
        source = torch.randint(n_tags, (length,), generator=gen).tolist()
    labelled = (torch.rand(length, generator=gen) < 0.5).tolist()
    tags = [tag if keep else -1 for tag, keep in zip(source, labelled, strict=True)]
    return tags + [-1] * (n_steps - length)


# -- exactness against brute force ------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    n_tags=st.integers(1, 3),
    lengths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    forbid=st.sampled_from([0.0, 0.4]),
    minus_inf=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_pairwise_entropy_and_partial_likelihood_match_brute_force(
    n_tags, lengths, forbid, minus_inf, seed
):
    crf = random_crf(n_tags, seed, forbid)
    n_steps, batch = max(lengths), len(lengths)
    gen = torch.Generator().manual_seed(seed + 1)
    emissions = torch.randn(n_steps, batch, n_tags, generator=gen, dtype=torch.float64)
    if minus_inf:  # structural zeros in the emissions: legitimate −inf scores
        emissions[torch.rand(emissions.shape, generator=gen) < 0.15] = -math.inf
    lens = torch.tensor(lengths)
    with torch.no_grad():
        pairs = crf.pairwise_marginals(emissions, lens)
        marginals = crf.marginals(emissions, lens)
        entropy = crf.entropy(emissions, lens)
    assert pairs.shape == (n_steps - 1, batch, n_tags, n_tags)
    partial = torch.full((n_steps, batch), -1)
    expected_partial = []
    for b, length in enumerate(lengths):
        log_z, posterior = enumerate_posterior(crf, emissions[:, b], length)
        expected_pairs = np.zeros((n_steps - 1, n_tags, n_tags))
        for p, path in posterior:
            for t in range(1, length):
                expected_pairs[t - 1, path[t - 1], path[t]] += p
        np.testing.assert_allclose(pairs[:, b].numpy(), expected_pairs, rtol=0, atol=1e-10)
        expected_h = -sum(p * math.log(p) for p, _ in posterior if p > 0)
        assert entropy[b].item() == pytest.approx(expected_h, abs=1e-10)
        # pairwise marginals sum to the unary ones on both sides
        if length > 1:
            np.testing.assert_allclose(pairs[: length - 1, b].sum(-1), marginals[: length - 1, b])
            np.testing.assert_allclose(pairs[: length - 1, b].sum(-2), marginals[1:length, b])
        tags = random_partial(posterior, n_tags, length, n_steps, gen)
        partial[:, b] = torch.tensor(tags)
        consistent = [
            p
            for p, path in posterior
            if all(y in (-1, z) for y, z in zip(tags[:length], path, strict=True))
        ]
        expected_partial.append(math.log(sum(consistent)) if consistent else -math.inf)
        if not posterior:
            assert entropy[b].item() == 0.0 and pairs[:, b].abs().sum().item() == 0.0
    impossible = [
        b
        for b, length in enumerate(lengths)
        if not np.isfinite(enumerate_posterior(crf, emissions[:, b], length)[0])
    ]
    if impossible:
        with pytest.raises(ValueError, match=f"sequence {impossible[0]} has no possible"):
            crf.log_likelihood(emissions, partial, lens)
        return
    got = crf.log_likelihood(emissions, partial, lens, reduction="none")
    for b, expected in enumerate(expected_partial):
        if expected == -math.inf:
            assert got[b].item() == -math.inf
        else:
            assert got[b].item() == pytest.approx(expected, abs=1e-10)


def test_partial_likelihood_limits_all_labelled_and_all_unlabelled():
    crf = random_crf(3, seed=4, forbid=0.3)
    em = torch.randn(6, 4, 3, dtype=torch.float64)
    lens = torch.tensor([6, 5, 2, 1])
    tags = crf.decode(em, lens)[0]  # possible paths, −1 at padding only
    full = crf.log_likelihood(em, tags, lens, reduction="none")
    # every step labelled: the ordinary log-likelihood, computed by the same path as before
    assert torch.equal(full, crf.log_likelihood(em, tags.clamp(min=0), lens, reduction="none"))
    # every step unlabelled: log 1 = 0 exactly
    none = crf.log_likelihood(em, torch.full_like(tags, -1), lens, reduction="none")
    assert none.tolist() == [0.0, 0.0, 0.0, 0.0]
    # one sequence partial, the others full: the full ones keep their ordinary value
    mixed = tags.clone()
    mixed[1, 0] = -1
    got = crf.log_likelihood(em, mixed, lens, reduction="none")
    assert torch.equal(got[1:], full[1:]) and got[0] >= full[0]
    # batch_first sees the same numbers
    bf = LinearChainCRF(
        3,
        batch_first=True,
        allowed=crf.allowed,
        allowed_start=crf.allowed_start,
        allowed_end=crf.allowed_end,
    ).double()
    bf.load_state_dict(crf.state_dict())
    torch.testing.assert_close(
        bf.log_likelihood(em.transpose(0, 1), mixed.T, lens, reduction="none"), got
    )


def test_partial_likelihood_trains_from_partly_labelled_sentences():
    """Tags alternate 0, 1, 0, … (from a random first tag) and each step is labelled with
    probability 1/2. Maximising the partial likelihood alone learns the alternation, and the
    trained CRF fills in every unlabelled step of the training sentences correctly."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    n_steps, batch = 6, 64
    first = torch.randint(2, (batch,), generator=gen)
    truth = (first[None, :] + torch.arange(n_steps)[:, None]) % 2  # (T, B)
    labelled = torch.rand(n_steps, batch, generator=gen) < 0.5
    tags = torch.where(labelled, truth, -1)
    em = torch.zeros(n_steps, batch, 2, dtype=torch.float64)
    crf = LinearChainCRF(2).double()
    opt = torch.optim.Adam(crf.parameters(), lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        (-crf.log_likelihood(em, tags, reduction="mean")).backward()
        opt.step()
    assert crf.transitions[0, 1] > crf.transitions[0, 0] + 3
    assert crf.transitions[1, 0] > crf.transitions[1, 1] + 3
    # fill in the gaps: the most likely path consistent with each sentence's labels
    constrained = em.masked_fill(
        labelled[..., None] & (torch.arange(2) != truth[..., None]), -math.inf
    )
    filled = crf.decode(constrained)[0]
    assert torch.equal(filled[:, labelled.any(0)], truth[:, labelled.any(0)])


# -- gradients ---------------------------------------------------------------------------------


def _gradcheck_inputs():
    """A constrained CRF (the first seed whose constraints allow paths of every length used)
    with float64 emissions and lengths 4, 2, 1."""
    lens = torch.tensor([4, 2, 1])
    for seed in range(100):  # pragma: no branch
        crf = random_crf(3, seed=seed, forbid=0.3)
        gen = torch.Generator().manual_seed(seed)
        em = torch.randn(4, 3, 3, generator=gen, dtype=torch.float64)
        if bool(torch.isfinite(crf.log_partition(em, lens)).all()) and not crf.allowed.all():
            break
    params = [p.detach().clone().requires_grad_(True) for p in crf.parameters()]
    return crf, em.requires_grad_(True), lens, params


def _with_parameters(crf, fn):
    """fn(crf, em) as a function of (em, start, end, trans), for gradcheck."""

    def call(em, start, end, trans):
        crf_copy = LinearChainCRF(
            crf.num_tags,
            allowed=crf.allowed,
            allowed_start=crf.allowed_start,
            allowed_end=crf.allowed_end,
        ).double()
        del crf_copy.start_transitions, crf_copy.end_transitions, crf_copy.transitions
        crf_copy.start_transitions, crf_copy.end_transitions = start, end
        crf_copy.transitions = trans
        return fn(crf_copy, em)

    return call


@pytest.mark.parametrize("method", ["entropy", "pairwise_marginals", "partial"])
def test_gradcheck_with_forbidden_transitions_and_variable_lengths(method):
    crf, em, lens, params = _gradcheck_inputs()
    partial = crf.decode(em.detach(), lens)[0]
    partial[1, 0] = partial[2, 1] = -1
    partial[0, 0] = -1
    fns = {
        "entropy": lambda c, e: c.entropy(e, lens),
        "pairwise_marginals": lambda c, e: c.pairwise_marginals(e, lens),
        "partial": lambda c, e: c.log_likelihood(e, partial, lens, reduction="none"),
    }
    named = dict(zip(["start_transitions", "end_transitions", "transitions"], params, strict=True))
    call = _with_parameters(crf, fns[method])
    assert torch.autograd.gradcheck(
        call, (em, named["start_transitions"], named["end_transitions"], named["transitions"])
    )
    out = call(em, *params)
    assert torch.isfinite(out).all()


def test_entropy_gradient_has_no_nan_with_minus_inf_emissions():
    crf = random_crf(3, seed=7, forbid=0.3)
    em = torch.randn(5, 2, 3, dtype=torch.float64)
    em[1, :, 0] = -math.inf
    em = em.requires_grad_(True)
    (crf.entropy(em, [5, 3]).sum() + crf.pairwise_marginals(em, [5, 3]).pow(2).sum()).backward()
    assert torch.isfinite(em.grad).all()
    assert torch.isfinite(crf.transitions.grad).all()


def test_entropy_is_stable_where_log_z_minus_expected_score_is_not():
    """A nearly deterministic posterior with log Z ~ 10^4: float32 entropy keeps its relative
    precision; log Z − E[score] in float32 loses it (the reason for the chain-rule form)."""
    torch.manual_seed(0)
    crf = LinearChainCRF(4).double()
    best = torch.randint(4, (300, 2))
    em = torch.randn(300, 2, 4, dtype=torch.float64) + 20.0 * torch.nn.functional.one_hot(best, 4)
    h64 = crf.entropy(em)
    h32 = crf.float().entropy(em.float()).double()
    assert (h64 > 0).all() and (h64 < 1e-2).all()
    torch.testing.assert_close(h32, h64, rtol=1e-3, atol=0)
    crf32 = crf.float()
    m = crf32.marginals(em.float())
    pairs = crf32.pairwise_marginals(em.float())
    start, end, trans = crf32._potentials(torch.float32)
    expected_score = (
        (m * em.float()).sum((0, 2))
        + (m[0] * start).sum(-1)
        + (m[-1] * end).sum(-1)
        + (pairs * trans).sum((0, 2, 3))
    )
    naive = (crf32.log_partition(em.float()) - expected_score).double()
    assert ((naive - h64).abs() / h64).max() > 10 * ((h32 - h64).abs() / h64).max()


# -- sampling ----------------------------------------------------------------------------------


def _chi_square_p(samples, posterior):
    """p-value of Pearson's chi-square test of sampled paths (n, length) against the exact
    path probabilities; paths with expected count < 5 are pooled into one cell."""
    n = samples.shape[0]
    counts = {}
    for row in map(tuple, samples.tolist()):
        counts[row] = counts.get(row, 0) + 1
    observed, expected, pooled_o, pooled_e = [], [], 0, 0.0
    for p, path in posterior:
        if n * p >= 5:
            observed.append(counts.pop(path, 0))
            expected.append(n * p)
        else:
            pooled_o += counts.pop(path, 0)
            pooled_e += n * p
    assert not counts, f"sampled impossible paths: {list(counts)[:3]}"
    if pooled_e > 0:
        observed.append(pooled_o)
        expected.append(pooled_e)
    o, e = np.array(observed, dtype=float), np.array(expected)
    stat = ((o - e) ** 2 / e).sum()
    return chi2.sf(stat, df=len(o) - 1)


def _sharp_crf(seed=11, forbid=0.25):
    """A CRF with strong (and constrained) transitions: paths far from independent steps."""
    crf = random_crf(3, seed=seed, forbid=forbid)
    with torch.no_grad():
        crf.transitions.mul_(2.5)
    return crf


def _independent_marginal_sampler(crf, em, lens, n, gen):
    """The bug the test must catch: each y_t drawn from P(y_t | x) on its own."""
    m = crf.marginals(em, lens)  # (T, B, K)
    draws = torch.multinomial(
        m.reshape(-1, m.shape[-1]).clamp_min(0) + 1e-300, n, replacement=True, generator=gen
    )
    paths = draws.reshape(m.shape[0], m.shape[1], n).permute(2, 0, 1)
    return paths.masked_fill(~crf_ops.valid_steps(lens, m.shape[0])[None], -1)


def _filter_only_sampler(crf, em, lens, n, gen):
    """The other classic bug: y_{t−1} ∝ π_{t−1}, ignoring trans[·, y_t] (only y_T correct)."""
    start, end, trans = crf._potentials(em.dtype)
    log_alpha = crf_ops.log_forward(start, trans, em)
    flat = torch.where(torch.isfinite(trans), 0.0, -math.inf).to(em.dtype)
    return crf_ops.sample_paths(log_alpha, end, flat, lens, n, gen)


def _ffbs_row_by_row(crf, em, lens, n, gen):
    """FFBS building each sample's row of K logits (the path sample() takes for n ≤ K)."""
    start, end, trans = crf._potentials(em.dtype)
    log_alpha = crf_ops.log_forward(start, trans, em)
    return crf_ops.sample_paths(log_alpha, end, trans, lens, n, gen, by_table=False)


SAMPLERS = {
    "ffbs": lambda crf, em, lens, n, gen: crf.sample(em, n, lens, generator=gen),
    "ffbs row by row": _ffbs_row_by_row,
    "independent marginals": _independent_marginal_sampler,
    "filter only": _filter_only_sampler,
}


@pytest.mark.parametrize("forbid", [0.0, 0.25])
@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_sample_frequencies_match_brute_force_and_the_test_rejects_wrong_samplers(sampler, forbid):
    """Without constraints every path is possible, so a wrong sampler is rejected by the
    chi-square statistic itself (p ~ 1e-100 for independent marginals), not by drawing a
    forbidden path."""
    crf = _sharp_crf(forbid=forbid)
    em = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    lens = torch.tensor([4, 3])
    n = 20_000
    gen = torch.Generator().manual_seed(2024)
    samples = SAMPLERS[sampler](crf, em, lens, n, gen)
    assert samples.shape == (n, 4, 2)
    p_values = []
    for b, length in enumerate(lens.tolist()):
        _, posterior = enumerate_posterior(crf, em[:, b], length)
        assert (samples[:, length:, b] == -1).all()
        try:
            p_values.append(_chi_square_p(samples[:, :length, b], posterior))
        except AssertionError:  # a wrong sampler may even draw impossible paths
            assert forbid > 0
            p_values.append(0.0)
    if sampler.startswith("ffbs"):
        assert min(p_values) > 1e-3, p_values
    else:  # the same test, at the same seed, rejects the sampler
        assert min(p_values) < 1e-6, p_values


def test_sample_mean_converges_to_the_marginals_and_respects_constraints():
    crf = _sharp_crf(seed=3)
    em = torch.randn(7, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    em[2, 1, 1] = -math.inf
    lens = torch.tensor([7, 5, 1])
    n = 20_000
    samples = crf.sample(em, n, lens, seed=0)
    one_hot = torch.nn.functional.one_hot(samples.clamp(min=0), 3).double()
    one_hot = one_hot * (samples >= 0)[..., None]
    freq = one_hot.mean(0)
    marginals = crf.marginals(em, lens)
    sd = (marginals * (1 - marginals) / n).sqrt()
    assert ((freq - marginals).abs() <= 5 * sd + 1e-12).all()
    assert (samples[:, 2, 1] != 1).all()
    steps = samples[:, :-1], samples[:, 1:]
    real = (steps[0] >= 0) & (steps[1] >= 0)
    assert crf.allowed[steps[0][real], steps[1][real]].all()
    assert crf.allowed_start[samples[:, 0]].all()
    last = samples.gather(1, (lens - 1).view(1, 1, -1).expand(n, 1, -1))[:, 0]
    assert crf.allowed_end[last].all()


def test_sample_shapes_seeds_and_impossible_sequences():
    crf = random_crf(3, seed=2, forbid=0.2)
    em = torch.randn(5, 2, 3, dtype=torch.float64)
    a = crf.sample(em, 8, [5, 2], seed=1)
    b = crf.sample(em, 8, [5, 2], generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (8, 5, 2)
    assert not torch.equal(a, crf.sample(em, 8, [5, 2], seed=2))
    bf = LinearChainCRF(
        3,
        batch_first=True,
        allowed=crf.allowed,
        allowed_start=crf.allowed_start,
        allowed_end=crf.allowed_end,
    ).double()
    bf.load_state_dict(crf.state_dict())
    c = bf.sample(em.transpose(0, 1), 8, [5, 2], seed=1)
    assert c.shape == (8, 2, 5) and torch.equal(c, a.transpose(1, 2))
    impossible = em.clone()
    impossible[0, 1, :] = -math.inf
    assert (crf.sample(impossible, 4, seed=0)[:, :, 1] == -1).all()
    with pytest.raises(ValueError, match="seed or generator"):
        crf.sample(em, 2, seed=1, generator=torch.Generator())
    with pytest.raises(ValueError, match="n"):
        crf.sample(em, 0)
    with pytest.raises(TypeError, match="seed"):
        crf.sample(em, 2, seed=1.5)
    with pytest.raises(ValueError, match=r"n = 10000000000 sampled paths .* GiB"):
        crf.sample(em, 10**10)
    one_step = crf.sample(em[:1], 3, seed=0)
    assert one_step.shape == (3, 1, 2) and crf.allowed_start[one_step].all()
    assert crf.pairwise_marginals(em[:1]).shape == (0, 2, 3, 3)
    torch.testing.assert_close(crf.entropy(em[:1]), _entropy_of(crf.marginals(em[:1])[0]))


def _entropy_of(probs):
    return -(probs * probs.clamp_min(1e-300).log()).sum(-1)


def test_sample_float32_falls_back_to_log_space_and_stays_exact():
    """Padding-like −1e4 scores defeat the scaled float32 forward pass; samples still follow
    the posterior (the sequences are resampled from log-space messages)."""
    crf = _sharp_crf(seed=5).float()
    em = torch.randn(3, 1, 3, generator=torch.Generator().manual_seed(9))
    em[1, 0, 2] = -1e4
    with torch.no_grad():
        start, _, trans = crf._potentials(torch.float32)
        fwd, _, _ = crf_ops.scaled_forward(start, trans, em, torch.tensor([3]))
    assert not fwd.exact.all()
    _, posterior = enumerate_posterior(crf.double(), em.double()[:, 0], 3)
    samples = crf.float().sample(em, 20_000, seed=3)[:, :, 0]
    assert _chi_square_p(samples, posterior) > 1e-3


# -- issue 22: non-finite emissions, impossible constraints, k -----------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf])
@pytest.mark.parametrize(
    "method",
    [
        "log_partition",
        "marginals",
        "decode",
        "decode_k",
        "log_likelihood",
        "pairwise_marginals",
        "entropy",
        "sample",
    ],
)
@pytest.mark.parametrize("batch_first", [False, True])
def test_nan_or_plus_inf_emissions_raise_naming_the_position(value, method, batch_first):
    crf = LinearChainCRF(3, batch_first=batch_first)
    em = torch.randn(4, 2, 3)
    em[2, 1, 0] = value
    if batch_first:
        em = em.transpose(0, 1).contiguous()
    tags = torch.zeros(em.shape[:2], dtype=torch.long)
    calls = {
        "log_partition": lambda: crf.log_partition(em),
        "marginals": lambda: crf.marginals(em),
        "decode": lambda: crf.decode(em),
        "decode_k": lambda: crf.decode(em, k=3),
        "log_likelihood": lambda: crf.log_likelihood(em, tags),
        "pairwise_marginals": lambda: crf.pairwise_marginals(em),
        "entropy": lambda: crf.entropy(em),
        "sample": lambda: crf.sample(em, 2),
    }
    where = r"emissions\[1, 2, 0\]" if batch_first else r"emissions\[2, 1, 0\]"
    with pytest.raises(ValueError, match=where + r" \(step 2 of sequence 1, tag 0\)"):
        calls[method]()


@pytest.mark.parametrize("name", ["start_transitions", "end_transitions", "transitions"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nan_or_plus_inf_parameters_raise_naming_the_parameter(name, value):
    crf = LinearChainCRF(3)
    with torch.no_grad():
        getattr(crf, name).view(-1)[1] = value
    index = "[0, 1]" if name == "transitions" else "[1]"
    for call in (
        lambda: crf.marginals(torch.randn(4, 2, 3)),
        lambda: crf.decode(torch.randn(4, 2, 3)),
        lambda: crf.sample(torch.randn(4, 2, 3), 2),
    ):
        with pytest.raises(ValueError, match=re.escape(f"{name}{index}")):
            call()
    # at a forbidden entry the value is never used
    forbidden = torch.ones(3, 3, dtype=torch.bool)
    forbidden[0, 1] = False
    masked = LinearChainCRF(3, allowed=forbidden)
    with torch.no_grad():
        masked.transitions[0, 1] = value
    assert torch.isfinite(masked.log_partition(torch.randn(4, 2, 3))).all()


def test_non_finite_padding_is_ignored_and_minus_inf_is_a_forbidden_score():
    crf = random_crf(3, seed=1, forbid=0.2)
    em = torch.randn(4, 2, 3, dtype=torch.float64)
    em[1, 0, 2] = -math.inf  # legitimate: tag 2 impossible at step 1
    lens = torch.tensor([4, 2])
    padded = em.clone()
    padded[2:, 1] = torch.tensor([math.nan, math.inf, -math.inf])
    tags = torch.zeros(4, 2, dtype=torch.long)
    for fn in (
        lambda e: crf.log_partition(e, lens),
        lambda e: crf.marginals(e, lens),
        lambda e: crf.decode(e, lens)[0],
        lambda e: crf.entropy(e, lens),
        lambda e: crf.pairwise_marginals(e, lens),
        lambda e: crf.log_likelihood(e, tags, lens, reduction="none"),
    ):
        torch.testing.assert_close(fn(padded), fn(em))
    grad = padded.clone().requires_grad_(True)
    crf.log_likelihood(grad, tags, lens).backward()
    assert torch.isfinite(grad.grad).all() and (grad.grad[2:, 1] == 0).all()
    assert crf.marginals(em, lens)[1, 0, 2].item() == 0.0
    assert (crf.decode(em, lens)[0][1, 0] != 2).all()


def test_overflowing_but_finite_emissions_are_accepted():
    crf = LinearChainCRF(2)
    em = torch.full((3, 1, 2), 3e38)  # the float32 sum overflows to +inf; every entry is finite
    assert torch.isfinite(crf.marginals(em)).all()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"allowed_start": [False, False, False]}, "allowed_start is all False"),
        ({"allowed_end": [False, False, False]}, "allowed_end is all False"),
        (
            {
                "allowed": [[True, False, False], [False, True, False], [False, False, True]],
                "allowed_start": [True, False, False],
                "allowed_end": [False, True, True],
            },
            r"no complete tag path: the tags reachable from the allowed first tags \[0\] are "
            r"\[0\], and none is an allowed last tag \[1, 2\]",
        ),
        (
            {
                "allowed": [[False, True, False], [False, False, False], [False, False, True]],
                "allowed_start": [True, False, False],
                "allowed_end": [False, False, True],
            },
            "no complete tag path",
        ),
    ],
)
def test_constraints_without_any_complete_path_fail_at_construction(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        LinearChainCRF(3, **kwargs)


def test_constraints_with_a_path_are_accepted_even_if_some_lengths_are_impossible():
    # 0 → 1 → (nothing): only length-2 paths; length 3 has log Z = −inf, no NaN anywhere
    crf = LinearChainCRF(
        2,
        allowed=[[False, True], [False, False]],
        allowed_start=[True, False],
        allowed_end=[False, True],
    ).double()
    torch.nn.init.zeros_(crf.transitions)
    torch.nn.init.zeros_(crf.start_transitions)
    torch.nn.init.zeros_(crf.end_transitions)
    em = torch.zeros(3, 2, 2, dtype=torch.float64)
    lens = torch.tensor([2, 3])
    assert crf.log_partition(em, lens).tolist() == [0.0, -math.inf]
    assert crf.entropy(em, lens).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="sequence 1 has no possible tag path"):
        crf.log_likelihood(em, torch.zeros(3, 2, dtype=torch.long), lens)


def test_decode_k_is_capped_at_the_number_of_possible_paths():
    crf = random_crf(3, seed=8, forbid=0.3)
    em = torch.randn(4, 2, 3, dtype=torch.float64)
    lens = torch.tensor([4, 3])
    tags, scores = crf.decode(em, lens, k=10**6)
    n_possible = [
        sum(s > -math.inf for s, _ in brute_force(crf, em[:length, b], length))
        for b, length in enumerate(lens.tolist())
    ]
    assert tags.shape[0] == scores.shape[0] == max(n_possible)
    for b, count in enumerate(n_possible):
        assert torch.isfinite(scores[:count, b]).all() and (scores[count:, b] == -math.inf).all()
        assert len({tuple(tags[r, :, b].tolist()) for r in range(count)}) == count
    full = LinearChainCRF(3)
    assert full.decode(torch.randn(3, 1, 3), k=10**6)[0].shape == (27, 3, 1)  # K^T
    assert crf_ops.count_paths(*crf._potentials(torch.float64), em, lens, cap=5).tolist() == [
        min(5, c) for c in n_possible
    ]


def test_decode_k_too_large_for_memory_is_refused_before_any_work():
    crf = LinearChainCRF(5)
    em = torch.randn(40, 1, 5)  # 5^40 paths
    with pytest.raises(ValueError, match=r"k = 1000000000 best paths .* GiB"):
        crf.decode(em, k=10**9)
    with pytest.raises(TypeError, match="k"):
        crf.decode(em, k=2.0)


def test_every_path_by_enumeration_of_k_best_equals_sampling_support():
    """decode(k=all) lists exactly the paths sample() can draw (a cross-check of both)."""
    crf = _sharp_crf(seed=1)
    em = torch.randn(3, 1, 3, dtype=torch.float64)
    tags, scores = crf.decode(em, k=10**3)
    support = {tuple(tags[r, :, 0].tolist()) for r in range(tags.shape[0])}
    drawn = {tuple(p) for p in crf.sample(em, 5000, seed=0)[:, :, 0].tolist()}
    assert drawn <= support
    everything = {
        p
        for p in itertools.product(range(3), repeat=3)
        if crf.allowed_start[p[0]]
        and crf.allowed_end[p[-1]]
        and all(crf.allowed[a, b] for a, b in zip(p[:-1], p[1:], strict=True))
    }
    assert support == everything


def test_sampling_by_table_and_row_by_row_draw_the_same_paths():
    crf = random_crf(4, seed=6, forbid=0.3)
    em = torch.randn(6, 3, 4, dtype=torch.float64)
    lens = torch.tensor([6, 4, 1])
    start, end, trans = crf._potentials(em.dtype)
    with torch.no_grad():
        log_alpha = crf_ops.log_forward(start, trans, em)
        log_alpha = log_alpha - log_alpha.amax(-1, keepdim=True)
        draws = [
            crf_ops.sample_paths(
                log_alpha, end, trans, lens, 50, torch.Generator().manual_seed(0), by_table
            )
            for by_table in (True, False)
        ]
    assert torch.equal(draws[0], draws[1])
