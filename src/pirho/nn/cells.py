"""Recurrent cells written from their equations — the readable half of ``BiRNN``.

One time step of each cell, as a pure function of tensors. Gate order and parameter shapes are
torch's, so a ``BiRNN`` holds exactly the tensors an ``nn.RNN``/``nn.GRU``/``nn.LSTM`` holds:

============  =====  ==========================================================
cell          gates  rows of ``weight_ih_l{k}`` / ``weight_hh_l{k}`` (G·H rows)
============  =====  ==========================================================
``"rnn"``     1      h' = φ(W_ih x + b_ih + W_hh h + b_hh), φ = tanh or relu
``"gru"``     3      r, z, n  (reset, update, candidate)
``"lstm"``    4      i, f, g, o  (input, forget, cell candidate, output)
============  =====  ==========================================================

In the seed's notation the forward direction is H→_t = φ(X_t W_xh^(f) + H→_{t-1} W_hh^(f) +
b_h^(f)); torch (and pirho) store W_xh^(f) transposed as ``weight_ih_l0`` (G·H, I), W_hh^(f) as
``weight_hh_l0`` (G·H, H), and the backward direction's copies with the suffix ``_reverse``.

The input part of every gate, ``x_proj = x W_ih^T + b_ih``, does not depend on the state, so
callers compute it for all time steps in one matmul (:func:`input_projection`) and the cells
only add the recurrent part. For ``"rnn"`` and ``"lstm"`` the recurrent bias ``b_hh`` may be
folded into ``x_proj`` as well (pass ``b_hh=None`` to the cell); the GRU cannot fold the
candidate gate's ``b_hn`` because the reset gate multiplies it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

#: Number of gates (row blocks of the weight matrices) per cell type.
GATES: dict[str, int] = {"rnn": 1, "gru": 3, "lstm": 4}

#: Recurrent state of one direction of one layer: h (B, H) for rnn/gru, (h, c) for lstm.
CellState = Tensor | tuple[Tensor, Tensor]


def parameter_name(kind: str, layer: int, reverse: bool) -> str:
    """torch's name for one recurrent parameter.

    ``kind`` is ``"weight_ih"``, ``"weight_hh"``, ``"bias_ih"`` or ``"bias_hh"``.

    >>> parameter_name("weight_hh", 1, reverse=True)
    'weight_hh_l1_reverse'
    """
    return f"{kind}_l{layer}{'_reverse' if reverse else ''}"


def input_projection(x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None = None):
    """The state-free part of every gate for all time steps at once: x W_ih^T + b_ih (+ b_hh).

    x (T, B, I), w_ih (G·H, I), biases (G·H,) or None → (T, B, G·H).

    >>> x_proj = input_projection(torch.ones(5, 2, 3), torch.ones(4, 3), None)
    >>> tuple(x_proj.shape), x_proj[0, 0, 0].item()
    ((5, 2, 4), 3.0)
    """
    if b_ih is not None and b_hh is not None:
        bias = b_ih + b_hh
    else:
        bias = b_ih if b_ih is not None else b_hh
    return F.linear(x, w_ih, bias)


def _recurrent(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """x_proj + h W_hh^T (+ b_hh), as one fused multiply-add when b_hh is already folded."""
    if b_hh is None:
        return torch.addmm(x_proj, h, w_hh.t())
    return x_proj + F.linear(h, w_hh, b_hh)


def rnn_cell(
    x_proj: Tensor,
    h: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """Elman step: h' = φ(x_proj + h W_hh^T + b_hh), φ = tanh or relu.

    x_proj (B, H) = x W_ih^T + b_ih, h (B, H), w_hh (H, H) → h' (B, H).

    >>> h = rnn_cell(torch.zeros(2, 3), torch.zeros(2, 3), torch.eye(3))
    >>> h.abs().sum().item()
    0.0
    """
    pre = _recurrent(x_proj, h, w_hh, b_hh)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def gru_cell(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None = None) -> Tensor:
    """Gated recurrent unit step (Cho et al. 2014, torch's variant).

    r = σ(x_r + h W_hr^T + b_hr),  z = σ(x_z + h W_hz^T + b_hz),
    n = tanh(x_n + r ⊙ (h W_hn^T + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h.

    x_proj (B, 3H) = x W_ih^T + b_ih (gate order r, z, n), h (B, H), w_hh (3H, H) → h' (B, H).

    >>> h = gru_cell(torch.zeros(2, 9), torch.ones(2, 3), torch.zeros(9, 3))
    >>> round(h[0, 0].item(), 4)  # z = σ(0) = 1/2, n = 0: h' = h / 2
    0.5
    """
    h_proj = F.linear(h, w_hh, b_hh)
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
    h_r, h_z, h_n = h_proj.chunk(3, dim=-1)
    reset = torch.sigmoid(x_r + h_r)
    update = torch.sigmoid(x_z + h_z)
    candidate = torch.tanh(x_n + reset * h_n)
    return candidate + update * (h - candidate)


def lstm_cell(
    x_proj: Tensor,
    state: tuple[Tensor, Tensor],
    w_hh: Tensor,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Long short-term memory step (Hochreiter & Schmidhuber 1997, with forget gate).

    [i, f, g, o] = x_proj + h W_hh^T + b_hh;  c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g);
    h' = σ(o) ⊙ tanh(c').

    x_proj (B, 4H) = x W_ih^T + b_ih (gate order i, f, g, o), state (h, c) each (B, H),
    w_hh (4H, H) → (h', c') each (B, H).

    >>> state = (torch.zeros(2, 3), torch.ones(2, 3))
    >>> h, c = lstm_cell(torch.zeros(2, 12), state, torch.zeros(12, 3))
    >>> round(c[0, 0].item(), 4)  # forget gate σ(0) = 1/2 halves the cell, tanh(g) = 0
    0.5
    """
    h, c = state
    gates = _recurrent(x_proj, h, w_hh, b_hh)
    g_in, g_forget, g_cell, g_out = gates.chunk(4, dim=-1)
    c_next = torch.sigmoid(g_forget) * c + torch.sigmoid(g_in) * torch.tanh(g_cell)
    h_next = torch.sigmoid(g_out) * torch.tanh(c_next)
    return h_next, c_next


def cell_step(
    cell: str,
    x_proj: Tensor,
    state: CellState,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> CellState:
    """One step of ``cell`` ("rnn" | "gru" | "lstm"); shapes as in the cell functions above.

    >>> h = cell_step("rnn", torch.ones(1, 2), torch.zeros(1, 2), torch.eye(2), nonlinearity="relu")
    >>> h.tolist()
    [[1.0, 1.0]]
    """
    if cell == "lstm":
        return lstm_cell(x_proj, state, w_hh, b_hh)
    if cell == "gru":
        return gru_cell(x_proj, state, w_hh, b_hh)
    return rnn_cell(x_proj, state, w_hh, b_hh, nonlinearity)


def run_direction(
    cell: str,
    x: Tensor,
    state: CellState,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    *,
    reverse: bool = False,
    mask: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> tuple[Tensor, CellState]:
    """Run one direction of one layer step by step: the seed's recursion, literally.

    x (T, B, I); state h0 (B, H) or (h0, c0); mask (T, B, 1) bool or None (True = a real step).
    ``reverse=True`` walks t = T−1 … 0 (the seed's H←_t).

    Returns ``(outputs (T, B, H), final state)``. With a mask, a padded step leaves the state
    unchanged and outputs 0. That is why the backward direction needs no special start: walking
    down from T−1 it keeps the initial state through the padding and so begins its recursion at
    each sequence's own last real step; the forward direction's final state is the one at
    t = length − 1.

    >>> T, B, I, H = 4, 2, 3, 5
    >>> w_ih, w_hh = torch.randn(H, I), torch.randn(H, H)
    >>> x, h0 = torch.randn(T, B, I), torch.zeros(B, H)
    >>> out, h = run_direction("rnn", x, h0, w_ih, w_hh, None, None)
    >>> tuple(out.shape), bool(torch.equal(out[-1], h))
    ((4, 2, 5), True)
    """
    fold = cell != "gru"
    x_proj = input_projection(x, w_ih, b_ih, b_hh if fold else None)
    b_step = None if fold else b_hh
    # unbind once: indexing x_proj[t] in the loop would make autograd build a zero-filled
    # (T, B, G·H) gradient for every step, O(T²) work in the backward pass
    x_steps = x_proj.unbind(0)
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    outputs: list[Tensor] = list(x_steps)  # placeholders, every slot overwritten
    for t in steps:
        new_state = cell_step(cell, x_steps[t], state, w_hh, b_step, nonlinearity)
        if mask is not None:
            real = mask[t]
            if cell == "lstm":
                new_state = (
                    torch.where(real, new_state[0], state[0]),
                    torch.where(real, new_state[1], state[1]),
                )
            else:
                new_state = torch.where(real, new_state, state)
        state = new_state
        outputs[t] = state[0] if cell == "lstm" else state
    out = torch.stack(outputs)
    if mask is not None:
        out = out * mask
    return out, state
