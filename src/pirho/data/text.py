"""Character-level text corpora: The Time Machine (d2l's copy) and any UTF-8 text file.

The Time Machine is resolved, in order, from an explicit path, ``$PIRHO_DATA_DIR``, the user
cache (``~/.cache/pirho``, or ``$XDG_CACHE_HOME/pirho``) and finally d2l's URL, with the
sha1 checked wherever the file comes from. Its URL and sha1 live here and nowhere else.

Tokenisation follows d2l (``load_corpus_time_machine``): every line is reduced to lower-case
letters and single spaces, lines are concatenated without a separator, and each character is
a token, giving a vocabulary of 28 (26 letters, space, ``<unk>``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import urllib.error
import urllib.request
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from pirho._atomic import atomic_open
from pirho._checks import check_positive_int

TIME_MACHINE_URL = "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
TIME_MACHINE_SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"
TIME_MACHINE_FILENAME = "timemachine.txt"
DATA_DIR_ENV = "PIRHO_DATA_DIR"
UNK = "<unk>"

_NON_LETTERS = re.compile("[^A-Za-z]+")
_WHITESPACE = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------------
# Locating The Time Machine


def cache_dir() -> Path:
    """The user cache folder pirho downloads into: ``$XDG_CACHE_HOME/pirho`` or ``~/.cache/pirho``.

    >>> cache_dir().name
    'pirho'
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "pirho"


def sha1_of_file(path: str | os.PathLike) -> str:
    """Hex sha1 of a file's bytes.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"; _ = p.write_bytes(b"abc")
    >>> sha1_of_file(p)
    'a9993e364706816aba3e25717850c26c9cd0d89d'
    """
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def _check_sha1(path: Path, expected: str) -> Path:
    actual = sha1_of_file(path)
    if actual != expected:
        raise ValueError(
            f"{path}: sha1 {actual} does not match the expected {expected} "
            "(a different or damaged copy of The Time Machine; delete it or point to d2l's copy)"
        )
    return path


