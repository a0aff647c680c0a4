"""Scale-out with Dask: score, decode and fit over a collection of sequence files.

The public path of :mod:`pirho.hmm.compat.dask`, where the functions live; see there and
docs/sklearn.md. Dask itself is imported only when a function runs.

>>> from pirho.hmm.dask import CHUNK_ROWS
>>> CHUNK_ROWS
1000000
"""

from pirho.hmm.compat.dask import (
    CHUNK_ROWS,
    DecodedFile,
    decode_files,
    fit_distributed,
    score_files,
)

__all__ = ["DecodedFile", "decode_files", "score_files", "fit_distributed", "CHUNK_ROWS"]
