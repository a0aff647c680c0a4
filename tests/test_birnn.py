"""BiRNN against torch.nn and against itself (fused vs reference), lengths, merges, errors.

Also: separate stacking keeps the future out of the forward stack (section "stacking"), and
random sizes, lengths and options under hypothesis (section "hypothesis").
"""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from pirho.nn import BiRNN, BiRNNState

TORCH_CLASSES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def output_tensors(out) -> list[torch.Tensor]:
    """A layer's output as a flat list: PackedSequence → its data; a pair → both tensors."""
    if isinstance(out, PackedSequence):
        return [out.data]
    if isinstance(out, tuple):
        return [o.data if isinstance(o, PackedSequence) else o for o in out]
    return [out]


def state_tensors(state) -> list[torch.Tensor]:
    """Every tensor of a BiRNNState, forward layers then backward layers."""
    flat = []
    for per_layer in state:
        for entry in per_layer:
            flat.extend(entry if isinstance(entry, tuple) else (entry,))
    return flat


def random_loss(tensors: list[torch.Tensor], seed: int = 123) -> torch.Tensor:
    """Σ_i ⟨W_i, tensor_i⟩ with fixed random W_i: every entry gets its own gradient."""
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for t in tensors:
        weights = torch.randn(t.shape, generator=generator, dtype=torch.float64)
        total = total + (t * weights.to(t.dtype)).sum()
    return total


def evaluate(module: nn.Module, x, as_torch: bool = False, call=None, **kwargs):
    """Outputs, final states and gradients (input first, then parameters by name).

    ``as_torch`` puts a BiRNN's state in torch's (h_n[, c_n]) layout, so the same loss applies
    to a BiRNN and to its torch peer. ``call(x)`` replaces ``module(x, **kwargs)`` if given.
    """
    x = x.detach().clone().requires_grad_(True)
    module.zero_grad(set_to_none=True)
    out, state = call(x) if call is not None else module(x, **kwargs)
    if isinstance(module, BiRNN):
        states = list(_as_tuple(state.torch_layout())) if as_torch else state_tensors(state)
    else:
        states = list(_as_tuple(state))
    tensors = output_tensors(out) + states
    random_loss(tensors).backward()
    grads = {"input": x.grad}
    grads.update({name: p.grad for name, p in module.named_parameters()})
    return tensors, grads


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def assert_all_close(left, right, atol: float) -> None:
    """Lists (or dicts of same keys) of tensors equal within ``atol``, absolute."""
    if isinstance(left, dict):
        assert left.keys() == right.keys()
        left, right = list(left.values()), list(right.values())
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert a.shape == b.shape
        assert (a - b).abs().max().item() <= atol, (a - b).abs().max().item()


def truncated(layer: BiRNN, depth: int) -> BiRNN:
    """The bottom ``depth`` layers of ``layer`` as a BiRNN of their own (shared values)."""
    options = {
        "cell": layer.cell,
        "merge": layer.merge,
        "stacking": layer.stacking,
        "impl": layer.impl,
        "dtype": layer.weight_ih_l0.dtype,
    }
    sizes = (layer.forward_size, layer.backward_size)
    small = BiRNN(layer.input_size, sizes, num_layers=depth, **options)
    keep = {
        name: value
        for name, value in layer.state_dict().items()
        if int(re.search(r"_l(\d+)", name).group(1)) < depth
    }
    small.load_state_dict(keep)
    return small


CELLS = ("rnn", "gru", "lstm")
F64 = torch.float64
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def torch_peer(cell: str, input_size=5, hidden=4, layers=2, seed=0, **kwargs) -> nn.RNNBase:
    torch.manual_seed(seed)
    module = TORCH_CLASSES[cell](input_size, hidden, layers, bidirectional=True, **kwargs)
    return module.to(F64)


def padded_input(steps=6, batch=3, features=5, seed=1, dtype=F64) -> torch.Tensor:
    return torch.randn(steps, batch, features, generator=torch.Generator().manual_seed(seed)).to(
        dtype
    )


