"""``BiRNN``: a bidirectional RNN/GRU/LSTM layer with what ``torch.nn`` lacks.

The seed's layer: H→_t = φ(X_t W_xh^(f) + H→_{t−1} W_hh^(f) + b^(f)), H←_t the same recursion
run from the end with its own parameters, and H_t = [H→_t ; H←_t]. On top of torch's
``nn.LSTM(bidirectional=True)`` this layer offers

- a different hidden size per direction (``hidden_size=(h_f, h_b)``);
- merges other than concatenation (``"sum"``, ``"mean"``, ``"mul"``) or none at all;
- ``stacking="separate"``: each direction stacks on its own outputs only, so no information
  about x_{t'} reaches the forward stack before t' (what a bidirectional language model needs;
  torch's stacking, ``"joint"``, leaks it from layer 2 on — torch issue #4930);
- ``lengths=``: padded positions output 0 and the backward direction starts at each
  sequence's own last real step, without the user packing anything;
- two implementations over the same parameters: ``impl="fused"`` (torch's kernels) and
  ``impl="reference"`` (the cells of :mod:`pirho.nn.cells`, step by step).

Parameters carry torch's names (``weight_ih_l0``, ``weight_hh_l0_reverse``, …) so
``BiRNN.from_torch`` / ``to_torch`` are plain copies.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from pirho._checks import check_choice, check_positive_int
from pirho.nn.cells import GATES, CellState, parameter_name, run_direction
from pirho.precision import fp32_recurrence

CELLS = ("rnn", "gru", "lstm")
MERGES = ("concat", "sum", "mean", "mul", None)
STACKINGS = ("joint", "separate")
IMPLS = ("fused", "reference")
NONLINEARITIES = ("tanh", "relu")
_WEIGHT_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class BiRNNState(NamedTuple):
    """Final recurrent states of a :class:`BiRNN`, per direction and per layer.

    Each field is a list over layers (index 0 = the layer that reads the input); an entry is
    h (B, H_dir) for ``cell="rnn"``/``"gru"`` and a tuple (h, c) of two (B, H_dir) for
    ``"lstm"``. With ``lengths`` the entry of sequence b is taken at its own ends.

    forward:  H→ at t = length_b − 1 — the seed's forward summary of x_1..x_T.
    backward: H← at t = 0 — the backward summary of x_1..x_T, read from the end.

    The same structure is accepted as the initial state: ``layer(x, state=...)``.
    """

    forward: list[CellState]
    backward: list[CellState]

    def torch_layout(self) -> Tensor | tuple[Tensor, Tensor]:
        """The states as torch returns them: h_n (2·L, B, H), or (h_n, c_n) for an LSTM.

        Rows are ordered layer 0 forward, layer 0 backward, layer 1 forward, …; needs
        equal sizes in both directions.

        >>> layer = BiRNN(3, 4, num_layers=2, cell="gru")
        >>> _, state = layer(torch.randn(5, 2, 3))
        >>> tuple(state.torch_layout().shape)
        (4, 2, 4)
        """
        rows = [s for pair in zip(self.forward, self.backward, strict=True) for s in pair]
        sizes = {(r[0] if isinstance(r, tuple) else r).shape[-1] for r in rows}
        if len(sizes) != 1:
            raise ValueError(f"torch_layout needs equal hidden sizes per direction, got {sizes}")
        if isinstance(rows[0], tuple):
            return torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows])
        return torch.stack(rows)

    @classmethod
    def from_torch_layout(cls, hx: Tensor | tuple[Tensor, Tensor]) -> BiRNNState:
        """Inverse of :meth:`torch_layout`: h_0 (2·L, B, H) or (h_0, c_0) → ``BiRNNState``.

        >>> state = BiRNNState.from_torch_layout(torch.zeros(4, 2, 3))
        >>> len(state.forward), tuple(state.backward[1].shape)
        (2, (2, 3))
        """
        if isinstance(hx, tuple):
            h, c = hx
            rows = [(h[i], c[i]) for i in range(h.shape[0])]
        else:
            rows = [hx[i] for i in range(hx.shape[0])]
        return cls(forward=rows[0::2], backward=rows[1::2])


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence of a padded batch inside its own length; padding stays put.

    x (T, B, ...), lengths (B,) int64 → (T, B, ...) with x'[t, b] = x[len_b − 1 − t, b] for
    t < len_b, else x[t, b]. Its own inverse.

    >>> x = torch.arange(4.0).reshape(4, 1, 1).repeat(1, 2, 1)
    >>> reverse_within_lengths(x, torch.tensor([4, 2]))[:, :, 0].T.tolist()
    [[3.0, 2.0, 1.0, 0.0], [1.0, 0.0, 2.0, 3.0]]
    """
    steps = torch.arange(x.shape[0], device=x.device).unsqueeze(1)
    lens = lengths.to(x.device).unsqueeze(0)
    index = torch.where(steps < lens, lens - 1 - steps, steps)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