def _fetch(url: str, timeout: float = 30.0) -> bytes:
    """Download ``url`` and return its bytes (module level so that tests can replace it)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed URL)
        return response.read()


def _write_atomically(path: Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def resolve_time_machine(
    path: str | os.PathLike | None = None, *, download: bool = True, verify: bool = True
) -> Path:
    """Find d2l's copy of The Time Machine, downloading it into the cache if needed.

    Order: ``path`` (if given, it must exist — no fallback); ``$PIRHO_DATA_DIR/timemachine.txt``;
    ``~/.cache/pirho/timemachine.txt``; download from :data:`TIME_MACHINE_URL` into the cache.
    Every copy is checked against :data:`TIME_MACHINE_SHA1` unless ``verify=False``.

    Raises FileNotFoundError (saying how to provide a copy) when no copy exists and the download
    fails or ``download=False``; ValueError when a copy's sha1 does not match.

    >>> resolve_time_machine().name  # doctest: +SKIP
    'timemachine.txt'
    """
    expected = TIME_MACHINE_SHA1 if verify else None
    if path is not None:
        candidate = Path(path).expanduser()
        if candidate.is_dir():
            candidate = candidate / TIME_MACHINE_FILENAME
        if not candidate.is_file():
            raise FileNotFoundError(f"The Time Machine: no file at the given path {candidate}")
        return _check_sha1(candidate, expected) if expected else candidate

    searched = []
    env_dir = os.environ.get(DATA_DIR_ENV)
    if env_dir:
        searched.append(Path(env_dir).expanduser() / TIME_MACHINE_FILENAME)
    cached = cache_dir() / TIME_MACHINE_FILENAME
    searched.append(cached)
    for candidate in searched:
        if candidate.is_file():
            return _check_sha1(candidate, expected) if expected else candidate

    how = (
        "provide a copy in one of three ways: pass its path (path=...), set "
        f"{DATA_DIR_ENV} to a folder holding {TIME_MACHINE_FILENAME}, or put it at {cached}. "
        f"Looked in: {', '.join(str(p) for p in searched)}"
    )
    if not download:
        raise FileNotFoundError(f"The Time Machine not found and download disabled; {how}")
    try:
        data = _fetch(TIME_MACHINE_URL)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise FileNotFoundError(
            f"The Time Machine not found and the download from {TIME_MACHINE_URL} failed "
            f"({exc}); {how}"
        ) from exc
    actual = hashlib.sha1(data).hexdigest()
    if verify and actual != TIME_MACHINE_SHA1:
        raise ValueError(
            f"download from {TIME_MACHINE_URL}: sha1 {actual} does not match the expected "
            f"{TIME_MACHINE_SHA1}; nothing was written to {cached}"
        )
    _write_atomically(cached, data)
    return cached


# ---------------------------------------------------------------------------------------------
# Tokenisation and vocabulary


def tokenize_d2l_line(line: str) -> str:
    """d2l's line preprocessing: every run of non-letters becomes one space; strip; lower-case.

    >>> tokenize_d2l_line("The Time Traveller (for so it will be convenient...)\\n")
    'the time traveller for so it will be convenient'
    """
    return _NON_LETTERS.sub(" ", line).strip().lower()


class Vocab:
    """Token ↔ index map, most frequent tokens first (ties: first occurrence first), like d2l.

    ``reserved_tokens`` come first, in order; ``"<unk>"`` is always present (put first if
    ``reserved_tokens`` omits it) and unknown tokens map to it. Tokens seen fewer than
    ``min_freq`` times are left out. ``tokens`` may be a flat iterable or a list of lists.

    >>> v = Vocab("abracadabra")
    >>> v.idx_to_token, len(v), v.unk
    (['<unk>', 'a', 'b', 'r', 'c', 'd'], 6, 0)
    >>> v["b"], v[["c", "z"]], v.to_tokens([1, 2])
    (2, [4, 0], ['a', 'b'])
    """

    def __init__(
        self,
        tokens: Iterable = (),
        reserved_tokens: Sequence[str] = (UNK,),
        min_freq: int = 0,
    ) -> None:
        tokens = list(tokens)
        if tokens and isinstance(tokens[0], (list, tuple)):
            tokens = [token for line in tokens for token in line]
        reserved = list(reserved_tokens)
        if UNK not in reserved:
            reserved.insert(0, UNK)
        if len(set(reserved)) != len(reserved):
            raise ValueError(f"reserved_tokens has duplicates: {reserved_tokens!r}")
        # Counter keeps first-occurrence order and sorted() is stable: ties stay in that order.
        by_frequency = sorted(Counter(tokens).items(), key=lambda item: item[1], reverse=True)
        self.idx_to_token: list[str] = reserved + [
            token for token, count in by_frequency if count >= min_freq and token not in reserved
        ]
        self.token_to_idx: dict[str, int] = {t: i for i, t in enumerate(self.idx_to_token)}
        self.token_freqs: list[tuple[str, int]] = by_frequency

    @property
    def unk(self) -> int:
        """Index of ``"<unk>"``."""
        return self.token_to_idx[UNK]

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __contains__(self, token: object) -> bool:
        return token in self.token_to_idx

    def __getitem__(self, tokens):
        if isinstance(tokens, str):
            return self.token_to_idx.get(tokens, self.unk)
        return [self[token] for token in tokens]

    def to_tokens(self, indices):
        """Index (int) → token (str); a sequence or 1-D tensor of indices → list of tokens."""
        if hasattr(indices, "tolist"):
            indices = indices.tolist()
        if isinstance(indices, int):
            if not 0 <= indices < len(self):
                raise ValueError(f"index {indices} is outside the vocabulary [0, {len(self)})")
            return self.idx_to_token[indices]
        return [self.to_tokens(int(index)) for index in indices]

    def to_dict(self) -> dict:
        """JSON-able description (for checkpoints); :meth:`from_dict` rebuilds the same Vocab."""
        return {"idx_to_token": list(self.idx_to_token)}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        """Rebuild a Vocab written by :meth:`to_dict`.

        >>> v = Vocab("hello"); Vocab.from_dict(v.to_dict()) == v
        True
        """
        idx_to_token = d.get("idx_to_token") if isinstance(d, dict) else None
        if not isinstance(idx_to_token, list) or not all(isinstance(t, str) for t in idx_to_token):
            raise ValueError("vocab dict needs 'idx_to_token': a list of strings")
        if UNK not in idx_to_token or len(set(idx_to_token)) != len(idx_to_token):
            raise ValueError(f"vocab dict must hold {UNK!r} once and no duplicate tokens")
        vocab = cls.__new__(cls)
        vocab.idx_to_token = list(idx_to_token)
        vocab.token_to_idx = {t: i for i, t in enumerate(idx_to_token)}
        vocab.token_freqs = []
        return vocab

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.idx_to_token == other.idx_to_token

    def __hash__(self) -> int:
        return hash(tuple(self.idx_to_token))

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.idx_to_token[:8])
        return f"Vocab(size={len(self)}, tokens=[{head}{', ...' if len(self) > 8 else ''}])"


# ---------------------------------------------------------------------------------------------
# Corpora


def _check_max_tokens(max_tokens: int | None) -> None:
    if max_tokens is not None:
        check_positive_int("max_tokens", max_tokens)


def time_machine_lines(path: str | os.PathLike | None = None) -> list[str]:
    """The Time Machine's lines after :func:`tokenize_d2l_line` (d2l's ``read_time_machine``).

    >>> time_machine_lines()[0]  # doctest: +SKIP
    'the time machine by h g wells'
    """
    with open(resolve_time_machine(path), encoding="utf-8") as handle:
        return [tokenize_d2l_line(line) for line in handle]


def load_time_machine(
    max_tokens: int | None = 10_000, path: str | os.PathLike | None = None
) -> tuple[list[int], Vocab]:
    """The Time Machine as a character corpus, d2l's ``load_corpus_time_machine``.

    Lines are tokenised with :func:`tokenize_d2l_line` and concatenated without a separator;
    every character is a token. The vocabulary (28: ``<unk>``, space, 26 letters) is built on
    the full text; ``max_tokens`` then keeps the first tokens (d2l's default 10,000; None: all
    170,580). Returns ``(corpus, vocab)``: corpus a list of ints of length ≤ max_tokens.

    >>> corpus, vocab = load_time_machine()  # doctest: +SKIP
    >>> len(corpus), len(vocab), "".join(vocab.to_tokens(corpus[:8]))  # doctest: +SKIP
    (10000, 28, 'the time')
    """
    _check_max_tokens(max_tokens)
    characters = [ch for line in time_machine_lines(path) for ch in line]
    vocab = Vocab(characters)
    corpus = vocab[characters[:max_tokens] if max_tokens is not None else characters]
    return corpus, vocab


def read_text_file(path: str | os.PathLike) -> str:
    """A UTF-8 text file's contents (a leading byte-order mark dropped).

    ValueError naming the file if it is not valid UTF-8; FileNotFoundError if missing.
    """
    from pirho._files import read_text

    return read_text(path)


def load_text_corpus(
    path: str | os.PathLike, max_tokens: int | None = None, lowercase: bool = False
) -> tuple[list[int], Vocab]:
    """Any UTF-8 text file as a character corpus (Chinese and other scripts included).

    The text goes through :func:`normalize_text` (whitespace runs, newlines included, become
    one space); every character is a token; the vocabulary is built on the whole text, most
    frequent first, with ``<unk>`` at index 0. ``max_tokens`` keeps the first tokens.
    ValueError naming the file if it is empty (only whitespace) or not UTF-8.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "poem.txt"
    >>> _ = p.write_text("床前明月光\\n疑是地上霜\\n", encoding="utf-8")
    >>> corpus, vocab = load_text_corpus(p)
    >>> len(corpus), "".join(vocab.to_tokens(corpus))
    (11, '床前明月光 疑是地上霜')
    """
    _check_max_tokens(max_tokens)
    text = normalize_text(read_text_file(path), "raw-lower" if lowercase else "raw").strip()
    if not text:
        raise ValueError(f"{path}: the file is empty (no characters besides whitespace)")
    characters = list(text)
    vocab = Vocab(characters)
    corpus = vocab[characters[:max_tokens] if max_tokens is not None else characters]
    return corpus, vocab


_UNKNOWN_POLICIES = ("warn", "error")


def encode_text(text: str, vocab: Vocab, unknown: str = "warn") -> list[int]:
    """Characters of ``text`` → vocabulary indices.

    Characters outside ``vocab`` map to ``<unk>`` with a ``UserWarning`` naming them
    (``unknown="warn"``) or raise ValueError naming them (``unknown="error"``). No case or
    whitespace change is made: normalise first (e.g. ``tokenize_d2l_line``) to match a corpus.

    >>> v = Vocab("the time machine")
    >>> encode_text("time", v) == v[list("time")]
    True
    >>> encode_text("Time", v, unknown="error")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: text has characters not in the vocabulary: 'T' (at 0); ...
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if unknown not in _UNKNOWN_POLICIES:
        raise ValueError(f"unknown must be one of {_UNKNOWN_POLICIES}, got {unknown!r}")
    unseen: dict[str, int] = {}
    for position, ch in enumerate(text):
        if ch not in vocab.token_to_idx and ch not in unseen:
            unseen[ch] = position
    if unseen:
        listed = ", ".join(f"{ch!r} (at {pos})" for ch, pos in unseen.items())
        message = f"text has characters not in the vocabulary: {listed}"
        if unknown == "error":
            raise ValueError(f"{message}; normalise the text or use unknown='warn'")
        warnings.warn(f"{message}; mapped to {UNK!r}", UserWarning, stacklevel=2)
    return vocab[list(text)]


