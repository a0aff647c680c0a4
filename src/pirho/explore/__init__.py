"""``pirho explore``: one self-contained HTML page to watch π_t and ρ_t move.

The page (``explore.html`` with ``explore.css`` and ``pirho.js`` inlined at write time) needs no
network: it opens from disk. Its JS repeats the scaled recursions of :mod:`pirho.hmm` and
exposes them as ``window.pirho.infer({start, trans, emit}, symbols)`` →
``{logLikelihood, forward, backward, filter, posterior, viterbi, fixedLag(lag)}`` (``forward``
and ``backward`` T×K log messages, the rest probabilities), which the browser tests compare
with :class:`pirho.hmm.CategoricalHMM` to 1e-9.

Models on the page: the dishonest casino (:func:`pirho.hmm.casino`), the "bank" example
(:func:`bank`: is "bank" finance or river? 银行 or 河岸?) and, with ``model=``, any
``CategoricalHMM``. The initial sequence is a list of symbol labels (casino: faces ``1``..``6``;
bank: words; other models: ``0``..``M-1``), or comes from the URL fragment
``#model=casino&rolls=6,6,1&lag=2&lang=zh``.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from pirho._atomic import atomic_open
from pirho.hmm import CategoricalHMM, casino

__all__ = ["bank", "labels_for", "parse_symbols", "render_explorer", "write_explorer"]

# The bank example: the hidden sense of "bank" in a run of context words. "bank" itself is
# equally likely under both senses, so only its neighbours (and the sense's persistence) decide.
BANK_WORDS_EN = ("bank", "money", "loan", "water", "fish", "shore")
BANK_WORDS_ZH = ("bank", "钱", "贷款", "水", "鱼", "岸边")
BANK_SENSES_EN = ("finance", "river")
BANK_SENSES_ZH = ("银行", "河岸")

CASINO_ROLLS = (3, 1, 6, 6, 2, 6, 6, 6, 4, 1)  # the page's default sequence (faces 1..6)
BANK_SENTENCE = ("money", "bank", "loan", "bank", "water", "fish", "bank")


def bank() -> CategoricalHMM:
    """The "bank" HMM: K = 2 senses (0 = finance 银行, 1 = river 河岸), M = 6 context words.

    Words, in symbol order: ``bank, money, loan, water, fish, shore``. The sense persists
    (stays with probability 0.85) and "bank" has probability 0.3 under both senses.

    >>> m = bank()
    >>> m.n_states, m.n_symbols
    (2, 6)
    >>> m.posterior([1, 0, 0]).argmax(axis=1).tolist()   # money, bank, bank → finance
    [0, 0, 0]
    """
    start = np.array([0.5, 0.5])
    trans = np.array([[0.85, 0.15], [0.15, 0.85]])
    emit = np.array(
        [
            [0.30, 0.30, 0.25, 0.05, 0.02, 0.08],
            [0.30, 0.03, 0.02, 0.30, 0.15, 0.20],
        ]
    )
    return CategoricalHMM(start, trans, emit)


def labels_for(name: str, model: CategoricalHMM) -> dict:
    """State and symbol labels of a page model, ``{"en": {...}, "zh": {...}}``.

    >>> labels_for("casino", casino())["zh"]["states"]
    ['公平', '作弊']
    """
    if name == "casino":
        faces = [str(face) for face in range(1, model.n_symbols + 1)]
        return {
            "en": {"states": ["fair", "loaded"], "symbols": faces},
            "zh": {"states": ["公平", "作弊"], "symbols": faces},
        }
    if name == "bank":
        return {
            "en": {"states": list(BANK_SENSES_EN), "symbols": list(BANK_WORDS_EN)},
            "zh": {"states": list(BANK_SENSES_ZH), "symbols": list(BANK_WORDS_ZH)},
        }
    states = [f"h{k}" for k in range(model.n_states)]
    symbols = [str(v) for v in range(model.n_symbols)]
    return {
        "en": {"states": states, "symbols": symbols},
        "zh": {"states": states, "symbols": symbols},
    }


def parse_symbols(text: str, labels: dict) -> list[int]:
    """Symbol indices of a comma-separated list of labels (English or Chinese).

    ValueError names the position and the token that is not a label.

    >>> parse_symbols("6,6,1", labels_for("casino", casino()))
    [5, 5, 0]
    """
    tokens = [token.strip() for token in str(text).replace("，", ",").split(",")]
    symbols = []
    for position, token in enumerate(tokens):
        for lang in ("en", "zh"):
            if token in labels[lang]["symbols"]:
                symbols.append(labels[lang]["symbols"].index(token))
                break
        else:
            known = ", ".join(labels["en"]["symbols"])
            raise ValueError(
                f"rolls: token {token!r} at position {position} is not a symbol of the model "
                f"(expected one of {known})"
            )
    return symbols


def _page_model(name: str, model: CategoricalHMM) -> dict:
    return {
        "start": model.start.tolist(),
        "trans": model.trans.tolist(),
        "emit": model.emit.tolist(),
        "labels": labels_for(name, model),
    }


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def render_explorer(model: CategoricalHMM | None = None, rolls: str | None = None) -> str:
    """The page as one HTML string (inline CSS and JS, no external URL).

    ``model``: a ``CategoricalHMM`` shown first as "loaded model" (default: the casino first).
    ``rolls``: the initial sequence as comma-separated symbol labels (default: a short example).

    >>> page = render_explorer(rolls="6,6,1")
    >>> page.startswith("<!DOCTYPE html>"), "window.pirho" in page
    (True, True)
    """
    if model is not None and not isinstance(model, CategoricalHMM):
        raise TypeError(f"model must be a CategoricalHMM or None, got {type(model).__name__}")
    models = {"casino": _page_model("casino", casino()), "bank": _page_model("bank", bank())}
    if model is not None:
        models = {"file": _page_model("file", model), **models}
        initial_name = "file"
    else:
        initial_name = "casino"
    labels = models[initial_name]["labels"]
    if rolls is not None:
        symbols = parse_symbols(rolls, labels)
    elif initial_name == "casino":
        symbols = [face - 1 for face in CASINO_ROLLS]
    else:
        symbols = model.sample(8, seed=0)[1].tolist()
    config = {"models": models, "initial": {"model": initial_name, "symbols": symbols}}
    # "</" inside a <script> block would end it early; JSON allows the escaped form.
    config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    page = _asset("explore.html")
    for marker, text in (
        ("/*PIRHO_CSS*/", _asset("explore.css")),
        ("/*PIRHO_CONFIG*/", config_json),
        ("/*PIRHO_JS*/", _asset("pirho.js")),
    ):
        page = page.replace(marker, text, 1)
    return page


def write_explorer(
    path: str | os.PathLike = "explore.html",
    model: CategoricalHMM | None = None,
    rolls: str | None = None,
) -> Path:
    """Write the page to ``path`` (atomically) and return the path; see :func:`render_explorer`.

    >>> import tempfile, pathlib
    >>> out = write_explorer(pathlib.Path(tempfile.mkdtemp()) / "explore.html", rolls="6,6")
    >>> out.stat().st_size > 10_000
    True
    """
    page = render_explorer(model, rolls)
    path = Path(path)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    return path
