"""Continuing a checkpoint: is this run the one the checkpoint was trained by?

- :func:`resume_mismatches`: every recorded setting that differs, one line each.
- :func:`check_resume`: a ValueError listing them, and epochs that would train nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from pirho.checkpoint import load_checkpoint

__all__ = ["check_resume", "resume_mismatches"]

# The settings a checkpoint records, as (where in its meta, key, the option that sets it).
_RECORDED = (
    ("config", "hidden_size", "--hidden-size"),
    ("config", "num_layers", "--num-layers"),
    ("config", "cell", "--cell"),
    ("config", "embedding_dim", "--embedding-dim"),
    ("config", "bidirectional", "--bidirectional"),
    ("train", "batch_size", "--batch-size"),
    ("train", "num_steps", "--num-steps"),
    ("train", "lr", "--lr"),
    ("train", "optimizer", "--optimizer"),
    ("train", "clip", "--clip"),
    ("train", "random_iter", "--random-iter"),
    ("train", "source", "--text"),
    ("train", "train_tokens", "--max-tokens (training characters)"),
    ("train", "heldout_tokens", "--heldout-tokens"),
    ("train", "seed", "--seed"),
)


def resume_mismatches(stored_meta: Mapping, model: nn.Module, settings: Mapping) -> list[str]:
    """Every recorded setting of a checkpoint (``stored_meta``) that differs from this run's
    model (its ``meta``) and training ``settings`` (:func:`~pirho.lm.training.train_settings`),
    one line each: ``"--hidden-size: 16 in the checkpoint, 256 now"``. Empty when they all
    agree.

    >>> from pirho.data import Vocab
    >>> from pirho.lm import LMText, build_language_model
    >>> data = LMText([1, 2], [2, 1], Vocab("ab"), "raw", "demo")
    >>> old = build_language_model("bilm", data, hidden_size=8, num_layers=1)
    >>> new = build_language_model("bilm", data, hidden_size=16, num_layers=1)
    >>> resume_mismatches(old.meta, new, {})
    ['--hidden-size: 8 in the checkpoint, 16 now']
    """
    now = {"config": model.meta["config"], "train": settings}
    problems = []
    for section, key, option in _RECORDED:
        stored = (stored_meta.get(section) or {}).get(key)
        given = now[section].get(key)
        if key in now[section] and key in (stored_meta.get(section) or {}) and stored != given:
            problems.append(
                f"{option}: {stored!r} in the checkpoint, {given!r} now".replace("'", "")
            )
    return problems


def check_resume(path: str, model: nn.Module, settings: Mapping, epochs: int) -> None:
    """Raise ValueError listing every reason the checkpoint at ``path`` cannot be continued
    by this run: each :func:`resume_mismatches` line, and ``epochs`` not above the epochs it
    has already trained (resuming would train nothing).

    >>> import tempfile, pathlib
    >>> from pirho.data import Vocab
    >>> from pirho.lm import LMText, build_language_model, fit_language_model
    >>> data = LMText([1, 2, 1, 2] * 10, [1, 2] * 5, Vocab("ab"), "raw", "demo")
    >>> model = build_language_model("rnnlm", data, hidden_size=4, num_layers=1)
    >>> path = str(pathlib.Path(tempfile.mkdtemp()) / "lm.pt")
    >>> _ = fit_language_model(model, data, batch_size=2, num_steps=4, epochs=2,
    ...                        checkpoint=path, progress=False)
    >>> check_resume(path, model, {}, epochs=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cannot resume ...lm.pt: --epochs: the checkpoint has trained 2 epochs; ...
    """
    payload = load_checkpoint(path, expected_kind=model.kind)
    problems = resume_mismatches(payload["meta"], model, settings)
    done = (payload.get("progress") or {}).get("epoch")
    if done is not None and epochs <= done:
        problems.append(
            f"--epochs: the checkpoint has trained {done} epochs; give more than {done} "
            "to train further"
        )
    if problems:
        raise ValueError(f"cannot resume {path}: " + "; ".join(problems))