# Queries: text a user types, normalised the way a model's training text was

#: How a model's training text was normalised; queries are normalised the same way.
TEXT_MODES = ("d2l", "raw", "raw-lower")
#: The character that marks one missing character in a cloze query.
BLANK = "_"


def normalize_text(text: str, text_mode: str = "d2l") -> str:
    """Normalise ``text`` the way a model's training text was.

    ``"d2l"``: d2l's tokenisation (:func:`pirho.data.tokenize_d2l_line`) — but a leading or
    trailing run of non-letters is kept as one space, since a prefix like ``"the "`` means
    "the next character starts a new word". ``"raw"``: whitespace runs become one space;
    ``"raw-lower"``: the same, lowercased.

    >>> normalize_text("The Time-Traveller, ")
    'the time traveller '
    """
    if text_mode not in TEXT_MODES:
        raise ValueError(f"text_mode {text_mode!r} is not one of {TEXT_MODES}")
    if text_mode == "d2l":
        core = tokenize_d2l_line(text)
        if not core:
            return " " if text else ""
        lead = " " if not re.match(r"[A-Za-z]", text[0]) else ""
        trail = " " if not re.match(r"[A-Za-z]", text[-1]) else ""
        return lead + core + trail
    text = re.sub(r"\s+", " ", text)
    return text.lower() if text_mode == "raw-lower" else text


