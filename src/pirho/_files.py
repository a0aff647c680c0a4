"""Files a user gives pirho: one guard for every output path, one reader for every input file.

Outputs — :func:`check_outputs` is the one check every command that writes files runs before
any work starts (the command line runs it while parsing). For each output it refuses:

- a path that cannot be written (a folder given as a file, a file on the way to a folder, a
  read-only folder, an empty path);
- a format the writer cannot produce (``--plot x.txt``: matplotlib writes no ``.txt``);
- a path that is one of the command's inputs (symlinks and relative paths resolved), which
  writing would destroy;
- a path that another output of the same command also names;
- an existing file the command would destroy (unless ``overwrite`` is given): a checkpoint
  (unless ``resume`` continues it), or a file that is not what the output writes — a JSON
  output over a file that is not JSON, a text output over binary data, a ``.png``/``.pdf``/
  ``.jpg`` plot over a file that is not such an image.

Inputs — :func:`read_text`, :func:`read_json` and :func:`load_array` read a user's file and
report every problem (missing, a folder, not UTF-8 with the byte offset, binary bytes, a
truncated or malformed JSON or ``.npy``, an object array that would need pickle) in a
:class:`InputFileError` that names the file. ``.npy`` files are never loaded with pickle.

This module imports only the standard library and numpy (lazily), so :mod:`pirho.hmm` can use it.

>>> check_outputs([("--json", "results.json", "json")], inputs=[("INPUT", "data.txt")])
>>> check_outputs([("-o", "data.txt", "file")], inputs=[("INPUT", "data.txt")])
Traceback (most recent call last):
...
ValueError: -o data.txt is the input INPUT: writing it would destroy the input; give another path
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "OUTPUT_KINDS",
    "PLOT_SUFFIXES",
    "InputFileError",
    "MissingInputError",
    "check_input_path",
    "check_outputs",
    "iter_text_lines",
    "load_array",
    "output_path_problem",
    "plot_format_problem",
    "read_json",
    "read_text",
    "same_path",
]

OUTPUT_KINDS = ("file", "json", "plot", "checkpoint", "dir")
"""What an output is: any file (text, CSV, HTML: overwritten on a re-run), a JSON file (an
existing file must be JSON), a plot (its suffix must be a format matplotlib writes), a
checkpoint (an existing one is never replaced silently) or a folder."""

# the formats matplotlib's Agg, PDF, PS, SVG and PGF backends write (Figure.savefig)
PLOT_SUFFIXES = (
    ".eps", ".jpeg", ".jpg", ".pdf", ".pgf", ".png", ".ps", ".raw", ".rgba",
    ".svg", ".svgz", ".tif", ".tiff", ".webp",
)  # fmt: skip


class InputFileError(ValueError):
    """A user's input file that cannot be read as what pirho expects; the message names it."""


class MissingInputError(InputFileError, FileNotFoundError):
    """An input file that does not exist (both a ValueError and a FileNotFoundError)."""


# --------------------------------------------------------------------------------------------
# Outputs