# -- equality with torch ---------------------------------------------------------------------
@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", CELLS)
def test_matches_torch_outputs_states_and_gradients(cell, layers, batch_first, impl):
    module = torch_peer(cell, layers=layers, batch_first=batch_first)
    layer = BiRNN.from_torch(module, impl=impl)
    x = padded_input()
    if batch_first:
        x = x.transpose(0, 1).contiguous()
    ours, our_grads = evaluate(layer, x, as_torch=True)
    theirs, their_grads = evaluate(module, x)
    assert_all_close(ours, theirs, atol=1e-10)
    assert_all_close(our_grads, their_grads, atol=1e-10)


@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("cell", CELLS)
def test_matches_torch_in_float32(cell, impl):
    module = torch_peer(cell).float()
    layer = BiRNN.from_torch(module, impl=impl)
    x = padded_input(dtype=torch.float32)
    ours, our_grads = evaluate(layer, x, as_torch=True)
    theirs, their_grads = evaluate(module, x)
    assert_all_close(ours, theirs, atol=1e-5)
    assert_all_close(our_grads, their_grads, atol=1e-5)


@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("cell", CELLS)
def test_lengths_match_torch_on_pack_padded_sequence(cell, layers, impl):
    module = torch_peer(cell, layers=layers)
    layer = BiRNN.from_torch(module, impl=impl)
    x = padded_input(steps=7, batch=4)
    lengths = torch.tensor([3, 7, 1, 5])  # unsorted on purpose

    def torch_with_packing(inputs):
        packed = pack_padded_sequence(inputs, lengths, enforce_sorted=False)
        out, state = module(packed)
        return pad_packed_sequence(out, total_length=7)[0], state

    ours, our_grads = evaluate(layer, x, as_torch=True, lengths=lengths)
    theirs, their_grads = evaluate(module, x, call=torch_with_packing)
    assert_all_close(ours, theirs, atol=1e-10)
    assert_all_close(our_grads, their_grads, atol=1e-10)


@pytest.mark.parametrize("merge", ["concat", None])
@pytest.mark.parametrize("cell", CELLS)
def test_packed_input_gives_packed_output_like_torch(cell, merge):
    module = torch_peer(cell)
    layer = BiRNN.from_torch(module, merge=merge)
    lengths = torch.tensor([2, 6, 4])
    packed = pack_padded_sequence(padded_input(), lengths, enforce_sorted=False)
    out, state = layer(packed)
    their_out, their_state = module(packed)
    if merge is None:  # the pair splits torch's concatenated features
        assert all(isinstance(o, PackedSequence) for o in out)
        out_data = torch.cat([o.data for o in out], dim=-1)
        assert torch.equal(out[0].batch_sizes, their_out.batch_sizes)
    else:
        assert isinstance(out, PackedSequence)
        assert torch.equal(out.sorted_indices, their_out.sorted_indices)
        out_data = out.data
    assert_all_close([out_data], [their_out.data], atol=1e-12)
    assert_all_close(list(_as_tuple(state.torch_layout())), list(_as_tuple(their_state)), 1e-12)


@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("cell", CELLS)
def test_initial_state_matches_torch_h0(cell, impl):
    module = torch_peer(cell)
    layer = BiRNN.from_torch(module, impl=impl)
    generator = torch.Generator().manual_seed(5)
    h0 = torch.randn(4, 3, 4, generator=generator, dtype=F64)
    hx = (h0, torch.randn(4, 3, 4, generator=generator, dtype=F64)) if cell == "lstm" else h0
    x = padded_input()
    out, state = layer(x, state=BiRNNState.from_torch_layout(hx))
    their_out, their_state = module(x, hx)
    assert_all_close([out], [their_out], atol=1e-10)
    assert_all_close(list(_as_tuple(state.torch_layout())), list(_as_tuple(their_state)), 1e-10)


@pytest.mark.parametrize("cell", CELLS)
def test_to_torch_round_trip_keeps_outputs(cell):
    layer = BiRNN(5, 4, num_layers=2, cell=cell, batch_first=True, dtype=F64)
    module = layer.to_torch()
    assert module.bidirectional and module.batch_first and module.num_layers == 2
    x = padded_input().transpose(0, 1)
    assert torch.equal(module(x)[0], layer(x)[0])
    again = BiRNN.from_torch(module)
    for name, value in layer.state_dict().items():
        assert torch.equal(again.state_dict()[name], value)


