"""LinearChainCRF against independent references: pirho.hmm, brute force over all K^T paths,
pytorch-crf 0.7.2 and the log-space recursion."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pirho.data.synthetic import random_hmm
from pirho.hmm import CategoricalHMM
from pirho.nn import LinearChainCRF, bio_constraints, crf_ops, hmm_emissions
from pirho.nn.crf import _LogPartition

torchcrf = pytest.importorskip("torchcrf")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def random_crf(n_tags: int, seed: int, forbid: float = 0.0, dtype=torch.float64):
    """A CRF with N(0, 1) parameters and a random fraction `forbid` of forbidden transitions
    (every tag keeps at least one successor, start and end tags at least one allowed)."""
    gen = torch.Generator().manual_seed(seed)
    allowed = torch.rand(n_tags, n_tags, generator=gen) >= forbid
    allowed[torch.arange(n_tags), torch.randint(0, n_tags, (n_tags,), generator=gen)] = True
    allowed_start = torch.rand(n_tags, generator=gen) >= forbid
    allowed_start[0] = True
    allowed_end = torch.rand(n_tags, generator=gen) >= forbid
    allowed_end[-1] = True
    allowed_end[0] = True  # the length-1 path "0" exists, so some complete path does
    crf = LinearChainCRF(
        n_tags, allowed=allowed, allowed_start=allowed_start, allowed_end=allowed_end
    ).to(dtype)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype))
    return crf


def brute_force(crf: LinearChainCRF, emissions: torch.Tensor, length: int):
    """Every path of one sequence (emissions (T, K)) with its score, best first."""
    start, end, trans = crf._potentials(emissions.dtype)
    scored = []
    for path in itertools.product(range(crf.num_tags), repeat=length):
        s = start[path[0]] + end[path[-1]] + sum(emissions[t, k] for t, k in enumerate(path))
        s = s + sum(trans[a, b] for a, b in zip(path[:-1], path[1:], strict=True))
        scored.append((float(s.detach()), path))
    scored.sort(key=lambda item: -item[0])
    return scored


# -- against brute force ---------------------------------------------------------------------


@settings(max_examples=25)
@given(
    n_tags=st.integers(1, 3),
    lengths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    forbid=st.sampled_from([0.0, 0.4]),
    seed=st.integers(0, 10_000),
)
def test_log_z_marginals_and_nbest_match_brute_force(n_tags, lengths, forbid, seed):
    crf = random_crf(n_tags, seed, forbid)
    n_steps = max(lengths)
    gen = torch.Generator().manual_seed(seed + 1)
    emissions = torch.randn(n_steps, len(lengths), n_tags, generator=gen, dtype=torch.float64)
    lens = torch.tensor(lengths)
    log_z = crf.log_partition(emissions, lens)
    marginals = crf.marginals(emissions, lens)
    k = 5
    nbest_tags, nbest_scores = crf.decode(emissions, lens, k=k)
    best_tags, best_scores = crf.decode(emissions, lens)
    most_paths = 0
    for b, length in enumerate(lengths):
        paths = brute_force(crf, emissions[:length, b], length)
        weights = np.array([s for s, _ in paths])
        expected_log_z = np.logaddexp.reduce(weights)
        assert log_z[b].item() == pytest.approx(expected_log_z, abs=1e-10)
        expected_m = np.zeros((n_steps, n_tags))
        if np.isfinite(expected_log_z):
            for s, path in paths:
                for t, tag in enumerate(path):
                    expected_m[t, tag] += math.exp(s - expected_log_z)
        np.testing.assert_allclose(marginals[:, b].numpy(), expected_m, atol=1e-10)
        possible = [(s, p) for s, p in paths if s > -math.inf]
        most_paths = max(most_paths, len(possible))
        for rank in range(nbest_tags.shape[0]):
            got = nbest_tags[rank, :, b].tolist()
            if rank < len(possible):
                s, path = possible[rank]
                assert got == list(path) + [-1] * (n_steps - length)
                assert nbest_scores[rank, b].item() == pytest.approx(s, abs=1e-10)
            else:
                assert got == [-1] * n_steps
                assert nbest_scores[rank, b].item() == -math.inf
        assert best_tags[:, b].tolist() == nbest_tags[0, :, b].tolist()
        assert best_scores[b].item() == pytest.approx(nbest_scores[0, b].item(), abs=1e-12)
    # k is capped at the largest number of possible paths in the batch
    assert nbest_tags.shape[0] == nbest_scores.shape[0] == max(1, min(k, most_paths))


def test_nbest_paths_are_distinct_and_ordered_at_larger_sizes():
    crf = random_crf(4, seed=3, forbid=0.2)
    emissions = torch.randn(
        6, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    lens = torch.tensor([6, 4, 2])
    tags, scores = crf.decode(emissions, lens, k=20)
    for b, length in enumerate(lens.tolist()):
        paths = brute_force(crf, emissions[:length, b], length)
        possible = [(s, p) for s, p in paths if s > -math.inf][:20]
        got = [tuple(tags[r, :length, b].tolist()) for r in range(len(possible))]
        assert got == [p for _, p in possible]
        np.testing.assert_allclose(scores[: len(possible), b], [s for s, _ in possible], atol=1e-10)
        assert len(set(got)) == len(got)


# -- against pirho.hmm -------------------------------------------------------------------------


def hmm_with_zeros(seed: int) -> CategoricalHMM:
    """A random HMM with structural zeros in start, trans and emit."""
    base = random_hmm(5, 7, seed=seed, stay=0.5)
    rng = np.random.default_rng(seed)
    trans = base.trans * (rng.random((5, 5)) > 0.3)
    trans[np.arange(5), np.arange(5)] += 0.1  # keep every row alive
    emit = base.emit * (rng.random((5, 7)) > 0.3)
    emit[:, rng.integers(0, 7, 5)] += 0.05
    emit[np.arange(5), rng.integers(0, 7, 5)] += 0.05
    start = base.start.copy()
    start[[1, 3]] = 0.0
    return CategoricalHMM(
        start / start.sum(), trans / trans.sum(1, keepdims=True), emit / emit.sum(1, keepdims=True)
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_z_marginals_and_viterbi_match_hmm(seed):
    hmm = hmm_with_zeros(seed)
    crf = LinearChainCRF.from_hmm(hmm)
    assert crf.allowed.tolist() == (hmm.trans > 0).tolist()
    lengths = [40, 1, 17, 33]
    seqs = [hmm.sample(n, seed=seed * 10 + i)[1] for i, n in enumerate(lengths)]
    n_steps = max(lengths)
    # Padding holds garbage (huge values and NaN) that must never be read.
    emissions = torch.full((n_steps, len(lengths), hmm.n_states), float("nan"), dtype=torch.float64)
    for b, x in enumerate(seqs):
        emissions[: len(x), b] = hmm_emissions(hmm, x)
    emissions[-1, 1] = 1e30
    lens = torch.tensor(lengths)
    log_z = crf.log_partition(emissions, lens)
    marginals = crf.marginals(emissions, lens)
    tags, scores = crf.decode(emissions, lens)
    for b, x in enumerate(seqs):
        assert log_z[b].item() == pytest.approx(hmm.log_likelihood(x), abs=1e-10)
        np.testing.assert_allclose(marginals[: len(x), b].numpy(), hmm.posterior(x), atol=1e-10)
        assert marginals[len(x) :, b].abs().sum().item() == 0.0
        path, best = hmm.viterbi(x)
        assert tags[: len(x), b].tolist() == path.tolist()
        assert (tags[len(x) :, b] == -1).all()
        assert scores[b].item() == pytest.approx(best, abs=1e-10)


# -- against pytorch-crf -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_likelihood_decode_and_gradients_match_pytorch_crf(dtype, tol, batch_first):
    torch.manual_seed(0)
    n_steps, batch, n_tags = 9, 6, 5
    peer = torchcrf.CRF(n_tags, batch_first=batch_first).to(dtype)
    ours = LinearChainCRF(n_tags, batch_first=batch_first).to(dtype)
    with torch.no_grad():
        for p in peer.parameters():
            p.normal_()
    ours.load_state_dict(peer.state_dict(), strict=True)
    assert set(ours.state_dict()) == {"start_transitions", "end_transitions", "transitions"}
    lengths = torch.tensor([9, 1, 4, 9, 6, 2])
    mask = torch.arange(n_steps)[:, None] < lengths
    emissions = torch.randn(n_steps, batch, n_tags, dtype=dtype)
    tags = torch.randint(0, n_tags, (n_steps, batch))
    if batch_first:
        emissions, tags, mask = emissions.transpose(0, 1), tags.T, mask.T
    for reduction in ("none", "sum", "mean", "token_mean"):
        a = ours(emissions, tags, mask=mask, reduction=reduction)
        b = peer(emissions, tags, mask=mask, reduction=reduction)
        scale = max(1.0, b.abs().max().item())
        assert (a - b).abs().max().item() <= tol * scale, reduction
        assert torch.equal(a, ours(emissions, tags, lengths=lengths, reduction=reduction))
    decoded, _ = ours.decode(emissions, mask=mask)
    decoded = decoded if batch_first else decoded.T
    expected = peer.decode(emissions, mask=mask)
    assert [
        row[: len(ref)] for row, ref in zip(decoded.tolist(), expected, strict=True)
    ] == expected
    # Gradients of the summed log-likelihood wrt emissions and all parameters.
    em1 = emissions.clone().requires_grad_(True)
    em2 = emissions.clone().requires_grad_(True)
    ours(em1, tags, mask=mask).backward()
    peer(em2, tags, mask=mask).backward()
    torch.testing.assert_close(em1.grad, em2.grad, atol=tol * 10, rtol=0)
    for name in ("start_transitions", "end_transitions", "transitions"):
        g1, g2 = getattr(ours, name).grad, getattr(peer, name).grad
        torch.testing.assert_close(g1, g2, atol=tol * 10, rtol=0)


# -- gradients ---------------------------------------------------------------------------------


def test_gradient_of_log_z_is_the_marginals():
    crf = random_crf(4, seed=5, forbid=0.3)
    emissions = torch.randn(12, 3, 4, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([12, 5, 1])
    (grad,) = torch.autograd.grad(crf.log_partition(emissions, lens).sum(), emissions)
    torch.testing.assert_close(grad, crf.marginals(emissions.detach(), lens), atol=1e-12, rtol=0)


def test_gradcheck_float64_with_forbidden_transitions():
    crf = random_crf(3, seed=7, forbid=0.3)
    emissions = torch.randn(5, 3, 3, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([5, 2, 1])
    tags = crf.decode(emissions.detach(), lens)[0].clamp(min=0)  # a possible path
    weights = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda em: (crf.log_partition(em, lens) * weights).sum(), (emissions,)
    )
    assert torch.autograd.gradcheck(
        lambda em: crf.log_likelihood(em, tags, lens, reduction="none"), (emissions,)
    )

    # Parameters: the allowed entries vary, the forbidden ones stay −inf.
    def by_parameters(start, end, trans):
        with torch.no_grad():
            crf.start_transitions.copy_(start)
            crf.end_transitions.copy_(end)
            crf.transitions.copy_(trans)
        s, e, t = crf._potentials(torch.float64)
        masks = (crf.allowed_start, crf.allowed_end, crf.allowed)
        s, e, t = (
            torch.where(m, v, p)
            for m, v, p in zip(masks, (start, end, trans), (s, e, t), strict=True)
        )
        return (_LogPartition.apply(emissions.detach(), s, e, t, lens) * weights).sum()

    params = tuple(
        p.detach().clone().requires_grad_(True)
        for p in (crf.start_transitions, crf.end_transitions, crf.transitions)
    )
    assert torch.autograd.gradcheck(by_parameters, params)


# -- constraints -------------------------------------------------------------------------------


def bio_valid(path: tuple[int, ...], names: list[str]) -> bool:
    """BIO rule, written independently: I-x only right after B-x or I-x."""
    prev = "O"
    for tag in (names[i] for i in path):
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return False
        prev = tag
    return True


def test_bio_constraints_hold_in_every_method():
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    allowed, first, last = bio_constraints(names)
    crf = LinearChainCRF(5, allowed=allowed, allowed_start=first, allowed_end=last).double()
    with torch.no_grad():
        crf.transitions.normal_()
    gen = torch.Generator().manual_seed(0)
    emissions = torch.randn(4, 2, 5, generator=gen, dtype=torch.float64)
    emissions[:, :, 2] += 3.0  # the emissions favour I-PER everywhere
    lens = torch.tensor([4, 3])
    log_z = crf.log_partition(emissions, lens)
    marg = crf.marginals(emissions, lens)
    tags, _ = crf.decode(emissions, lens, k=30)
    for b, length in enumerate(lens.tolist()):
        paths = brute_force(crf, emissions[:length, b], length)
        for s, p in paths:
            assert (s > -math.inf) == bio_valid(p, names)
        assert log_z[b].item() == pytest.approx(
            np.logaddexp.reduce([s for s, _ in paths]), abs=1e-10
        )
        for r in range(30):
            path = tuple(tags[r, :length, b].tolist())
            assert -1 in path or bio_valid(path, names)
    assert marg[0, :, [2, 4]].abs().max().item() == 0.0  # no sequence starts inside a chunk
    bad = torch.tensor([[0, 0], [2, 2], [2, 2], [2, 0]])  # O then I-PER: forbidden
    llh = crf.log_likelihood(emissions, bad, lens, reduction="none")
    assert (llh == -math.inf).all()


def test_bioes_constraints():
    names = ["O", "B-X", "I-X", "E-X", "S-X"]
    allowed, first, last = bio_constraints(names, scheme="BIOES")
    ok = {
        ("O", "O"),
        ("O", "B-X"),
        ("O", "S-X"),
        ("B-X", "I-X"),
        ("B-X", "E-X"),
        ("I-X", "I-X"),
        ("I-X", "E-X"),
        ("E-X", "O"),
        ("E-X", "B-X"),
        ("E-X", "S-X"),
        ("S-X", "O"),
        ("S-X", "B-X"),
        ("S-X", "S-X"),
    }
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert bool(allowed[i, j]) == ((a, b) in ok), (a, b)
    assert first.tolist() == [True, True, False, False, True]
    assert last.tolist() == [True, False, False, True, True]


# -- numerical stability -----------------------------------------------------------------------


def test_stable_at_t_2000_with_forbidden_transitions_and_length_one():
    crf64 = random_crf(6, seed=11, forbid=0.3)
    crf32 = copy.deepcopy(crf64).float()
    emissions = 3 * torch.randn(2000, 3, 6, dtype=torch.float64)
    lens = torch.tensor([2000, 1, 1234])
    log_z64 = crf64.log_partition(emissions, lens)
    log_z32 = crf32.log_partition(emissions.float(), lens)
    reference = crf_ops.log_forward(
        *[crf64._potentials(torch.float64)[i] for i in (0, 2)], emissions
    )
    assert torch.isfinite(log_z64).all() and torch.isfinite(log_z32).all()
    end = crf64._potentials(torch.float64)[1]
    for b, n in enumerate(lens.tolist()):
        expected = torch.logsumexp(reference[n - 1, b] + end, 0)
        assert log_z64[b].item() == pytest.approx(expected.item(), rel=1e-12)
        assert log_z32[b].item() == pytest.approx(expected.item(), rel=1e-5)
    for crf, em in ((crf64, emissions), (crf32, emissions.float())):
        m = crf.marginals(em, lens)
        assert torch.isfinite(m).all()
        sums = m.sum(-1)
        valid = crf_ops.valid_steps(lens, 2000)
        torch.testing.assert_close(sums[valid], torch.ones_like(sums[valid]), atol=1e-4, rtol=0)
        em = em.clone().requires_grad_(True)
        crf.log_partition(em, lens).sum().backward()
        assert torch.isfinite(em.grad).all()


def test_wide_score_range_falls_back_to_exact_log_space():
    """float32 emissions spanning hundreds of nats: the scaled recursion could underflow, so
    those sequences go through log space and still equal the float64 result."""
    crf64 = random_crf(5, seed=2, forbid=0.4)
    crf32 = copy.deepcopy(crf64).float()
    emissions = 80 * torch.randn(30, 4, 5, dtype=torch.float64)
    lens = torch.tensor([30, 30, 7, 1])
    with torch.no_grad():
        start, _, trans = crf32._potentials(torch.float32)
        fwd, _, _ = crf_ops.scaled_forward(start, trans, emissions.float(), lens)
    assert not fwd.exact.all()  # the fallback is exercised
    z64, z32 = crf64.log_partition(emissions, lens), crf32.log_partition(emissions.float(), lens)
    torch.testing.assert_close(z32.double(), z64, rtol=1e-5, atol=1e-3)
    # log π + log ρ − log Z cancels numbers of ~10^4 nats: float32 keeps ~1e-3 of a marginal.
    m64, m32 = crf64.marginals(emissions, lens), crf32.marginals(emissions.float(), lens)
    torch.testing.assert_close(m32.double(), m64, atol=3e-3, rtol=0)
    em = emissions.float().requires_grad_(True)
    crf32.log_partition(em, lens).sum().backward()
    torch.testing.assert_close(em.grad.double(), m64, atol=3e-3, rtol=0)


def test_impossible_sequence_gives_minus_inf_without_nan():
    crf = LinearChainCRF(2, allowed=[[True, False], [False, True]]).double()
    emissions = torch.tensor([[[0.0, -math.inf]], [[-math.inf, 0.0]]], dtype=torch.float64)
    assert crf.log_partition(emissions).item() == -math.inf
    assert crf.marginals(emissions).abs().sum().item() == 0.0
    tags, score = crf.decode(emissions)
    assert tags[:, 0].tolist() == [-1, -1] and score.item() == -math.inf


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda_unchanged():
    crf = random_crf(5, seed=1, forbid=0.2)
    emissions = torch.randn(20, 4, 5, dtype=torch.float64)
    lens = torch.tensor([20, 3, 1, 11])
    tags = torch.randint(0, 5, (20, 4))
    cpu = (
        crf.log_partition(emissions, lens),
        crf.marginals(emissions, lens),
        crf.decode(emissions, lens)[0],
        crf.decode(emissions, lens, k=3)[0],
    )
    crf_cpu = copy.deepcopy(crf)
    crf_gpu = crf.cuda()  # in place: crf is on the GPU from here
    gpu = (
        crf_gpu.log_partition(emissions.cuda(), lens.cuda()),
        crf_gpu.marginals(emissions.cuda(), lens.cuda()),
        crf_gpu.decode(emissions.cuda(), lens.cuda())[0],
        crf_gpu.decode(emissions.cuda(), lens.cuda(), k=3)[0],
    )
    for a, b in zip(cpu, gpu, strict=True):
        torch.testing.assert_close(a, b.cpu())
    crf_gpu(emissions.cuda().requires_grad_(), tags.cuda(), lens.cuda()).backward()
    # the structure methods: same numbers on the GPU; samples from the GPU's generator
    partial = tags.clone()
    partial[::2] = -1
    em_gpu = emissions.cuda()
    with torch.no_grad():
        torch.testing.assert_close(
            crf_cpu.pairwise_marginals(emissions, lens),
            crf_gpu.pairwise_marginals(em_gpu, lens.cuda()).cpu(),
        )
        torch.testing.assert_close(
            crf_cpu.entropy(emissions, lens), crf_gpu.entropy(em_gpu, lens.cuda()).cpu()
        )
        torch.testing.assert_close(
            crf_cpu.log_likelihood(emissions, partial, lens, reduction="none"),
            crf_gpu.log_likelihood(em_gpu, partial.cuda(), lens.cuda(), reduction="none").cpu(),
        )
    n = 20_000
    for by_table_n in (3, n):  # row by row and by table
        samples = crf_gpu.sample(em_gpu, by_table_n, lens.cuda(), seed=0).cpu()
        assert samples.shape == (by_table_n, 20, 4)
    samples = crf_gpu.sample(em_gpu, n, lens.cuda(), seed=0).cpu()
    freq = torch.nn.functional.one_hot(samples.clamp(min=0), 5).double()
    freq = (freq * (samples >= 0)[..., None]).mean(0)
    torch.testing.assert_close(freq, cpu[1], atol=0.02, rtol=0)


# -- bad input ---------------------------------------------------------------------------------


def _bad_cases():
    crf = LinearChainCRF(3)
    em = torch.zeros(4, 2, 3)
    tags = torch.zeros(4, 2, dtype=torch.long)
    return [
        (lambda: LinearChainCRF(0), ValueError, "num_tags"),
        (lambda: LinearChainCRF(2.5), TypeError, "num_tags"),
        (lambda: LinearChainCRF(3, batch_first=1), TypeError, "batch_first"),
        (
            lambda: LinearChainCRF(3, allowed=torch.ones(2, 2, dtype=torch.bool)),
            ValueError,
            "allowed",
        ),
        (lambda: LinearChainCRF(3, allowed=torch.ones(3, 3)), TypeError, "allowed"),
        (lambda: LinearChainCRF(3, allowed_start=[True, False]), ValueError, "allowed_start"),
        (lambda: crf.log_partition(em.numpy()), TypeError, "emissions"),
        (lambda: crf.log_partition(em.long()), TypeError, "emissions"),
        (lambda: crf.log_partition(em[0]), ValueError, "emissions"),
        (lambda: crf.log_partition(torch.zeros(4, 2, 5)), ValueError, "num_tags"),
        (lambda: crf.log_partition(torch.zeros(0, 2, 3)), ValueError, "emissions"),
        (lambda: crf.log_partition(em, lengths=[4, 5]), ValueError, "lengths"),
        (lambda: crf.log_partition(em, lengths=[0, 4]), ValueError, "lengths"),
        (lambda: crf.log_partition(em, lengths=[4]), ValueError, "lengths"),
        (lambda: crf.log_partition(em, lengths=torch.tensor([4.0, 2.0])), TypeError, "lengths"),
        (lambda: crf.log_partition(em, lengths=[4, 2.5]), TypeError, "lengths"),
        (
            lambda: crf.log_partition(em, lengths=[4, 2], mask=torch.ones(4, 2).bool()),
            ValueError,
            "lengths or mask",
        ),
        (
            lambda: crf.log_partition(
                em, mask=torch.tensor([[1, 1], [0, 1], [1, 1], [0, 0]]).bool()
            ),
            ValueError,
            "prefix",
        ),
        (lambda: crf.log_partition(em, mask=torch.zeros(4, 2).bool()), ValueError, "mask"),
        (lambda: crf.log_partition(em, mask=torch.ones(2, 4).bool()), ValueError, "mask"),
        (lambda: crf.log_partition(em, mask=torch.ones(4, 2)), TypeError, "mask"),
        (lambda: crf.log_likelihood(em, tags + 3), ValueError, "tags"),
        (lambda: crf.log_likelihood(em, tags - 2), ValueError, "tags"),
        (lambda: crf.log_likelihood(em, tags[:3]), ValueError, "tags"),
        (lambda: crf.log_likelihood(em, tags.float()), TypeError, "tags"),
        (lambda: crf.log_likelihood(em, tags, reduction="avg"), ValueError, "reduction"),
        (lambda: crf.decode(em, k=0), ValueError, "k"),
        (lambda: crf.decode(em, k=1.0), TypeError, "k"),
        (lambda: bio_constraints(["O", "X-PER"]), ValueError, "tag_names"),
        (lambda: bio_constraints(["O", "E-PER"], scheme="BIO"), ValueError, "tag_names"),
        (lambda: bio_constraints(["O"], scheme="IOB2"), ValueError, "scheme"),
        (lambda: hmm_emissions(random_hmm(2, 3), [0, 3]), ValueError, "x"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_cases())))
def test_bad_input_raises_naming_the_argument(case):
    call, error, fragment = _bad_cases()[case]
    with pytest.raises(error, match=fragment):
        call()


def test_tags_at_padding_are_ignored():
    crf = random_crf(3, seed=0)
    em = torch.randn(4, 2, 3, dtype=torch.float64)
    tags = torch.tensor([[0, 1], [1, -1], [2, -1], [0, -1]])
    lens = torch.tensor([4, 1])
    a = crf.log_likelihood(em, tags, lens, reduction="none")
    b = crf.log_likelihood(em, tags.clamp(min=0), lens, reduction="none")
    assert torch.equal(a, b)


@pytest.mark.parametrize("spread", [0.1, 5.0])
@pytest.mark.parametrize("n_tags", [40, 94])
def test_viterbi_over_many_tags_matches_pytorch_crf(spread, n_tags):
    """Both Viterbi forms (the compiled CPU loop behind decode, and the torch form used on
    other devices) give pytorch-crf's paths, with narrow and with wide transition scores."""
    torch.manual_seed(1)
    n_steps, batch = 12, 5
    peer = torchcrf.CRF(n_tags).double()
    with torch.no_grad():
        peer.transitions.uniform_(-spread, spread)
    ours = LinearChainCRF(n_tags).double()
    ours.load_state_dict(peer.state_dict(), strict=True)
    emissions = torch.randn(n_steps, batch, n_tags, dtype=torch.float64)
    lengths = torch.tensor([12, 1, 7, 12, 3])
    mask = torch.arange(n_steps)[:, None] < lengths
    expected = peer.decode(emissions, mask=mask)
    potentials = [p.detach() for p in ours._potentials(torch.float64)]
    for tags, scores in (
        ours.decode(emissions, lengths),
        crf_ops.viterbi(*potentials, emissions, lengths),
    ):
        assert [row[:n] for row, n in zip(tags.T.tolist(), lengths.tolist(), strict=True)] == (
            expected
        )
        best = crf_ops.path_score(*potentials, emissions, tags.clamp(min=0), lengths)
        torch.testing.assert_close(scores, best, atol=1e-10, rtol=0)