def _nearest_existing(path: Path) -> Path:
    """The path itself or its closest ancestor that exists (a file or a folder)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")  # pragma: no cover - the filesystem root always exists


def _writable_folder_problem(folder: Path, shown: str) -> str | None:
    """Why files cannot be created in the existing folder ``folder`` (None when they can).

    Root passes ``os.access`` for any folder, so a folder with no write bit for anyone counts
    as read-only too: that is what its owner asked for.
    """
    mode = folder.stat().st_mode
    if not os.access(folder, os.W_OK | os.X_OK) or not mode & (
        stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    ):
        return f"{shown}: folder {str(folder)!r} is not writable"
    return None


def output_path_problem(path: str | os.PathLike, *, kind: str = "file") -> str | None:
    """Why ``path`` cannot be written as an output of ``kind`` (:data:`OUTPUT_KINDS`); None if
    it can.

    A file output must not be a folder; a folder output must not be a file. Folders missing
    on the way are fine (pirho creates them) as long as the nearest one that exists is a
    writable folder, not a file. A plot must have a suffix matplotlib writes. The message
    names the path as the user wrote it.

    >>> output_path_problem(".", kind="file")
    "'.' is a directory; give a file name inside it"
    >>> output_path_problem("", kind="dir")
    'an empty path; give a folder name'
    """
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"kind must be one of {OUTPUT_KINDS}, got {kind!r}")
    if not os.fspath(path).strip():
        return f"an empty path; give a {'folder' if kind == 'dir' else 'file'} name"
    shown = repr(os.fspath(path))
    target = Path(path)
    if kind != "dir" and target.is_dir():
        return f"{shown} is a directory; give a file name inside it"
    if kind == "dir" and target.exists() and not target.is_dir():
        return f"{shown} is a file, not a folder"
    existing = _nearest_existing(target if kind == "dir" else target.parent)
    if not existing.is_dir():
        return f"{shown}: {str(existing)!r} is a file, not a folder"
    if kind != "dir" and target.is_file():
        # root passes os.access for any file: a file without a write bit for anyone counts as
        # read-only too, since that is what its owner asked for
        mode = target.stat().st_mode
        if not os.access(target, os.W_OK) or not mode & (
            stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        ):
            return f"{shown} is read-only"
    problem = _writable_folder_problem(existing, shown)
    if problem is None and kind == "plot":
        problem = plot_format_problem(path)
    return problem


def plot_format_problem(path: str | os.PathLike) -> str | None:
    """Why matplotlib cannot write a figure to ``path`` (its suffix); None if it can.

    >>> plot_format_problem("fig.png") is None
    True
    >>> plot_format_problem("fig.txt")  # doctest: +ELLIPSIS
    "'fig.txt': matplotlib cannot write '.txt' files; use .png, .pdf, .svg (or .eps, ...)"
    """
    suffix = Path(path).suffix.lower()
    if suffix in PLOT_SUFFIXES:
        return None
    others = ", ".join(s for s in PLOT_SUFFIXES if s not in (".png", ".pdf", ".svg"))
    written = f"{suffix!r} files" if suffix else "a file without a suffix"
    return (
        f"{os.fspath(path)!r}: matplotlib cannot write {written}; use .png, .pdf, .svg "
        f"(or {others})"
    )


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name one file: the same path once symlinks and ``..`` are
    resolved, or (both existing) the same inode, so a hard link counts too.

    >>> same_path("x/../data.txt", "data.txt")
    True
    """
    try:
        if os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


_SNIFF_BYTES = 1 << 16  # how much of an existing output is read to tell what it is
# control bytes that never occur in text (tab, newlines, form feed and escape are text)
_TEXT_CONTROLS = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))
_IMAGE_MAGIC = {  # what an existing plot must start with to be replaced without --overwrite
    ".png": (b"\x89PNG",),
    ".pdf": (b"%PDF",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
}


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(_SNIFF_BYTES)
    except OSError:
        return b""


def _is_text_file(path: Path) -> bool:
    """UTF-8 text without control bytes other than whitespace and escape in its first 64 KiB
    (a multi-byte character cut at the end of the sample is fine)."""
    head = _head(path)
    if head.translate(None, _TEXT_CONTROLS) != head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and len(head) == _SNIFF_BYTES
    return True


def _is_json_file(path: Path) -> bool:
    """Valid JSON (a file over 16 MiB only has to start like a JSON object or array)."""
    if path.stat().st_size > 16 << 20:
        return _head(path).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")
    try:
        json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError):
        return False
    return True


def _replaced_file_problem(path: Path, kind: str) -> str | None:
    """Why the existing file ``path`` is not what an output of ``kind`` writes (None if it is):
    a JSON output replaces only JSON, a text output only text, a plot only an image of its
    format; a checkpoint is handled by the caller."""
    if kind == "json" and not _is_json_file(path):
        return "is not a JSON file"
    if kind == "file" and not _is_text_file(path):
        return "is not a text file (binary data: a checkpoint, an image, an archive?)"
    magic = _IMAGE_MAGIC.get(path.suffix.lower())
    if kind == "plot" and magic and not _head(path).startswith(magic):
        return f"is not a {path.suffix.lower()} image"
    return None