def test_relu_rnn_matches_torch():
    torch.manual_seed(0)
    module = nn.RNN(5, 4, 2, nonlinearity="relu", bidirectional=True).to(F64)
    x = padded_input()
    for impl in ("fused", "reference"):
        layer = BiRNN.from_torch(module, impl=impl)
        assert layer.nonlinearity == "relu"
        ours, our_grads = evaluate(layer, x, as_torch=True)
        theirs, their_grads = evaluate(module, x)
        assert_all_close(ours, theirs, atol=1e-10)
        assert_all_close(our_grads, their_grads, atol=1e-10)


# -- fused vs reference ----------------------------------------------------------------------
def _fused_vs_reference(layer: BiRNN, x, seed=None, **kwargs):
    results = []
    for impl in ("fused", "reference"):
        layer.impl = impl
        if seed is not None:
            torch.manual_seed(seed)
        results.append(evaluate(layer, x, **kwargs))
    (fused, fused_grads), (ref, ref_grads) = results
    tol = TOL[x.dtype]
    assert_all_close(fused, ref, atol=tol)
    assert_all_close(fused_grads, ref_grads, atol=tol)
    return fused


_SIZES = {"sym": 4, "asym": (5, 3)}


# asymmetric sizes with every merge that allows them; sum/mean/mul need equal sizes
_MERGE_SIZES = [(m, "sym") for m in ("concat", "sum", "mean", "mul", None)] + [
    ("concat", "asym"),
    (None, "asym"),
]


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize(("merge", "sizes"), _MERGE_SIZES)
@pytest.mark.parametrize("stacking", ["joint", "separate"])
@pytest.mark.parametrize("cell", CELLS)
def test_fused_and_reference_agree_for_every_merge_stacking_and_size(
    cell, stacking, merge, sizes, dtype
):
    torch.manual_seed(0)
    layer = BiRNN(5, _SIZES[sizes], 2, cell=cell, merge=merge, stacking=stacking, dtype=dtype)
    x = padded_input(dtype=dtype)
    _fused_vs_reference(layer, x)
    _fused_vs_reference(layer, x, lengths=torch.tensor([6, 2, 4]))


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize(
    "option",
    [
        {"batch_first": True},
        {"bias": False},
        {"num_layers": 3},
        {"cell": "rnn", "nonlinearity": "relu"},
        {"dropout": 0.5},
        {"dropout": 0.5, "stacking": "separate"},
        {"dropout": 0.5, "hidden_size": (5, 3)},
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
@pytest.mark.parametrize("cell", CELLS)
def test_fused_and_reference_agree_for_each_option(cell, option, dtype):
    kwargs = {"hidden_size": 4, "num_layers": 2, "cell": cell, **option}
    torch.manual_seed(0)
    layer = BiRNN(5, dtype=dtype, **kwargs)
    x = padded_input(dtype=dtype)
    if layer.batch_first:
        x = x.transpose(0, 1)
    # dropout masks are drawn in the same order by both impls: same seed, same masks
    out = _fused_vs_reference(layer, x, seed=11, lengths=torch.tensor([6, 2, 4]))
    if layer.dropout:
        layer.eval()
        eval_out, _ = layer(x, lengths=torch.tensor([6, 2, 4]))
        assert not torch.allclose(out[0], eval_out)  # dropout was really applied in training
        layer.train()


@pytest.mark.parametrize("cell", CELLS)
def test_fused_and_reference_agree_from_an_initial_state(cell):
    torch.manual_seed(0)
    layer = BiRNN(5, (4, 2), 2, cell=cell, stacking="separate", dtype=F64)
    generator = torch.Generator().manual_seed(3)

    def entry(size):
        h = torch.randn(3, size, generator=generator, dtype=F64)
        return (h, torch.randn(3, size, generator=generator, dtype=F64)) if cell == "lstm" else h

    state = BiRNNState([entry(4), entry(4)], [entry(2), entry(2)])
    _fused_vs_reference(layer, padded_input(), state=state, lengths=[6, 1, 3])


# -- shapes and merges -----------------------------------------------------------------------
@pytest.mark.parametrize("stacking", ["joint", "separate"])
@pytest.mark.parametrize("cell", CELLS)
def test_asymmetric_sizes_give_forward_plus_backward_features(cell, stacking):
    layer = BiRNN(5, (6, 2), num_layers=2, cell=cell, stacking=stacking, dtype=F64)
    out, state = layer(padded_input())
    assert layer.output_size == 8 and out.shape == (6, 3, 8)
    (forward_out, backward_out), _ = BiRNN(5, (6, 2), cell=cell, merge=None)(padded_input().float())
    assert forward_out.shape == (6, 3, 6) and backward_out.shape == (6, 3, 2)
    for k in range(2):
        h_f = state.forward[k][0] if cell == "lstm" else state.forward[k]
        h_b = state.backward[k][0] if cell == "lstm" else state.backward[k]
        assert h_f.shape == (3, 6) and h_b.shape == (3, 2)
    # the top layer's final states are the outputs at the two ends
    assert torch.equal(out[-1, :, :6], h_f) and torch.equal(out[0, :, 6:], h_b)


@pytest.mark.parametrize("merge", ["sum", "mean", "mul"])
def test_merges_needing_equal_sizes_are_rejected_at_construction(merge):
    with pytest.raises(ValueError, match=f"merge='{merge}' needs equal hidden sizes.*5.*3"):
        BiRNN(4, (5, 3), merge=merge)


@pytest.mark.parametrize("cell", CELLS)
def test_merges_combine_the_two_directions(cell):
    torch.manual_seed(0)
    layer = BiRNN(5, 4, 2, cell=cell, merge=None, dtype=F64)
    x, lengths = padded_input(), torch.tensor([6, 3, 1])
    (forward_out, backward_out), _ = layer(x, lengths=lengths)
    expected = {
        "concat": torch.cat([forward_out, backward_out], -1),
        "sum": forward_out + backward_out,
        "mean": (forward_out + backward_out) / 2,
        "mul": forward_out * backward_out,
    }
    for merge, value in expected.items():
        layer.merge = merge
        assert layer.output_size == value.shape[-1]
        assert torch.allclose(layer(x, lengths=lengths)[0], value, atol=1e-15)


# -- lengths -----------------------------------------------------------------------------------
@pytest.mark.parametrize("stacking", ["joint", "separate"])
@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("cell", CELLS)
def test_each_padded_sequence_equals_running_it_alone(cell, impl, stacking):
    """Padding outputs 0, and the backward direction starts at each sequence's last real step."""
    torch.manual_seed(0)
    layer = BiRNN(5, (4, 3), 2, cell=cell, stacking=stacking, impl=impl, dtype=F64)
    x, lengths = padded_input(steps=7, batch=3), [4, 7, 2]
    out, state = layer(x, lengths=torch.tensor(lengths))
    for b, n in enumerate(lengths):
        alone, alone_state = layer(x[:n, b : b + 1])
        assert torch.allclose(out[:n, b], alone[:, 0], atol=1e-12)
        assert torch.all(out[n:, b] == 0)
        for ours, theirs in zip(state_tensors(state), state_tensors(alone_state), strict=True):
            assert torch.allclose(ours[b], theirs[0], atol=1e-12)


@pytest.mark.parametrize("impl", ["fused", "reference"])
def test_unsorted_lengths_are_a_batch_permutation(impl):
    torch.manual_seed(0)
    layer = BiRNN(5, (4, 3), 2, cell="lstm", stacking="separate", impl=impl, dtype=F64)
    x, lengths = padded_input(batch=4), torch.tensor([2, 6, 1, 4])
    order = torch.tensor([1, 3, 0, 2])  # sorts lengths descending
    out, state = layer(x, lengths=lengths)
    sorted_out, sorted_state = layer(x[:, order], lengths=lengths[order])
    assert torch.allclose(out[:, order], sorted_out, atol=1e-12)
    for a, b in zip(state_tensors(state), state_tensors(sorted_state), strict=True):
        assert torch.allclose(a[order], b, atol=1e-12)


def test_full_lengths_equal_no_lengths():
    layer = BiRNN(5, 4, 2, cell="gru", dtype=F64)
    x = padded_input()
    out, state = layer(x, lengths=[6, 6, 6])
    assert torch.equal(out, layer(x)[0])


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cell": "transformer"}, ValueError, "cell='transformer' is not one of"),
        ({"merge": "max"}, ValueError, "merge='max' is not one of"),
        ({"stacking": "interleaved"}, ValueError, "stacking='interleaved' is not one of"),
        ({"impl": "cuda"}, ValueError, "impl='cuda' is not one of"),
        ({"nonlinearity": "gelu"}, ValueError, "nonlinearity='gelu' is not one of"),
        ({"cell": "gru", "nonlinearity": "relu"}, ValueError, "applies only to cell='rnn'"),
        ({"hidden_size": 0}, ValueError, "hidden_size must be >= 1, got 0"),
        ({"hidden_size": (4, 3, 2)}, ValueError, r"\(forward_size, backward_size\)"),
        ({"hidden_size": (4, -1)}, ValueError, r"backward_size.*-1"),
        ({"num_layers": 0}, ValueError, "num_layers must be >= 1, got 0"),
        ({"dropout": 1.5}, ValueError, "dropout must be a probability"),
        ({"merge": "mul", "hidden_size": (4, 2)}, ValueError, "needs equal hidden sizes"),
    ],
)
def test_bad_construction_is_a_clear_error(kwargs, error, message):
    options = {"input_size": 3, "hidden_size": 4, **kwargs}
    with pytest.raises(error, match=message):
        BiRNN(**options)


