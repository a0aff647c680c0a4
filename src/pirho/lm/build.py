"""A fresh language model for a text: :func:`build_language_model` makes the RNNLM, BiLM or
cloze model of :mod:`pirho.nn.models` with the text's vocabulary and text mode, seeded."""

from __future__ import annotations

import torch
from torch import nn

from pirho._checks import check_choice, check_seed
from pirho.lm.defaults import CLOZE_DEFAULTS, RNNLM_DEFAULTS
from pirho.lm.text import LMText
from pirho.nn.models import MODEL_CLASSES, RNNLM, BiLM, ClozeModel

__all__ = ["build_language_model"]


def build_language_model(
    kind: str,
    data: LMText,
    *,
    hidden_size: int = RNNLM_DEFAULTS["hidden_size"],
    num_layers: int = RNNLM_DEFAULTS["num_layers"],
    cell: str = RNNLM_DEFAULTS["cell"],
    embedding_dim: int | None = None,
    bidirectional: bool = False,
    seed: int = 0,
) -> nn.Module:
    """A freshly initialised ``"rnnlm"``, ``"bilm"`` or ``"cloze"`` model for ``data``
    (its vocabulary and text mode), its weights drawn after ``torch.manual_seed(seed)``.

    ``embedding_dim=None`` means one-hot input for the RNNLM (d2l) and 64 for the others;
    ``bidirectional`` applies to the RNNLM only.

    >>> from pirho.data import Vocab
    >>> data = LMText([1, 2], [2, 1], Vocab("ab"), "raw", "demo")
    >>> model = build_language_model("bilm", data, hidden_size=8, num_layers=1)
    >>> model.meta["config"]["hidden_size"]
    8
    """
    check_choice("kind", kind, tuple(MODEL_CLASSES))
    seed = check_seed("seed", seed)
    if bidirectional and kind != "rnnlm":
        raise ValueError(f"bidirectional applies to the rnnlm (a {kind} is always two-way)")
    torch.manual_seed(seed)
    common = {
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "cell": cell,
        "vocab": data.vocab,
        "text_mode": data.text_mode,
    }
    if kind == "rnnlm":
        return RNNLM(
            len(data.vocab), bidirectional=bidirectional, embedding_dim=embedding_dim, **common
        )
    cls = BiLM if kind == "bilm" else ClozeModel
    return cls(
        len(data.vocab), embedding_dim=embedding_dim or CLOZE_DEFAULTS["embedding_dim"], **common
    )
