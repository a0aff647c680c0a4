"""Separate stacking keeps the future out of the forward stack; joint stacking does not.

A bidirectional language model predicts x_{t+1} from the forward state at t and x_{t-1} from
the backward state at t. That is honest only if the forward output at t depends on x_1..x_t
alone, at every depth. Perturbing one input x_{t'} therefore must leave every forward output
at t < t' (and every backward output at t > t') unchanged, in every layer.
"""

from __future__ import annotations

import pytest
import torch
from test_birnn import CELLS, F64, padded_input, truncated

from pirho.nn import BiRNN

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