def test_impl_and_merge_can_only_be_switched_to_valid_values():
    layer = BiRNN(3, 4)
    layer.impl = "reference"
    with pytest.raises(ValueError, match="impl='fast' is not one of"):
        layer.impl = "fast"
    asymmetric = BiRNN(3, (4, 2))
    asymmetric.merge = None
    with pytest.raises(ValueError, match="merge='sum' needs equal hidden sizes"):
        asymmetric.merge = "sum"
    assert asymmetric.merge is None and asymmetric.output_size == (4, 2)


@pytest.mark.parametrize(
    ("x", "kwargs", "error", "message"),
    [
        (torch.randn(6, 5), {}, ValueError, r"expected input \(T, B, I\) with 3 dims.*\(6, 5\)"),
        (torch.randn(2, 6, 3, 5), {}, ValueError, "with 3 dims, got shape"),
        (torch.randn(6, 3, 7), {}, ValueError, "7 features in its last dim, expected input_size=5"),
        (torch.ones(6, 3, 5, dtype=torch.int64), {}, TypeError, "floating-point"),
        ([[1.0]], {}, TypeError, "must be a torch.Tensor"),
        (torch.randn(6, 3, 5), {"lengths": [6, 6]}, ValueError, r"shape \(2,\), expected \(3,\)"),
        (torch.randn(6, 3, 5), {"lengths": [6, 0, 2]}, ValueError, r"lengths\[1\] = 0 is outside"),
        (torch.randn(6, 3, 5), {"lengths": [6, 7, 2]}, ValueError, r"lengths\[1\] = 7.*T = 6"),
        (torch.randn(6, 3, 5), {"lengths": [6.0, 1.0, 2.0]}, TypeError, "integers"),
        (torch.randn(6, 3, 5), {"state": (torch.zeros(3, 4),)}, TypeError, "BiRNNState"),
        (
            torch.randn(6, 3, 5, dtype=torch.float64),
            {},
            TypeError,
            r"dtype torch.float64, but this layer's parameters are torch.float32",
        ),
        (torch.randn(6, 3, 5), {"lengths": "abc"}, TypeError, "lengths must be .* got str 'abc'"),
        (torch.randn(6, 3, 5), {"lengths": [6, "a", 2]}, TypeError, "lengths must be a list"),
        (
            torch.randn(6, 3, 5),
            {"state": torch.zeros(2, 3, 4)},
            TypeError,
            r"not torch's h_0 .*BiRNNState.from_torch_layout",
        ),
    ],
)
def test_bad_input_is_a_clear_error(x, kwargs, error, message):
    with pytest.raises(error, match=message):
        BiRNN(5, 4)(x, **kwargs)


