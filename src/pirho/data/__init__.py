"""Corpora, vocabularies and minibatching for pirho's models.

- :mod:`pirho.data.text`: The Time Machine (d2l's copy, resolved offline-first and sha1-checked)
  and any UTF-8 text file at character level; :class:`Vocab`; :func:`encode_text`.
- :mod:`pirho.data.batching`: d2l's random and sequential partitioning (:class:`SeqDataLoader`),
  deterministic per (seed, epoch); :func:`split_corpus` for a held-out tail.

The batching names are imported on first use, so that ``pirho.data.text`` and
``pirho.data.synthetic`` (numpy only) do not pull in torch.
"""

from pirho.data.text import (
    TIME_MACHINE_SHA1,
    TIME_MACHINE_URL,
    Vocab,
    encode_text,
    load_text_corpus,
    load_time_machine,
    resolve_time_machine,
    tokenize_d2l_line,
)

_BATCHING = ("SeqDataLoader", "split_corpus")

__all__ = [
    "TIME_MACHINE_SHA1",
    "TIME_MACHINE_URL",
    "SeqDataLoader",
    "Vocab",
    "encode_text",
    "load_text_corpus",
    "load_time_machine",
    "resolve_time_machine",
    "split_corpus",
    "tokenize_d2l_line",
]


def __getattr__(name: str):
    if name in _BATCHING:
        from pirho.data import batching

        return getattr(batching, name)
    raise AttributeError(f"module 'pirho.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
