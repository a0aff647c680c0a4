"""Scale-out with Dask: score, decode and fit over a collection of sequence files.

Each file is one task of a ``dask.bag`` (one partition per file), run on a
``dask.distributed`` cluster when ``client`` is given (a ``Client``, or a scheduler address
such as ``"tcp://10.0.0.5:8786"``), else on Dask's local threads. A task streams its file
through :func:`~pirho.hmm.compat.readers.iter_sequences` in chunks of at most ``chunk_rows`` steps
(whole sequences; a sequence is never split), so no worker holds more than a chunk — files
larger than memory are fine as long as each sequence fits.

:func:`fit_distributed` is :func:`pirho.hmm.fitting.em_loop.run_em` whose E-step runs on the
workers: every file returns its sufficient statistics (start, transition and emission
statistics, plus its log-likelihood), the client sums them and does the M-step. The result
is the same model as ``model.fit(X, lengths)`` on all the files concatenated (to float
rounding of the sums).

The ``model`` is any estimator of :mod:`pirho.hmm.sklearn` (it is pickled to the workers).

>>> import numpy as np, tempfile, pathlib
>>> from pirho.hmm import sklearn as hmm
>>> model = hmm.PoissonHMM(2, init_params="")
>>> model.startprob_, model.transmat_ = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]])
>>> model.lambdas_ = np.array([[1.0], [10.0]])
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.save(folder / "a.npy", np.array([0, 1, 12, 9]))
>>> [d.states.tolist() for d in decode_files(model, [folder / "a.npy"])]
[[0, 0, 1, 1]]
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from pirho import _checks
from pirho.hmm.compat.estimator_base import BaseHMMEstimator, check_lengths
from pirho.hmm.compat.readers import iter_sequences
from pirho.hmm.fitting.em_loop import Statistics, add_statistics, expected_statistics

try:
    import dask.bag as dask_bag
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "pirho.hmm.dask needs Dask: pip install 'pirho[dask]' (dask[distributed])"
    ) from exc

__all__ = ["DecodedFile", "decode_files", "score_files", "fit_distributed", "CHUNK_ROWS"]

CHUNK_ROWS = 1_000_000
"""Default steps per chunk a worker processes at once (whole sequences, at least one)."""


@dataclass(frozen=True)
class DecodedFile:
    """Decoding of one file.

    path: the file. ids: its B sequence ids. lengths: (B,) steps per sequence.
    states: (N,) int64 decoded state per step, sequences concatenated.
    log_likelihood: (B,) log P(x_b) per sequence.
    posterior: (N, K) P(h_t | …) per step (smoothing, or fixed-lag with ``lag``), or None.
    """

    path: str
    ids: list[str]
    lengths: np.ndarray
    states: np.ndarray
    log_likelihood: np.ndarray
    posterior: np.ndarray | None


def _chunks(path, read: dict, chunk_rows) -> Iterator[tuple[list[str], np.ndarray, list]]:
    """(ids, X, lengths) batches of whole sequences, each ≤ chunk_rows steps (or one seq)."""
    ids, blocks, rows = [], [], 0
    for seq_id, block in iter_sequences(path, **read):
        if blocks and rows + block.shape[0] > chunk_rows:
            yield ids, np.concatenate(blocks), [b.shape[0] for b in blocks]
            ids, blocks, rows = [], [], 0
        ids.append(seq_id)
        blocks.append(np.asarray(block))
        rows += block.shape[0]
    if blocks:
        yield ids, np.concatenate(blocks), [b.shape[0] for b in blocks]


def _read(sequence_column, columns) -> dict:
    return {"sequence_column": sequence_column, "columns": columns}


def _as_model_input(model: BaseHMMEstimator, X: np.ndarray) -> np.ndarray:
    """Categorical models read integer symbols (NaN = missing = −1); others floats."""
    if type(model).__name__ == "CategoricalHMM":
        return np.where(np.isnan(X), -1, X).astype(np.int64)
    return X


@contextlib.contextmanager
def _connected(client):
    """The scheduler to compute on: local threads for None; a Client made from an address
    string (closed on exit); a given Client as is."""
    if client is None:
        yield "threads"
    elif isinstance(client, str):
        from distributed import Client  # optional extra: only when an address is given

        with Client(client) as connected:
            yield connected
    else:
        yield client


def _run(function, paths: Sequence, scheduler) -> list:
    bag = dask_bag.from_sequence([os.fspath(p) for p in paths], npartitions=max(len(paths), 1))
    return bag.map(function).compute(scheduler=scheduler)


def _check_paths(paths) -> list:
    paths = list(paths)
    if not paths:
        raise ValueError("paths must name at least one sequence file")
    return paths


class _DecodeTask:
    """Picklable per-file work: decode every chunk of one file."""

    def __init__(self, model, algorithm, lag, posteriors, read, chunk_rows):
        self.model, self.algorithm, self.lag = model, algorithm, lag
        self.posteriors, self.read, self.chunk_rows = (
            posteriors,
            read,
            chunk_rows,
        )

    def __call__(self, path: str) -> DecodedFile:
        ids, lengths, states, log_lik, posts = [], [], [], [], []
        for chunk_ids, X, chunk_lengths in _chunks(path, self.read, self.chunk_rows):
            X = _as_model_input(self.model, X)
            ids += chunk_ids
            lengths += chunk_lengths
            states.append(self.model.decode(X, chunk_lengths, algorithm=self.algorithm)[1])
            log_lik.append(self.model.score_per_sequence(X, chunk_lengths))
            if self.posteriors:
                posts.append(self.model.predict_proba(X, chunk_lengths, lag=self.lag))
        return DecodedFile(
            path,
            ids,
            np.array(lengths, dtype=np.int64),
            np.concatenate(states),
            np.concatenate(log_lik),
            np.concatenate(posts) if self.posteriors else None,
        )


def decode_files(
    model: BaseHMMEstimator,
    paths: Sequence[str | os.PathLike],
    *,
    client=None,
    algorithm: str | None = None,
    posteriors: bool = False,
    lag: int | None = None,
    sequence_column: str | int | None = None,
    columns: list[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> list[DecodedFile]:
    """Decode every sequence of every file on Dask; one :class:`DecodedFile` per path, in order.

    algorithm: "viterbi" or "map" (default: the model's). posteriors: also return the (N, K)
    posteriors, fixed-lag with ``lag`` (0 = causal filter). client: a ``distributed.Client``,
    a scheduler address, or None for local threads. Files are read by
    :func:`~pirho.hmm.compat.readers.iter_sequences` (``sequence_column``, ``columns`` as there).
    """
    paths = _check_paths(paths)
    model.to_model()  # validates the parameters before any work
    chunk_rows = _checks.check_positive_int("chunk_rows", chunk_rows)
    if lag is not None:
        lag = _checks.check_int("lag", lag, minimum=0)
    task = _DecodeTask(
        model, algorithm, lag, posteriors, _read(sequence_column, columns), chunk_rows
    )
    with _connected(client) as scheduler:
        return _run(task, paths, scheduler)


class _ScoreTask:
    def __init__(self, model, read, chunk_rows):
        self.model, self.read, self.chunk_rows = model, read, chunk_rows

    def __call__(self, path: str) -> float:
        return sum(
            self.model.score(_as_model_input(self.model, X), lengths)
            for _, X, lengths in _chunks(path, self.read, self.chunk_rows)
        )


def score_files(
    model: BaseHMMEstimator,
    paths: Sequence[str | os.PathLike],
    *,
    client=None,
    sequence_column: str | int | None = None,
    columns: list[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> np.ndarray:
    """log P(file) = Σ over its sequences of log P(x_b), for each path: (n_files,) float64."""
    paths = _check_paths(paths)
    model.to_model()  # validates the parameters before any work
    chunk_rows = _checks.check_positive_int("chunk_rows", chunk_rows)
    with _connected(client) as scheduler:
        return np.array(
            _run(_ScoreTask(model, _read(sequence_column, columns), chunk_rows), paths, scheduler)
        )


class _EStepTask:
    """One file's E-step: the :class:`~pirho.hmm.fitting.em_loop.Statistics` of its sequences under
    ``model`` (a pirho model), summed chunk by chunk (one chunk in memory at a time)."""

    def __init__(self, model, estimator, read, chunk_rows):
        self.model, self.estimator = model, estimator
        self.read, self.chunk_rows = read, chunk_rows

    def __call__(self, path: str) -> Statistics:
        total = None
        for _, X, lengths in _chunks(path, self.read, self.chunk_rows):
            observations = self.estimator.observations(_as_model_input(self.estimator, X))
            offsets = check_lengths(lengths, observations.shape[0])
            stats = expected_statistics(self.model, observations, offsets)
            total = stats if total is None else add_statistics(total, stats)
        if total is None:
            raise ValueError(f"{path}: no sequences to fit")
        return total


def _head(paths, read: dict, chunk_rows: int, n_rows: int) -> np.ndarray:
    """The first ``n_rows`` steps of the files, in order, reading no more chunks than that
    takes (at most one chunk beyond what is kept)."""
    head, rows = [], 0
    for path in paths:
        for _, X, _ in _chunks(path, read, chunk_rows):
            head.append(X[: n_rows - rows])
            rows += head[-1].shape[0]
            if rows >= n_rows:
                return np.concatenate(head)
    return np.concatenate(head)


def fit_distributed(
    model: BaseHMMEstimator,
    paths: Sequence[str | os.PathLike],
    *,
    client=None,
    sequence_column: str | int | None = None,
    columns: list[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    init_rows: int = 100_000,
) -> BaseHMMEstimator:
    """EM over many files: the E-step is a map-reduce of sufficient statistics.

    Each EM iteration maps every file to its :class:`~pirho.hmm.fitting.em_loop.Statistics` on the
    workers (streamed in chunks of ``chunk_rows`` steps, so memory is bounded by the chunk)
    and sums them on the client; the loop and the M-step are
    :func:`pirho.hmm.fitting.em_loop.run_em`'s, as in ``model.fit``, so the result equals
    ``model.fit`` on all the files concatenated (to float rounding of the sums).

    Parameters named in ``model.init_params`` are first initialised from the first
    ``init_rows`` steps of the files (read on the client, chunk by chunk, stopping there);
    the rest must already be set. ``model.n_iter``, ``tol`` and ``monitor_`` as in
    ``model.fit``. Returns ``model``, fitted in place.
    """
    paths = _check_paths(paths)
    chunk_rows = _checks.check_positive_int("chunk_rows", chunk_rows)
    init_rows = _checks.check_positive_int("init_rows", init_rows)
    read = _read(sequence_column, columns)
    sample = None
    if model.init_params or not hasattr(model, "startprob_"):
        sample = _as_model_input(model, _head(paths, read, chunk_rows, init_rows))
    with _connected(client) as scheduler:
        validator = None

        def e_step(current) -> Statistics:
            nonlocal validator
            if validator is None:  # the initialised estimator checks the workers' chunks
                validator = copy.deepcopy(model)
            results = _run(_EStepTask(current, validator, read, chunk_rows), paths, scheduler)
            return functools.reduce(add_statistics, results)

        model.fit_em(e_step, X_init=sample)
    return model