def test_torch_lstm_state_tuple_is_refused_naming_birnnstate():
    lstm = nn.LSTM(5, 4, bidirectional=True)
    x = torch.randn(6, 3, 5)
    _, torch_state = lstm(x)
    layer = BiRNN.from_torch(lstm)
    with pytest.raises(TypeError, match=r"not torch's h_0 / \(h_0, c_0\).*from_torch_layout"):
        layer(x, state=torch_state)
    out, _ = layer(x, state=BiRNNState.from_torch_layout(torch_state))
    assert torch.allclose(out, lstm(x, torch_state)[0], atol=1e-6)


def test_bad_initial_state_names_the_entry():
    layer = BiRNN(5, (4, 2), num_layers=2, cell="gru")
    good = [torch.zeros(3, 4)] * 2
    with pytest.raises(ValueError, match=r"state.backward\[1\] has shape \(3, 4\), expected"):
        layer(torch.randn(6, 3, 5), state=BiRNNState(good, [torch.zeros(3, 2), torch.zeros(3, 4)]))
    with pytest.raises(ValueError, match="state.forward has 1 layers, expected 2"):
        layer(torch.randn(6, 3, 5), state=BiRNNState(good[:1], good))


def test_packed_input_with_lengths_is_an_error():
    packed = pack_padded_sequence(torch.randn(6, 2, 5), [6, 3], enforce_sorted=False)
    with pytest.raises(ValueError, match="not both"):
        BiRNN(5, 4)(packed, lengths=[6, 3])