def check_outputs(
    outputs: Iterable[tuple[str, str | os.PathLike | None, str]],
    inputs: Iterable[tuple[str, str | os.PathLike | None]] = (),
    *,
    resume: bool = False,
    overwrite: bool = False,
    overwrite_option: str | None = "--overwrite",
    resume_option: str | None = "--resume",
) -> None:
    """Raise ValueError naming every output of a command that must not be written.

    outputs: ``(option, path, kind)`` per output, kind one of :data:`OUTPUT_KINDS`; inputs:
    ``(option, path)`` per input file. ``None`` paths are skipped, so optional options pass
    as they are. ``resume``: the command continues its checkpoint (an existing checkpoint is
    then read, not destroyed). ``overwrite``: the user asked to replace existing files.
    ``overwrite_option``: how the message tells the user to ask (None: the command has no
    such option); ``resume_option`` likewise for continuing a checkpoint. See the module
    docstring for the rules.

    >>> check_outputs([("--checkpoint", "x.pt", "checkpoint"), ("--json", "x.pt", "json")])
    Traceback (most recent call last):
    ...
    ValueError: --checkpoint x.pt and --json x.pt are the same file; give each output its own path
    """
    outputs = [(opt, os.fspath(p), kind) for opt, p, kind in outputs if p is not None]
    inputs = [(opt, os.fspath(p)) for opt, p in inputs if p is not None]
    problems: list[str] = []
    for option, path, kind in outputs:
        problem = output_path_problem(path, kind=kind)
        if problem:
            problems.append(f"{option}: {problem}")
            continue
        for in_option, in_path in inputs:
            if kind != "dir" and same_path(path, in_path):
                problems.append(
                    f"{option} {path} is the input {in_option}: writing it would destroy "
                    "the input; give another path"
                )
            elif (
                kind != "dir"
                and os.path.isdir(in_path)
                and os.path.isfile(path)
                and same_path(os.path.dirname(os.path.realpath(path)), in_path)
            ):
                problems.append(
                    f"{option} {path} is a file of the input folder {in_option} {in_path}: "
                    "writing it would destroy an input; give a path outside that folder"
                )
        target = Path(path)
        if kind == "checkpoint" and target.is_file() and not (resume or overwrite):
            ways = [f"pass {resume_option} to continue it"] if resume_option else []
            ways.append(f"{overwrite_option} to replace it" if overwrite_option else "")
            how = " or ".join(w for w in ways if w) or "remove it or give another path"
            if not resume_option and overwrite_option:
                how = f"pass {overwrite_option} to replace it"
            problems.append(f"{option} {path} already exists; {how}")
        elif kind != "checkpoint" and target.is_file() and not overwrite:
            problem = _replaced_file_problem(target, kind)
            if problem:
                how = f"; pass {overwrite_option} to replace it" if overwrite_option else ""
                problems.append(f"{option} {path} exists and {problem}{how}")
    seen: list[tuple[str, str, str]] = []
    for option, path, kind in outputs:
        for other_option, other_path, other_kind in seen:
            if kind != "dir" and other_kind != "dir" and same_path(path, other_path):
                problems.append(
                    f"{other_option} {other_path} and {option} {path} are the same file; "
                    "give each output its own path"
                )
        seen.append((option, path, kind))
    if problems:
        raise ValueError("; ".join(problems))


# --------------------------------------------------------------------------------------------
# Inputs


def _named(path: str | os.PathLike, what: str | None) -> str:
    return f"{what} {os.fspath(path)}" if what else os.fspath(path)


def check_input_path(path: str | os.PathLike, what: str | None = None) -> Path:
    """``path`` as a Path if it is an existing, readable file; else an error naming it
    (MissingInputError when it does not exist, InputFileError for a folder or no permission).
    ``what`` says what the file is for (``"--model"``, ``"corpus file"``).

    >>> check_input_path(".", "--corpus")
    Traceback (most recent call last):
    ...
    pirho._files.InputFileError: --corpus .: is a folder, not a file
    """
    named = _named(path, what)
    target = Path(path)
    if target.is_dir():
        raise InputFileError(f"{named}: is a folder, not a file")
    if not target.exists():
        raise MissingInputError(f"{named} does not exist")
    if not target.is_file():
        raise InputFileError(f"{named}: is not a regular file")
    if not os.access(target, os.R_OK):
        raise InputFileError(f"{named}: is not readable (permission denied)")
    return target


def decode_text(data: bytes, path: str | os.PathLike, what: str | None = None) -> str:
    """``data`` (the bytes of ``path``) as UTF-8 text, a leading byte-order mark dropped.

    InputFileError naming the file when the bytes hold NUL (binary data) or are not UTF-8,
    with the byte offset and line of the first bad byte.

    >>> decode_text("héllo".encode(), "x.txt")
    'héllo'
    >>> decode_text(b"ab\\ncd\\xff", "x.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pirho._files.InputFileError: x.txt is not UTF-8 text: byte 0xff at offset 5 (line 2); ...
    """
    named = _named(path, what)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputFileError(
            f"{named} is not a text file: it holds a NUL byte at offset {nul} (binary data?)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise InputFileError(
            f"{named} is not UTF-8 text: byte {data[offset]:#04x} at offset {offset} "
            f"(line {line}); convert it to UTF-8"
        ) from None


