"""Readers for users' sequence data (CSV/TSV, ``.npy``, ``.npz``), in hmmlearn's layout.

They live in :mod:`pirho.hmm.compat.readers` (``pirho.hmm`` streams files through them and
must not import :mod:`pirho.data`); this module keeps their public path.

>>> from pirho.data.sequences import read_sequences
>>> read_sequences.__module__
'pirho.hmm.compat.readers'
"""

from pirho.hmm.compat.readers import MISSING_TOKENS, SequenceData, iter_sequences, read_sequences

__all__ = ["SequenceData", "read_sequences", "iter_sequences", "MISSING_TOKENS"]