def test_from_torch_rejects_unidirectional_and_foreign_modules():
    with pytest.raises(ValueError, match=r"bidirectional module, got LSTM\(\.\.\., bidir"):
        BiRNN.from_torch(nn.LSTM(3, 4))
    with pytest.raises(TypeError, match="needs an nn.RNN, nn.GRU or nn.LSTM"):
        BiRNN.from_torch(nn.Linear(3, 4))
    with pytest.raises(ValueError, match="proj_size=2"):
        BiRNN.from_torch(nn.LSTM(3, 4, proj_size=2, bidirectional=True))
    with pytest.raises(TypeError, match="hidden_size"):
        BiRNN.from_torch(nn.GRU(3, 4, bidirectional=True), hidden_size=(4, 2))
    with pytest.raises(ValueError, match="stacking='separate' cannot hold it"):
        BiRNN.from_torch(nn.GRU(3, 4, 2, bidirectional=True), stacking="separate")


def test_to_torch_needs_equal_sizes_and_joint_stacking():
    with pytest.raises(ValueError, match="forward_size=4, backward_size=2"):
        BiRNN(3, (4, 2)).to_torch()
    with pytest.raises(ValueError, match="stacks jointly"):
        BiRNN(3, 4, num_layers=2, stacking="separate").to_torch()
    assert isinstance(BiRNN(3, 4, stacking="separate").to_torch(), nn.LSTM)  # one layer: same


def test_parameters_carry_torch_names_and_shapes():
    layer = BiRNN(5, (6, 2), num_layers=2, cell="gru")
    shapes = {name: tuple(p.shape) for name, p in layer.named_parameters()}
    assert shapes["weight_ih_l0"] == (18, 5) and shapes["weight_hh_l0_reverse"] == (6, 2)
    assert shapes["weight_ih_l1"] == (18, 8) and shapes["weight_ih_l1_reverse"] == (6, 8)
    separate = BiRNN(5, (6, 2), num_layers=2, cell="gru", stacking="separate")
    assert separate.weight_ih_l1.shape == (18, 6) and separate.weight_ih_l1_reverse.shape == (6, 2)
    assert list(shapes) == [
        name for name, _ in nn.GRU(5, 6, 2, bidirectional=True).named_parameters()
    ]


@pytest.mark.parametrize("module_name", ["pirho.nn.birnn", "pirho.nn.cells"])
def test_docstring_examples_run(module_name):
    import doctest
    import importlib

    module = importlib.import_module(module_name)
    result = doctest.testmod(module, extraglobs={"torch": torch, "nn": nn})
    assert result.attempted > 5 and result.failed == 0


