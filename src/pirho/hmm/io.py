"""Token files and token models: a CategoricalHMM whose symbols are words (or any tokens).

A *token file* is UTF-8 text, one sequence per line, tokens separated by whitespace; blank
lines are skipped. A *token model* (:class:`TokenHMM`) is a CategoricalHMM plus the token of
each symbol, stored as JSON::

    {"format": "pirho.TokenHMM", "version": 1,
     "tokens": ["1", "2", ...],            # symbol i of the model is tokens[i]
     "model": {...CategoricalHMM.to_dict()...},
     "training": {...how it was fitted...}}

:meth:`TokenHMM.load` also reads a plain ``CategoricalHMM.save`` file, whose tokens are then
the symbol numbers ``0 .. M-1`` written as text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pirho._atomic import atomic_open
from pirho._files import read_json, read_text
from pirho.hmm.families.categorical import CategoricalHMM

__all__ = [
    "TOKEN_MODEL_FORMAT",
    "TokenFile",
    "TokenHMM",
    "build_vocabulary",
    "encode",
    "read_token_file",
]

TOKEN_MODEL_FORMAT = "pirho.TokenHMM"
TOKEN_MODEL_VERSION = 1


@dataclass(frozen=True)
class TokenFile:
    """The sequences of a token file.

    sequences: the token lists of the non-blank lines.
    line_numbers: their 1-based line numbers (for messages).
    """

    sequences: list[list[str]]
    line_numbers: list[int]

    @property
    def n_tokens(self) -> int:
        """Tokens in all sequences."""
        return sum(map(len, self.sequences))


def read_token_file(path: str | os.PathLike) -> TokenFile:
    """Read a token file; ValueError if it cannot be read, is not UTF-8, or holds no tokens.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(p, "w").write("a b\\n\\n b c a\\n")
    >>> read_token_file(p)
    TokenFile(sequences=[['a', 'b'], ['b', 'c', 'a']], line_numbers=[1, 3])
    """
    path = Path(path)
    text = read_text(path)  # errors name the file: missing, folder, binary, not UTF-8
    sequences, line_numbers = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if tokens:
            sequences.append(tokens)
            line_numbers.append(number)
    if not sequences:
        raise ValueError(
            f"{path} has no sequences: expected one sequence per line, "
            "tokens separated by whitespace"
        )
    return TokenFile(sequences, line_numbers)


def encode(token_file: TokenFile, tokens: Sequence[str]) -> list[np.ndarray]:
    """Each line's tokens as int64 indices into ``tokens``; ValueError naming an unknown token
    and its line.

    >>> encode(TokenFile([["b", "a"]], [1]), ["a", "b"])
    [array([1, 0])]
    """
    index = {token: i for i, token in enumerate(tokens)}
    encoded = []
    for tokens_of_line, number in zip(token_file.sequences, token_file.line_numbers, strict=True):
        try:
            encoded.append(np.array([index[t] for t in tokens_of_line], dtype=np.int64))
        except KeyError as exc:
            shown = " ".join(tokens[:20]) + (" ..." if len(tokens) > 20 else "")
            raise ValueError(
                f"token {exc.args[0]!r} on line {number} is not in the model's vocabulary "
                f"({len(tokens)} tokens: {shown})"
            ) from None
    return encoded


def build_vocabulary(sequences: Sequence[Sequence[str]]) -> list[str]:
    """The distinct tokens, sorted (symbol i of a fitted model is token i).

    >>> build_vocabulary([["b", "a"], ["c", "a"]])
    ['a', 'b', 'c']
    """
    return sorted({token for tokens in sequences for token in tokens})


@dataclass(frozen=True)
class TokenHMM:
    """A CategoricalHMM with a token per symbol.

    model: the CategoricalHMM (M symbols). tokens: M distinct non-empty strings, symbol i is
    ``tokens[i]``. training: JSON-ready facts about the fit (free-form).

    >>> from pirho.hmm import casino
    >>> tm = TokenHMM(casino(), ["1", "2", "3", "4", "5", "6"])
    >>> tm.encode(TokenFile([["6", "6", "1"]], [1]))
    [array([5, 5, 0])]
    """

    model: CategoricalHMM
    tokens: list[str]
    training: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.model, CategoricalHMM):
            raise TypeError(f"model must be a CategoricalHMM, got {type(self.model).__name__}")
        tokens = self.tokens
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
            raise ValueError("tokens must be a list of non-empty strings")
        if len(set(tokens)) != len(tokens):
            raise ValueError("tokens holds duplicates")
        if len(tokens) != self.model.n_symbols:
            raise ValueError(
                f"{len(tokens)} tokens for a model with {self.model.n_symbols} symbols"
            )

    def encode(self, token_file: TokenFile) -> list[np.ndarray]:
        """Each line's tokens as symbol indices; see :func:`encode`."""
        return encode(token_file, self.tokens)

    def to_dict(self) -> dict:
        """The JSON document described in the module docstring."""
        return {
            "format": TOKEN_MODEL_FORMAT,
            "version": TOKEN_MODEL_VERSION,
            "tokens": list(self.tokens),
            "model": self.model.to_dict(),
            "training": self.training,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the token model as JSON, atomically; returns the path."""
        with atomic_open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=2)
            handle.write("\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TokenHMM:
        """Read a token model, or a plain CategoricalHMM JSON (tokens "0" .. "M-1").

        Raises ValueError naming the file and the problem.
        """
        path = Path(path)
        document = read_json(path, "model")  # errors name the file
        if not isinstance(document, dict):
            raise ValueError(
                f"model {path} must hold a JSON object, found {type(document).__name__}"
            )
        if document.get("format") != TOKEN_MODEL_FORMAT:
            try:  # a plain CategoricalHMM.save() file: its symbols are its tokens
                model = CategoricalHMM.from_dict(document)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"model {path} is neither a token model (format {TOKEN_MODEL_FORMAT!r}, "
                    f"written by `pirho hmm fit`) nor a CategoricalHMM: {exc}"
                ) from None
            return cls(model, [str(i) for i in range(model.n_symbols)])
        if document.get("version") != TOKEN_MODEL_VERSION:
            raise ValueError(
                f"model {path} has version {document.get('version')!r}, this pirho reads "
                f"version {TOKEN_MODEL_VERSION}"
            )
        for key in ("tokens", "model"):
            if key not in document:
                raise ValueError(f"model {path} lacks the key {key!r}")
        try:
            model = CategoricalHMM.from_dict(document["model"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model {path} is malformed: {exc}") from None
        try:
            return cls(model, document["tokens"], document.get("training", {}))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model {path}: {exc}") from None