@settings(max_examples=30, deadline=None)
@given(
    n_tags=st.sampled_from([1, 2, 5, 17, 33, 94]),
    lengths=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    forbid=st.sampled_from([0.0, 0.5, 0.95]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 10_000),
)
def test_compiled_viterbi_equals_the_torch_form(n_tags, lengths, forbid, dtype, seed):
    """The compiled CPU loop and the torch recursion agree on paths (including −1 where a
    sequence has no possible path) and scores, over random sizes, constraints and dtypes."""
    crf = random_crf(n_tags, seed, forbid, dtype=dtype)
    gen = torch.Generator().manual_seed(seed + 1)
    n_steps = max(lengths)
    emissions = torch.randn(n_steps, len(lengths), n_tags, generator=gen, dtype=dtype)
    if len(lengths) > 1:
        emissions[0, 1] = -math.inf  # sequence 1 has no possible path
    potentials = [p.detach() for p in crf._potentials(dtype)]
    lens = torch.tensor(lengths)
    tags, scores = crf_ops.compiled_viterbi(*potentials, emissions, lens)
    torch_tags, torch_scores = crf_ops.viterbi(*potentials, emissions, lens)
    assert tags.dtype == torch.long and scores.dtype == dtype
    assert torch.equal(tags, torch_tags)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(scores, torch_scores, atol=tol, rtol=tol)
    if len(lengths) > 1:
        assert tags[:, 1].tolist() == [-1] * n_steps and scores[1].item() == -math.inf