def read_text(path: str | os.PathLike, what: str | None = None) -> str:
    """The contents of the UTF-8 text file ``path`` (a byte-order mark dropped).

    Every problem names the file (and ``what`` it is for): missing, a folder, unreadable,
    binary bytes, not UTF-8 (the byte, its offset and line).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_bytes("\\ufeff你好".encode())
    >>> read_text(p)
    '你好'
    """
    target = check_input_path(path, what)
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{_named(path, what)}: cannot read it ({exc.strerror})") from None
    return decode_text(data, path, what)


def read_json(path: str | os.PathLike, what: str | None = None) -> Any:
    """The JSON document in ``path``; every problem names the file (see :func:`read_text`),
    including malformed or truncated JSON (line and column).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.json"
    >>> _ = p.write_text('{"a": [1, 2')
    >>> read_json(p, "--model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pirho._files.InputFileError: --model .../m.json is not valid JSON: it ends early ...
    """
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        if not text.strip():
            reason = "the file is empty"
        elif exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated"):
            reason = f"it ends early (truncated?) at {where}"
        else:
            reason = f"{exc.msg} at {where}"
        raise InputFileError(f"{_named(path, what)} is not valid JSON: {reason}") from None


def load_array(path: str | os.PathLike, what: str | None = None, *, mmap: bool = False) -> Any:
    """A ``.npy`` file as an ndarray, or a ``.npz`` file as ``{name: ndarray}`` (all loaded).
    ``mmap=True`` memory-maps a ``.npy`` read-only instead of reading it.

    Never uses pickle: an object array is refused. A truncated file, random bytes, or a
    ``.npy`` whose header does not parse give an InputFileError naming the file.

    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.arange(3.0))
    >>> load_array(p)
    array([0., 1., 2.])
    >>> _ = p.write_bytes(p.read_bytes()[:-4])
    >>> load_array(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pirho._files.InputFileError: ...x.npy is truncated or damaged: ...
    """
    import numpy as np

    target = check_input_path(path, what)
    named = _named(path, what)
    try:
        with open(target, "rb") as handle:
            magic = handle.read(6)
    except OSError as exc:
        raise InputFileError(f"{named}: cannot read it ({exc.strerror})") from None
    is_zip = magic[:4] == b"PK\x03\x04"
    if magic != b"\x93NUMPY" and not is_zip:
        kind = "an .npz archive" if target.suffix.lower() == ".npz" else "a .npy file"
        raise InputFileError(f"{named} is not {kind} (it does not start with numpy's header)")
    try:
        mmap_mode = "r" if mmap and not is_zip else None
        loaded = np.load(target, allow_pickle=False, mmap_mode=mmap_mode)
        if is_zip:
            with loaded as archive:
                return {name: archive[name] for name in archive.files}
        return loaded
    except ValueError as exc:
        if any(s in str(exc) for s in ("allow_pickle", "Object arrays", "Python objects")):
            raise InputFileError(
                f"{named} holds Python objects (an object array); pirho never unpickles "
                "them: save an array of numbers"
            ) from None
        raise InputFileError(f"{named} is truncated or damaged: {_first_line(exc)}") from None
    except Exception as exc:  # EOFError, zipfile.BadZipFile, OSError, UnpicklingError, ...
        raise InputFileError(
            f"{named} is truncated or damaged ({type(exc).__name__}: {_first_line(exc)})"
        ) from None


def iter_text_lines(path: str | os.PathLike, what: str | None = None) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` of a UTF-8 text file one line at a time (line ending
    dropped), so a large file is never held whole; the same checks and messages as
    :func:`read_text`, raised when the bad line is reached.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_bytes(b"a,b\\r\\n1,2\\n")
    >>> list(iter_text_lines(p))
    [(1, 'a,b'), (2, '1,2')]
    """
    target = check_input_path(path, what)
    named = _named(path, what)
    offset = 0
    try:
        handle = open(target, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise InputFileError(f"{named}: cannot read it ({exc.strerror})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw, offset = raw[3:], 3
            nul = raw.find(b"\x00")
            if nul >= 0:
                raise InputFileError(
                    f"{named} is not a text file: it holds a NUL byte at offset {offset + nul} "
                    "(binary data?)"
                )
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    f"{named} is not UTF-8 text: byte {raw[exc.start]:#04x} at offset "
                    f"{offset + exc.start} (line {number}); convert it to UTF-8"
                ) from None
            offset += len(raw)
            yield number, line.rstrip("\r\n")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
