"""The defaults of pirho's language-model recipes, in one place and free of torch.

``pirho lm train`` / ``pirho cloze train`` (whose ``--help`` must not import torch) and
:mod:`pirho.lm` read them.

>>> RNNLM_DEFAULTS["lr"], CLOZE_DEFAULTS["optimizer"]
(1.0, 'adam')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CLOZE_DEFAULTS", "HELDOUT_TOKENS", "RNNLM_DEFAULTS"]

HELDOUT_TOKENS = 5_000

#: d2l's RNNLM (chapter 9): the first 10,000 characters of The Time Machine, batches of
#: 32 × 35, 2 × 256 LSTM, one-hot input, SGD lr 1, clip 1, 500 epochs, sequential batches.
RNNLM_DEFAULTS: Mapping[str, Any] = {
    "max_tokens": 10_000,
    "heldout_tokens": HELDOUT_TOKENS,
    "cell": "lstm",
    "hidden_size": 256,
    "num_layers": 2,
    "embedding_dim": None,
    "epochs": 500,
    "lr": 1.0,
    "optimizer": "sgd",
    "clip": 1.0,
    "batch_size": 32,
    "num_steps": 35,
    "random_iter": False,
    "eval_every": 25,
    "checkpoint": "lm.pt",
}

#: The cloze model: the whole book but the held-out end, 64-d embedding, Adam lr 0.003, 12
#: epochs of random minibatches.
CLOZE_DEFAULTS: Mapping[str, Any] = {
    **RNNLM_DEFAULTS,
    "max_tokens": 0,
    "embedding_dim": 64,
    "epochs": 12,
    "lr": 0.003,
    "optimizer": "adam",
    "random_iter": True,
    "eval_every": 2,
    "checkpoint": "cloze.pt",
}