def test_compiled_viterbi_breaks_ties_to_the_lower_tag():
    """All scores equal: every path ties, and the lowest tag is taken at every step."""
    tags, scores = crf_ops.compiled_viterbi(
        torch.zeros(4), torch.zeros(4), torch.zeros(4, 4), torch.zeros(3, 2, 4),
        torch.tensor([3, 2]),
    )  # fmt: skip
    assert tags.T.tolist() == [[0, 0, 0], [0, 0, -1]] and scores.tolist() == [0.0, 0.0]


def test_viterbi_over_many_tags_matches_hmm_with_structural_zeros():
    base = random_hmm(40, 30, seed=4, stay=0.3)
    rng = np.random.default_rng(4)
    trans = base.trans * (rng.random((40, 40)) > 0.5)
    trans[np.arange(40), np.arange(40)] += 0.05
    hmm = CategoricalHMM(base.start, trans / trans.sum(1, keepdims=True), base.emit)
    crf = LinearChainCRF.from_hmm(hmm)
    seqs = [hmm.sample(n, seed=i)[1] for i, n in enumerate([25, 9, 1])]
    emissions = torch.zeros(25, 3, 40, dtype=torch.float64)
    for b, x in enumerate(seqs):
        emissions[: len(x), b] = hmm_emissions(hmm, x)
    tags, scores = crf.decode(emissions, [len(x) for x in seqs])
    for b, x in enumerate(seqs):
        path, best = hmm.viterbi(x)
        assert tags[: len(x), b].tolist() == path.tolist()
        assert scores[b].item() == pytest.approx(best, abs=1e-10)