class BiRNN(nn.Module):
    """Bidirectional RNN/GRU/LSTM with per-direction sizes, merges, separate stacks, lengths.

    Args:
        input_size: features I of each input step.
        hidden_size: H, or ``(forward_size, backward_size)``.
        num_layers: stacked layers L.
        cell: ``"rnn"`` | ``"gru"`` | ``"lstm"`` (gates and parameters as in torch).
        merge: how the two directions' top-layer outputs combine: ``"concat"`` (H_t =
            [H→_t ; H←_t]), ``"sum"``, ``"mean"``, ``"mul"`` (equal sizes only) or ``None``
            (return ``(forward_out, backward_out)``).
        stacking: ``"joint"`` — layer l+1 reads both directions of layer l (torch); or
            ``"separate"`` — each direction reads only its own stack, so the forward outputs at
            t never depend on x_{t'>t}, at any depth.
        dropout: dropout on each layer's output except the last (training mode only).
        batch_first: inputs and outputs are (B, T, ·) instead of (T, B, ·).
        bias: learn b_ih and b_hh.
        nonlinearity: ``"tanh"`` or ``"relu"`` (``cell="rnn"`` only).
        impl: ``"fused"`` (torch's kernels) or ``"reference"`` (step-by-step cells); same
            parameters, same results; switchable any time (``layer.impl = "reference"``).

    Shapes (time-first; swap T and B with ``batch_first``):
        x (T, B, I), or a ``PackedSequence``; ``lengths`` (B,) ints in [1, T], any order.
        output (T, B, ``output_size``), a ``PackedSequence`` for a packed input, or
        ``(forward_out (T, B, H_f), backward_out (T, B, H_b))`` with ``merge=None``.
        state: :class:`BiRNNState`.

    Parameters per layer k: ``weight_ih_l{k}`` (G·H_f, I_k), ``weight_hh_l{k}`` (G·H_f, H_f),
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G·H_f,), and the same with ``_reverse`` and H_b, where
    G = 1/3/4 for rnn/gru/lstm and I_k = I for k = 0, else H_f + H_b (joint) or H_dir
    (separate). Initialised like torch: U(−1/√H_dir, 1/√H_dir).

    >>> layer = BiRNN(28, (256, 128), num_layers=2, cell="lstm")
    >>> out, state = layer(torch.randn(35, 32, 28))
    >>> tuple(out.shape), layer.output_size, tuple(state.backward[1][0].shape)
    ((35, 32, 384), 384, (32, 128))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int | tuple[int, int],
        num_layers: int = 1,
        cell: str = "lstm",
        merge: str | None = "concat",
        stacking: str = "joint",
        dropout: float = 0.0,
        batch_first: bool = False,
        bias: bool = True,
        nonlinearity: str = "tanh",
        impl: str = "fused",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        check_positive_int("input_size", input_size)
        if isinstance(hidden_size, (tuple, list)):
            if len(hidden_size) != 2:
                raise ValueError(
                    f"hidden_size must be an int or (forward_size, backward_size), "
                    f"got {hidden_size!r}"
                )
            forward_size = check_positive_int("hidden_size[0] (forward_size)", hidden_size[0])
            backward_size = check_positive_int("hidden_size[1] (backward_size)", hidden_size[1])
        else:
            forward_size = backward_size = check_positive_int("hidden_size", hidden_size)
        check_positive_int("num_layers", num_layers)
        check_choice("cell", cell, CELLS)
        check_choice("stacking", stacking, STACKINGS)
        check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        if cell != "rnn" and nonlinearity != "tanh":
            raise ValueError(f"nonlinearity={nonlinearity!r} applies only to cell='rnn'")
        if isinstance(dropout, bool) or not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.input_size = input_size
        self.forward_size = forward_size
        self.backward_size = backward_size
        self.hidden_size = (
            forward_size if forward_size == backward_size else (forward_size, backward_size)
        )
        self.num_layers = num_layers
        self.cell = cell
        self.merge = merge
        self.stacking = stacking
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.bias = bool(bias)
        self.nonlinearity = nonlinearity
        self.impl = impl

        gates = GATES[cell]
        factory = {"device": device, "dtype": dtype}
        for k in range(num_layers):
            for reverse, size in ((False, forward_size), (True, backward_size)):
                if k == 0:
                    in_size = input_size
                elif stacking == "joint":
                    in_size = forward_size + backward_size
                else:
                    in_size = size
                shapes = [(gates * size, in_size), (gates * size, size)]
                if bias:
                    shapes += [(gates * size,), (gates * size,)]
                for kind, shape in zip(_WEIGHT_KINDS, shapes, strict=False):
                    param = nn.Parameter(torch.empty(shape, **factory))
                    self.register_parameter(parameter_name(kind, k, reverse), param)
        self.reset_parameters()

    # -- configuration -------------------------------------------------------------------
    @property
    def impl(self) -> str:
        """``"fused"`` or ``"reference"``; both read the same parameters."""
        return self._impl

    @impl.setter
    def impl(self, value: str) -> None:
        check_choice("impl", value, IMPLS)
        self._impl = value

    @property
    def merge(self) -> str | None:
        """``"concat"``, ``"sum"``, ``"mean"``, ``"mul"`` or None; may be changed later."""
        return self._merge_name

    @merge.setter
    def merge(self, value: str | None) -> None:
        check_choice("merge", value, MERGES)
        if value in ("sum", "mean", "mul") and self.forward_size != self.backward_size:
            raise ValueError(
                f"merge={value!r} needs equal hidden sizes per direction, got forward_size="
                f"{self.forward_size} and backward_size={self.backward_size}; use "
                f"merge='concat' or None"
            )
        self._merge_name = value

    @property
    def output_size(self) -> int | tuple[int, int]:
        """Features per output step: H_f + H_b (concat), H (sum/mean/mul), (H_f, H_b) (None)."""
        if self.merge == "concat":
            return self.forward_size + self.backward_size
        if self.merge is None:
            return (self.forward_size, self.backward_size)
        return self.forward_size

    def reset_parameters(self) -> None:
        """torch's initialisation: every parameter ~ U(−1/√H_dir, 1/√H_dir)."""
        for name, param in self.named_parameters():
            size = self.backward_size if name.endswith("_reverse") else self.forward_size
            bound = 1.0 / math.sqrt(size)
            nn.init.uniform_(param, -bound, bound)

    def extra_repr(self) -> str:
        size = self.hidden_size
        return (
            f"{self.input_size}, {size}, num_layers={self.num_layers}, cell={self.cell!r}, "
            f"merge={self.merge!r}, stacking={self.stacking!r}, dropout={self.dropout}, "
            f"batch_first={self.batch_first}, bias={self.bias}, impl={self.impl!r}"
            + (f", nonlinearity={self.nonlinearity!r}" if self.cell == "rnn" else "")
        )

    def _weights(self, layer: int, reverse: bool) -> list[Tensor]:
        kinds = _WEIGHT_KINDS if self.bias else _WEIGHT_KINDS[:2]
        return [getattr(self, parameter_name(kind, layer, reverse)) for kind in kinds]

    # -- forward ---------------------------------------------------------------------------
    def forward(
        self,
        x: Tensor | PackedSequence,
        lengths: Tensor | list[int] | None = None,
        state: BiRNNState | None = None,
    ) -> tuple[Tensor | PackedSequence | tuple[Tensor, Tensor], BiRNNState]:
        """Run both directions over a batch.

        x (T, B, I) (or (B, T, I) with ``batch_first``), or a ``PackedSequence``.
        lengths: (B,) ints in [1, T], any order, or None (all sequences of length T).
        state: initial :class:`BiRNNState` (default zeros).

        Returns ``(output, state)``; output (T, B, ``output_size``) (or a pair with
        ``merge=None``), 0 at padded positions; ``state`` the final :class:`BiRNNState`.

        >>> layer = BiRNN(2, 3, cell="rnn", merge=None)
        >>> (fwd, bwd), state = layer(torch.randn(4, 2, 2), lengths=torch.tensor([4, 2]))
        >>> fwd[2:, 1].abs().sum().item()  # sequence 1 has 2 real steps: padding outputs 0
        0.0
        >>> bool(torch.equal(state.forward[0][1], fwd[1, 1]))  # H→ at t = length − 1
        True
        """
        packed_input = None
        if isinstance(x, PackedSequence):
            if lengths is not None:
                raise ValueError("pass either a PackedSequence or lengths=, not both")
            self._check_input(x.data, rank=2)
            packed_input = x
            x, lengths = pad_packed_sequence(x)
        else:
            self._check_input(x, rank=3)
            if self.batch_first:
                x = x.transpose(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        lengths = self._check_lengths(lengths, batch, steps)
        if lengths is not None and bool((lengths == steps).all()):
            lengths = None  # no padding: the unmasked path computes the same thing
        init = self._check_state(state, batch, x)

        run = self._run_fused if self.impl == "fused" else self._run_reference
        with fp32_recurrence(x):
            forward_out, backward_out, final, joined = run(x, lengths, init)
        if self.merge == "concat" and joined is not None:
            out = joined  # torch's bidirectional kernel has already concatenated them
        else:
            out = self._merge(forward_out, backward_out)

        if packed_input is not None:
            out = _repack(out, packed_input, lengths, steps)
        elif self.batch_first:
            out = (
                tuple(o.transpose(0, 1) for o in out) if self.merge is None else out.transpose(0, 1)
            )
        return out, final

    def _merge(self, forward_out: Tensor, backward_out: Tensor):
        if self.merge == "concat":
            return torch.cat([forward_out, backward_out], dim=-1)
        if self.merge == "sum":
            return forward_out + backward_out
        if self.merge == "mean":
            return (forward_out + backward_out) * 0.5
        if self.merge == "mul":
            return forward_out * backward_out
        return forward_out, backward_out

    def _layer_dropout(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.dropout, training=True) if self._dropping else x

    @property
    def _dropping(self) -> bool:
        return self.dropout > 0.0 and self.training and self.num_layers > 1

    def _stack(self, x: Tensor, init: BiRNNState, run_one):
        """Layer by layer, direction by direction; ``run_one(x, layer, reverse, state)``.

        Returns (forward_out, backward_out, final states, None); the run_* methods return the
        concatenated output as a fourth item when a kernel produced it already.

        Both implementations go through here whenever they run one layer at a time, so they
        draw dropout masks in the same order and agree under a fixed seed.
        """
        forward_out = backward_out = x
        finals: tuple[list, list] = ([], [])
        for k in range(self.num_layers):
            if k == 0:
                forward_in = backward_in = x
            elif self.stacking == "joint":
                both = torch.cat([forward_out, backward_out], dim=-1)
                forward_in = backward_in = self._layer_dropout(both)
            else:
                forward_in = self._layer_dropout(forward_out)
                backward_in = self._layer_dropout(backward_out)
            forward_out, final_f = run_one(forward_in, k, False, init.forward[k])
            backward_out, final_b = run_one(backward_in, k, True, init.backward[k])
            finals[0].append(final_f)
            finals[1].append(final_b)
        return forward_out, backward_out, BiRNNState(*finals), None

    def _run_reference(self, x: Tensor, lengths: Tensor | None, init: BiRNNState):
        mask = None
        if lengths is not None:
            steps = torch.arange(x.shape[0], device=x.device).unsqueeze(1)
            mask = (steps < lengths.to(x.device).unsqueeze(0)).unsqueeze(-1)

        def run_one(inputs: Tensor, layer: int, reverse: bool, state: CellState):
            return run_direction(
                self.cell,
                inputs,
                state,
                *self._weights(layer, reverse),
                *([None, None] if not self.bias else []),
                reverse=reverse,
                mask=mask,
                nonlinearity=self.nonlinearity,
            )

        return self._stack(x, init, run_one)

    def _run_fused(self, x: Tensor, lengths: Tensor | None, init: BiRNNState):
        layers = list(range(self.num_layers))
        if not self._dropping:
            symmetric = self.forward_size == self.backward_size
            if symmetric and (self.stacking == "joint" or self.num_layers == 1):
                # torch's own bidirectional kernel: one call for every layer and direction.
                out, finals = self._kernel(x, lengths, layers, (False, True), init)
                forward_out, backward_out = out.split([self.forward_size, self.backward_size], -1)
                return forward_out, backward_out, BiRNNState(finals[0::2], finals[1::2]), out
            if self.stacking == "separate":
                # Each direction's stack is a plain unidirectional multi-layer RNN: one call each.
                forward_out, final_f = self._kernel(x, lengths, layers, (False,), init)
                backward_out, final_b = self._kernel(x, lengths, layers, (True,), init)
                return forward_out, backward_out, BiRNNState(final_f, final_b), None

        def run_one(inputs: Tensor, layer: int, reverse: bool, state: CellState):
            sub_init = BiRNNState(*(([state], [None]) if not reverse else ([None], [state])))
            out, finals = self._kernel(inputs, lengths, [layer], (reverse,), sub_init, base=layer)
            return out, finals[0]

        return self._stack(x, init, run_one)

    def _kernel(
        self,
        x: Tensor,
        lengths: Tensor | None,
        layers: list[int],
        directions: tuple[bool, ...],
        init: BiRNNState,
        base: int = 0,
    ) -> tuple[Tensor, list[CellState]]:
        """One call of torch's fused kernel over ``layers`` of the given direction(s).

        ``directions`` is (False, True) for torch's bidirectional kernel, or a single direction
        (a unidirectional kernel; the backward direction is run on time-reversed input).
        ``init`` entries are indexed by ``layer - base``. Returns the top-layer output
        (T, B, ·) and the final states ordered like torch's h_n rows.
        """
        kernel = {
            "lstm": torch.lstm,
            "gru": torch.gru,
            "rnn": torch.rnn_tanh if self.nonlinearity == "tanh" else torch.rnn_relu,
        }[self.cell]
        params = [w for k in layers for rev in directions for w in self._weights(k, rev)]
        rows = [
            (init.backward if rev else init.forward)[k - base] for k in layers for rev in directions
        ]
        if self.cell == "lstm":
            hx: Tensor | list[Tensor] = [
                torch.stack([r[0] for r in rows]),
                torch.stack([r[1] for r in rows]),
            ]
        else:
            hx = torch.stack(rows)
        bidirectional = len(directions) == 2
        reverse_only = directions == (True,)
        if reverse_only:
            x = x.flip(0) if lengths is None else reverse_within_lengths(x, lengths)
        args = (params, self.bias, len(layers), 0.0, self.training, bidirectional)
        if lengths is None:
            result = kernel(x, hx, *args, False)
            out = result[0]
        else:
            packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
            order, unorder = packed.sorted_indices, packed.unsorted_indices
            hx = [h.index_select(1, order) for h in hx] if isinstance(hx, list) else hx[:, order]
            result = kernel(packed.data, packed.batch_sizes, hx, *args)
            out_packed = PackedSequence(result[0], packed.batch_sizes, order, unorder)
            out = pad_packed_sequence(out_packed, total_length=x.shape[0])[0]
            result = (out, *(h.index_select(1, unorder) for h in result[1:]))
        if reverse_only:
            out = out.flip(0) if lengths is None else reverse_within_lengths(out, lengths)
        if self.cell == "lstm":
            finals = list(zip(result[1].unbind(0), result[2].unbind(0), strict=True))
        else:
            finals = list(result[1].unbind(0))
        return out, finals

    # -- validation ------------------------------------------------------------------------
    def _check_input(self, x: object, rank: int) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"input must be a torch.Tensor or PackedSequence, got {type(x)}")
        if x.dim() != rank:
            layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
            what = "PackedSequence data (N, I)" if rank == 2 else f"input {layout}"
            raise ValueError(f"expected {what} with {rank} dims, got shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"input has {x.shape[-1]} features in its last dim, expected input_size="
                f"{self.input_size} (shape {tuple(x.shape)})"
            )
        if not x.is_floating_point():
            raise TypeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
        expected = next(self.parameters()).dtype
        if x.dtype != expected:
            raise TypeError(
                f"input has dtype {x.dtype}, but this layer's parameters are {expected}; "
                f"convert the input (x.to({expected})) or the layer (layer.to({x.dtype}))"
            )
        if x.shape[0] == 0 or (rank == 3 and x.shape[1] == 0):
            raise ValueError(f"input has an empty time or batch dim: shape {tuple(x.shape)}")

    @staticmethod
    def _check_lengths(lengths: object, batch: int, steps: int) -> Tensor | None:
        if lengths is None:
            return None
        if isinstance(lengths, (str, bytes)) or not hasattr(lengths, "__len__"):
            raise TypeError(
                f"lengths must be a (B,) int64 tensor or a list of ints, got "
                f"{type(lengths).__name__} {lengths!r:.60}"
            )
        try:
            lengths = torch.as_tensor(lengths)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"lengths must be a list of ints, got {lengths!r:.60} ({exc})") from exc
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must hold integers, got dtype {lengths.dtype}")
        if lengths.shape != (batch,):
            raise ValueError(
                f"lengths has shape {tuple(lengths.shape)}, expected ({batch},): one length "
                f"per sequence in the batch"
            )
        lengths = lengths.to("cpu", torch.int64)
        bad = ((lengths < 1) | (lengths > steps)).nonzero()
        if len(bad):
            b = int(bad[0, 0])
            raise ValueError(
                f"lengths[{b}] = {int(lengths[b])} is outside [1, {steps}] "
                f"(the input has T = {steps} steps)"
            )
        return lengths

    def _check_state(self, state: object, batch: int, like: Tensor) -> BiRNNState:
        sizes = (self.forward_size, self.backward_size)
        if state is None:
            zeros = [like.new_zeros(batch, size) for size in sizes]
            per_dir = [
                [(z, z) if self.cell == "lstm" else z for _ in range(self.num_layers)]
                for z in zeros
            ]
            return BiRNNState(*per_dir)
        if isinstance(state, Tensor) or (
            isinstance(state, tuple) and any(isinstance(part, Tensor) for part in state)
        ):
            raise TypeError(
                "state must be a BiRNNState(forward, backward) of per-layer lists, not torch's "
                "h_0 / (h_0, c_0) stacked tensors; convert with BiRNNState.from_torch_layout(state)"
            )
        if not isinstance(state, tuple) or len(state) != 2:
            raise TypeError(
                f"state must be a BiRNNState(forward, backward) or None, got {type(state).__name__}"
            )
        for name, per_layer, size in zip(("forward", "backward"), state, sizes, strict=True):
            if len(per_layer) != self.num_layers:
                raise ValueError(
                    f"state.{name} has {len(per_layer)} layers, expected {self.num_layers}"
                )
            for k, entry in enumerate(per_layer):
                if self.cell == "lstm" and not (
                    isinstance(entry, (tuple, list)) and len(entry) == 2
                ):
                    raise TypeError(f"state.{name}[{k}] must be a pair (h, c) for cell='lstm'")
                for part in entry if self.cell == "lstm" else (entry,):
                    if tuple(part.shape) != (batch, size):
                        raise ValueError(
                            f"state.{name}[{k}] has shape {tuple(part.shape)}, "
                            f"expected ({batch}, {size})"
                        )
        if self.cell == "lstm":
            state = BiRNNState(*([tuple(e) for e in per_layer] for per_layer in state))
        return BiRNNState(*state)

    # -- conversion ------------------------------------------------------------------------
    @classmethod
    def from_torch(cls, module: nn.RNNBase, **options) -> BiRNN:
        """A ``BiRNN`` holding a copy of a bidirectional ``nn.RNN``/``nn.GRU``/``nn.LSTM``.

        Sizes, layers, dropout, bias, batch_first and nonlinearity come from the module;
        ``options`` (``impl``, ``merge``, ``batch_first``, ``dropout``, ``stacking`` for one
        layer) pass through. With the default options the outputs and final states equal
        the module's.

        >>> lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
        >>> x = torch.randn(5, 2, 3)
        >>> out, _ = BiRNN.from_torch(lstm, impl="reference")(x)
        >>> bool(torch.allclose(out, lstm(x)[0], atol=1e-6))
        True
        """
        kinds = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}
        cell = kinds.get(type(module))
        if cell is None:
            raise TypeError(f"from_torch needs an nn.RNN, nn.GRU or nn.LSTM, got {type(module)}")
        if not module.bidirectional:
            raise ValueError(
                f"from_torch needs a bidirectional module, got {type(module).__name__}"
                f"(..., bidirectional=False)"
            )
        if getattr(module, "proj_size", 0):
            raise ValueError(f"LSTM projections are not supported (proj_size={module.proj_size})")
        fixed = {"input_size", "hidden_size", "num_layers", "cell", "bias", "nonlinearity"}
        clash = sorted(fixed & options.keys())
        if clash:
            raise TypeError(f"from_torch takes {clash} from the module; do not pass them")
        if options.get("stacking", "joint") != "joint" and module.num_layers > 1:
            raise ValueError("a torch module stacks jointly; stacking='separate' cannot hold it")
        kwargs = {"dropout": module.dropout, "batch_first": module.batch_first, **options}
        reference = next(module.parameters())
        layer = cls(
            module.input_size,
            module.hidden_size,
            num_layers=module.num_layers,
            cell=cell,
            bias=module.bias,
            nonlinearity=getattr(module, "nonlinearity", "tanh"),
            device=reference.device,
            dtype=reference.dtype,
            **kwargs,
        )
        with torch.no_grad():
            for name, param in layer.named_parameters():
                param.copy_(getattr(module, name))
        return layer

    def to_torch(self) -> nn.RNNBase:
        """A torch ``nn.RNN``/``nn.GRU``/``nn.LSTM(bidirectional=True)`` holding a copy.

        Needs equal sizes per direction and joint stacking (or one layer). torch always
        concatenates, so its output equals this layer's for ``merge="concat"``.

        >>> layer = BiRNN(3, 4, cell="gru")
        >>> x = torch.randn(5, 2, 3)
        >>> bool(torch.equal(layer.to_torch()(x)[0], layer(x)[0]))
        True
        """
        if self.forward_size != self.backward_size:
            raise ValueError(
                f"torch needs equal sizes per direction, this layer has forward_size="
                f"{self.forward_size}, backward_size={self.backward_size}"
            )
        if self.stacking == "separate" and self.num_layers > 1:
            raise ValueError("torch stacks jointly; a separate-stacked deep BiRNN has no peer")
        module_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[self.cell]
        extra = {"nonlinearity": self.nonlinearity} if self.cell == "rnn" else {}
        reference = self.weight_ih_l0
        module = module_cls(
            self.input_size,
            self.forward_size,
            num_layers=self.num_layers,
            bias=self.bias,
            batch_first=self.batch_first,
            dropout=self.dropout,
            bidirectional=True,
            device=reference.device,
            dtype=reference.dtype,
            **extra,
        )
        with torch.no_grad():
            for name, param in self.named_parameters():
                getattr(module, name).copy_(param)
        return module


def _repack(out, packed_input: PackedSequence, lengths: Tensor | None, steps: int):
    """Pack padded (T, B, ·) outputs like ``packed_input`` (same batch_sizes and order)."""
    if lengths is None:
        lengths = torch.full((out[0].shape[1] if isinstance(out, tuple) else out.shape[1],), steps)
    order = packed_input.sorted_indices

    def pack(o: Tensor) -> PackedSequence:
        if order is not None:
            o = o.index_select(1, order)
        sorted_lengths = lengths if order is None else lengths[order.cpu()]
        data = pack_padded_sequence(o, sorted_lengths, enforce_sorted=True).data
        return PackedSequence(data, packed_input.batch_sizes, order, packed_input.unsorted_indices)

    return tuple(pack(o) for o in out) if isinstance(out, tuple) else pack(out)