# -- stacking -----------------------------------------------------------------------------
# Separate stacking keeps the future out of the forward stack; joint stacking does not.
#
# A bidirectional language model predicts x_{t+1} from the forward state at t and x_{t-1} from
# the backward state at t. That is honest only if the forward output at t depends on x_1..x_t
# alone, at every depth. Perturbing one input x_{t'} therefore must leave every forward output
# at t < t' (and every backward output at t > t') unchanged, in every layer.

STEPS, PERTURBED = 7, 3


def direction_outputs(layer: BiRNN, x: torch.Tensor, lengths=None):
    """(forward_out, backward_out) of every depth 1..L: (L, 2) list of (T, B, H) tensors."""
    per_depth = []
    for depth in range(1, layer.num_layers + 1):
        small = truncated(layer, depth)
        small.merge = None
        per_depth.append(small(x, lengths=lengths)[0])
    return per_depth


def perturbed(x: torch.Tensor) -> torch.Tensor:
    bumped = x.clone()
    bumped[PERTURBED] += 1.0
    return bumped


@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("cell", CELLS)
def test_separate_stacking_never_leaks_the_future_into_the_forward_stack(cell, impl):
    torch.manual_seed(0)
    layer = BiRNN(5, (4, 3), num_layers=3, cell=cell, stacking="separate", impl=impl, dtype=F64)
    x = padded_input(steps=STEPS)
    before = direction_outputs(layer, x)
    after = direction_outputs(layer, perturbed(x))
    for (fwd, bwd), (fwd2, bwd2) in zip(before, after, strict=True):
        assert torch.equal(fwd[:PERTURBED], fwd2[:PERTURBED])  # t < t': untouched, bit for bit
        assert torch.equal(bwd[PERTURBED + 1 :], bwd2[PERTURBED + 1 :])  # t > t'
        # ...while the perturbation does reach each direction from t' on
        assert (fwd[PERTURBED:] - fwd2[PERTURBED:]).abs().amin(dim=(1, 2)).gt(0).all()
        assert (bwd[: PERTURBED + 1] - bwd2[: PERTURBED + 1]).abs().amin(dim=(1, 2)).gt(0).all()


@pytest.mark.parametrize("cell", CELLS)
def test_separate_stacking_is_leak_free_with_lengths(cell):
    torch.manual_seed(0)
    layer = BiRNN(5, 4, num_layers=2, cell=cell, stacking="separate", dtype=F64)
    x, lengths = padded_input(steps=STEPS), torch.tensor([7, 5, 6])
    for (fwd, bwd), (fwd2, bwd2) in zip(
        direction_outputs(layer, x, lengths),
        direction_outputs(layer, perturbed(x), lengths),
        strict=True,
    ):
        assert torch.equal(fwd[:PERTURBED], fwd2[:PERTURBED])
        assert torch.equal(bwd[PERTURBED + 1 :], bwd2[PERTURBED + 1 :])


@pytest.mark.parametrize("cell", CELLS)
def test_joint_stacking_leaks_the_future_from_the_second_layer_on(cell):
    """Why a joint deep BiRNN cannot be a language model.

    In joint stacking the forward cell of layer 2 reads [H→_t ; H←_t] of layer 1, and H←_t of
    layer 1 has read x_T..x_t. So layer 2's forward output at t < t' already depends on x_{t'}:
    trained to predict x_{t+1}, it would simply read x_{t+1} off the backward half of its input.
    Layer 1 alone is still causal; the leak appears as soon as layers stack jointly.
    """
    torch.manual_seed(0)
    layer = BiRNN(5, 4, num_layers=3, cell=cell, stacking="joint", dtype=F64)
    x = padded_input(steps=STEPS)
    before = direction_outputs(layer, x)
    after = direction_outputs(layer, perturbed(x))
    (fwd1, bwd1), (fwd1b, bwd1b) = before[0], after[0]
    assert torch.equal(fwd1[:PERTURBED], fwd1b[:PERTURBED])  # one layer: no leak yet
    assert torch.equal(bwd1[PERTURBED + 1 :], bwd1b[PERTURBED + 1 :])
    for depth in (1, 2):  # layers 2 and 3
        (fwd, bwd), (fwd2, bwd2) = before[depth], after[depth]
        forward_leak = (fwd[:PERTURBED] - fwd2[:PERTURBED]).abs().amax(dim=(1, 2))
        backward_leak = (bwd[PERTURBED + 1 :] - bwd2[PERTURBED + 1 :]).abs().amax(dim=(1, 2))
        assert (forward_leak > 1e-6).all()  # every earlier step sees x_{t'}
        assert (backward_leak > 1e-6).all()  # and every later step, in the backward stack


