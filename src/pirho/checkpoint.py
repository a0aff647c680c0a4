"""pirho's checkpoint file: one format, one writer, one reader, for every model and the trainer.

A checkpoint is a ``torch.save`` dict, loadable with ``weights_only=True`` (no code runs on
load): ``format_version``, ``model_state``, ``meta`` (JSON-able: the model's kind,
architecture, vocabulary, training settings) and, from :func:`pirho.train.train`,
``optimizer_state`` and ``progress``. ``content_sha256`` is a SHA-256 of everything else in
the file — every tensor's dtype, shape and bytes and every plain value — so a file whose
tensor data was changed after writing (a bad disk, a bad copy) is rejected on load instead
of silently giving other numbers.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from pirho._atomic import atomic_open

__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "content_hash",
    "load_checkpoint",
    "save_checkpoint",
]

# 1: no content hash; 2: content_sha256 over the payload.
FORMAT_VERSION = 2
HASH_KEY = "content_sha256"


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, not pirho's, or does not fit the model it is loaded into."""


def _feed(digest: Any, value: Any) -> None:
    """Add ``value`` to ``digest``: containers in order, tensors by dtype, shape and bytes."""
    if isinstance(value, Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}".encode())
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
    elif isinstance(value, (list, tuple)):
        digest.update(f"L{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:  # str, int, float, bool, None: repr is exact (floats round-trip)
        digest.update(f"V{type(value).__name__}:{value!r};".encode())


def content_hash(payload: dict) -> str:
    """SHA-256 (hex) of a checkpoint payload, leaving out its own ``content_sha256`` entry.

    >>> a = content_hash({"model_state": {"w": torch.zeros(2)}})
    >>> a == content_hash({"model_state": {"w": torch.zeros(2)}})
    True
    >>> a == content_hash({"model_state": {"w": torch.tensor([0.0, 1e-30])}})
    False
    """
    digest = hashlib.sha256()
    _feed(digest, {key: value for key, value in payload.items() if key != HASH_KEY})
    return digest.hexdigest()


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    """Write ``payload`` with ``torch.save`` atomically (a temp file in the same folder, then
    ``os.replace``): a crash mid-write leaves the previous checkpoint intact.

    ``format_version`` and ``content_sha256`` are added. Contents must be loadable with
    ``weights_only=True``: tensors, and dicts / lists / tuples of str, int, float, bool, None.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ckpt.pt"
    >>> _ = save_checkpoint(p, {"model_state": {"w": torch.zeros(2)}, "meta": {"kind": "demo"}})
    >>> load_checkpoint(p, expected_kind="demo")["model_state"]["w"].tolist()
    [0.0, 0.0]
    """
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
    payload = {**payload, "format_version": FORMAT_VERSION}
    payload[HASH_KEY] = content_hash(payload)
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)
    return path


def load_checkpoint(path: str | os.PathLike, expected_kind: str | None = None) -> dict:
    """Load a checkpoint without executing code (``torch.load(weights_only=True)``) onto the CPU.

    Returns the payload: ``model_state``, ``meta``, ``format_version`` and, for checkpoints
    written by :func:`pirho.train.train`, ``optimizer_state`` and ``progress``.
    FileNotFoundError if the file is missing; :class:`CheckpointError` if ``path`` is a folder,
    the file is corrupt (its content hash does not match), not a pirho checkpoint, or (with
    ``expected_kind``) its ``meta["kind"]`` is another model's.

    >>> load_checkpoint("no/such/file.pt")
    Traceback (most recent call last):
    ...
    FileNotFoundError: checkpoint no/such/file.pt does not exist
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a directory, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    # torch.save writes a zip archive (or, before torch 1.6, a pickle stream)
    if magic != b"PK\x03\x04" and not magic.startswith(b"\x80"):
        raise CheckpointError(
            f"{path} is not a pirho checkpoint: it is not a file written by torch.save "
            "(a checkpoint is written by pirho lm/cloze/tag train --checkpoint)"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message advises weights_only=False, i.e. running the file's code: never
        # pass that on
        raise CheckpointError(
            f"{path} is not a pirho checkpoint: it holds objects other than tensors and plain "
            "containers, or it is damaged (pirho loads checkpoints without running code in them)"
        ) from None
    except Exception:  # torch raises RuntimeError, EOFError, zipfile errors, ...
        raise CheckpointError(
            f"{path} is not a pirho checkpoint: not a torch file, or truncated or damaged"
        ) from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise CheckpointError(f"{path} is not a pirho checkpoint (no format_version)")
    version = payload["format_version"]
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format_version {version!r}; this pirho reads up to {FORMAT_VERSION}"
        )
    if version >= 2 and payload.get(HASH_KEY) != content_hash(payload):
        raise CheckpointError(
            f"checkpoint {path} is corrupt: its content does not match the hash stored in it "
            "(changed after it was written)"
        )
    if not isinstance(payload.get("model_state"), dict):
        raise CheckpointError(f"{path} is not a pirho checkpoint (no model_state)")
    meta = payload.setdefault("meta", {})
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: meta must be a dict, got {type(meta).__name__}")
    if expected_kind is not None and meta.get("kind") != expected_kind:
        raise CheckpointError(
            f"{path} is a checkpoint of a {meta.get('kind')!r} model, expected {expected_kind!r}"
        )
    return payload
