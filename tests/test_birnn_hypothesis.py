"""Random sizes, lengths and options: fused = reference, and both = torch where torch can."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_birnn import TORCH_CLASSES, assert_all_close, evaluate
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from pirho.nn import BiRNN


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