# -- hypothesis ---------------------------------------------------------------------------
# Random sizes, lengths and options: fused = reference, and both = torch where torch can.


@st.composite
def configurations(draw):
    cell = draw(st.sampled_from(["rnn", "gru", "lstm"]))
    forward_size = draw(st.integers(1, 6))
    backward_size = draw(st.one_of(st.just(forward_size), st.integers(1, 6)))
    merges = ["concat", None] + (["sum", "mean", "mul"] if forward_size == backward_size else [])
    steps, batch = draw(st.integers(1, 7)), draw(st.integers(1, 4))
    return {
        "layer": {
            "input_size": draw(st.integers(1, 5)),
            "hidden_size": (forward_size, backward_size),
            "num_layers": draw(st.integers(1, 3)),
            "cell": cell,
            "merge": draw(st.sampled_from(merges)),
            "stacking": draw(st.sampled_from(["joint", "separate"])),
            "batch_first": draw(st.booleans()),
            "bias": draw(st.booleans()),
            "nonlinearity": draw(st.sampled_from(["tanh", "relu"])) if cell == "rnn" else "tanh",
        },
        "steps": steps,
        "batch": batch,
        "lengths": draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch)),
        "seed": draw(st.integers(0, 2**16)),
    }


def _input(config, layer):
    generator = torch.Generator().manual_seed(config["seed"])
    x = torch.randn(config["steps"], config["batch"], layer.input_size, generator=generator)
    x = x.to(torch.float64)
    return x.transpose(0, 1) if layer.batch_first else x


@settings(max_examples=30)
@given(configurations())
def test_fused_equals_reference_for_random_configurations(config):
    torch.manual_seed(config["seed"])
    layer = BiRNN(dtype=torch.float64, **config["layer"])
    x, lengths = _input(config, layer), torch.tensor(config["lengths"])
    fused, fused_grads = evaluate(layer, x, lengths=lengths)
    layer.impl = "reference"
    ref, ref_grads = evaluate(layer, x, lengths=lengths)
    assert_all_close(fused, ref, atol=1e-10)
    assert_all_close(fused_grads, ref_grads, atol=1e-10)


@settings(max_examples=20)
@given(configurations())
def test_matches_torch_on_packed_sequences_for_random_configurations(config):
    options = config["layer"]
    size = options["hidden_size"][0]
    torch.manual_seed(config["seed"])
    kind = TORCH_CLASSES[options["cell"]]
    extra = {"nonlinearity": options["nonlinearity"]} if options["cell"] == "rnn" else {}
    module = kind(
        options["input_size"],
        size,
        options["num_layers"],
        bias=options["bias"],
        batch_first=options["batch_first"],
        bidirectional=True,
        **extra,
    ).to(torch.float64)
    lengths = torch.tensor(config["lengths"])
    impl = "reference" if config["seed"] % 2 else "fused"
    layer = BiRNN.from_torch(module, impl=impl)
    x = _input(config, layer)

    def torch_with_packing(inputs):
        packed = pack_padded_sequence(
            inputs, lengths, batch_first=module.batch_first, enforce_sorted=False
        )
        out, state = module(packed)
        return pad_packed_sequence(out, module.batch_first, total_length=config["steps"])[0], state

    ours, our_grads = evaluate(layer, x, as_torch=True, lengths=lengths)
    theirs, their_grads = evaluate(module, x, call=torch_with_packing)
    assert_all_close(ours, theirs, atol=1e-10)
    assert_all_close(our_grads, their_grads, atol=1e-10)