def erased_characters(text: str, text_mode: str = "d2l") -> dict[str, int]:
    """The characters of ``text`` that :func:`normalize_text` erases (with the position of
    each one's first use): for ``"d2l"`` every character that is neither an ASCII letter nor
    whitespace (d2l's tokenisation turns them into spaces); none for the raw modes.

    >>> erased_characters("TIME!! 你好")
    {'!': 4, '你': 7, '好': 8}
    """
    if text_mode != "d2l":
        return {}
    erased: dict[str, int] = {}
    for position, ch in enumerate(text):
        if not (ch.isascii() and ch.isalpha()) and not ch.isspace():
            erased.setdefault(ch, position)
    return erased


def encode_query(text: str, vocab: Vocab, text_mode: str = "d2l", unknown: str = "warn") -> list:
    """Normalise ``text`` (see :func:`normalize_text`) and map it to vocabulary indices.

    Characters outside the vocabulary become ``<unk>`` with a warning (``unknown="warn"``) or
    raise ValueError (``unknown="error"``). With ``unknown="error"`` the characters that
    normalisation would erase (:func:`erased_characters`) are refused first, since the model
    never saw them either.

    >>> encode_query("Ab!", Vocab("ab "))[:2] == Vocab("ab ")[["a", "b"]]
    True
    >>> encode_query("ab!", Vocab("ab "), unknown="error")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: text has characters the model never saw (...): '!' (at 2); ...
    """
    if unknown == "error":
        _refuse_erased(text, text_mode)
    return encode_text(normalize_text(text, text_mode), vocab, unknown=unknown)


def _refuse_erased(text: str, text_mode: str, keep: str = "") -> None:
    erased = {ch: pos for ch, pos in erased_characters(text, text_mode).items() if ch not in keep}
    if erased:
        listed = ", ".join(f"{ch!r} (at {pos})" for ch, pos in erased.items())
        raise ValueError(
            f"text has characters the model never saw ({text_mode!r} text keeps only "
            f"letters and spaces): {listed}; remove them, or drop --strict "
            "(unknown='error') to let normalisation replace them"
        )


def encode_cloze_query(
    query: str, vocab: Vocab, text_mode: str = "d2l", unknown: str = "warn", blank: str = BLANK
) -> tuple[list[int], list[int]]:
    """Indices of a cloze query and the positions of its blanks.

    Each ``blank`` character is one unknown character (its index is ``vocab.unk`` until
    filled); the text between blanks is normalised like training text. A query without a
    blank raises ValueError.

    >>> ids, gaps = encode_cloze_query("ab__a", Vocab("ab"))
    >>> gaps
    [2, 3]
    """
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, got {type(query).__name__}")
    if len(blank) != 1:
        raise ValueError(f"blank must be one character, got {blank!r}")
    if blank not in query:
        raise ValueError(
            f"cloze query {query!r} has no blank: mark each missing character with {blank!r}, "
            f"e.g. 'the time tr{blank * 3}ller'"
        )
    if unknown == "error":
        _refuse_erased(query, text_mode, keep=blank)  # positions in the whole query
    ids: list[int] = []
    gaps: list[int] = []
    for is_blank, run in itertools.groupby(query, key=lambda ch: ch == blank):
        run = "".join(run)
        if is_blank:
            gaps.extend(range(len(ids), len(ids) + len(run)))
            ids.extend([vocab.unk] * len(run))
        else:
            ids.extend(encode_query(run, vocab, text_mode, unknown=unknown))
    return ids, gaps
