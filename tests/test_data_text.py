"""pirho.data.text: Time Machine resolution (sha1, offline), d2l tokenisation, Vocab, any text."""

from __future__ import annotations

import hashlib
import string
import subprocess
import sys
import urllib.error
from collections import Counter
from pathlib import Path

import pytest
from conftest import TIME_MACHINE, find_time_machine

from pirho.data import (
    TIME_MACHINE_SHA1,
    Vocab,
    encode_text,
    load_text_corpus,
    load_time_machine,
    resolve_time_machine,
    tokenize_d2l_line,
)
from pirho.data import text as text_module


@pytest.fixture(scope="module")
def time_machine() -> Path:
    """Module-scoped (the conftest fixture is per test): the same search, without the env."""
    path = find_time_machine()
    if path is None:
        pytest.skip(
            f"The Time Machine not found: set PIRHO_DATA_DIR to a folder with {TIME_MACHINE}"
        )
    return path


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No $PIRHO_DATA_DIR, an empty cache, and a network that fails (counting attempts)."""
    monkeypatch.delenv("PIRHO_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []

    def offline(url, timeout=30.0):
        calls.append(url)
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(text_module, "_fetch", offline)
    return calls


def reference_d2l_line(line: str) -> str:
    """d2l's preprocessing written as a character loop (not a regex): runs of non-ASCII-letters
    become one space, then strip and lower-case."""
    out, in_gap = [], False
    for ch in line:
        if ch in string.ascii_letters:
            out.append(ch)
            in_gap = False
        elif not in_gap:
            out.append(" ")
            in_gap = True
    return "".join(out).strip().lower()


# --- resolution ----------------------------------------------------------------------------------


def test_offline_without_copy_raises_file_not_found_saying_how_to_provide_one(isolated):
    with pytest.raises(FileNotFoundError) as info:
        resolve_time_machine()
    message = str(info.value)
    assert "PIRHO_DATA_DIR" in message and "path=" in message and "cache" in message
    assert len(isolated) == 1  # the download was tried once


def test_download_disabled_raises_without_touching_network(isolated):
    with pytest.raises(FileNotFoundError, match="download disabled"):
        resolve_time_machine(download=False)
    assert isolated == []


def test_sha1_mismatch_in_data_dir_raises_value_error(isolated, monkeypatch, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "timemachine.txt").write_text("not the time machine\n")
    monkeypatch.setenv("PIRHO_DATA_DIR", str(folder))
    with pytest.raises(ValueError, match="sha1 .* does not match"):
        resolve_time_machine()


def test_sha1_mismatch_at_explicit_path_raises_and_missing_path_does_not_fall_back(
    time_machine, tmp_path, monkeypatch
):
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("hello\n")
    with pytest.raises(ValueError, match=TIME_MACHINE_SHA1):
        resolve_time_machine(wrong)
    monkeypatch.setenv("PIRHO_DATA_DIR", str(time_machine.parent))
    with pytest.raises(FileNotFoundError, match="given path"):
        resolve_time_machine(tmp_path / "missing.txt")


def test_resolution_order_path_then_data_dir_then_cache(
    time_machine, isolated, monkeypatch, tmp_path
):
    data = time_machine.read_bytes()
    cache = tmp_path / "cache" / "pirho"
    cache.mkdir(parents=True)
    (cache / "timemachine.txt").write_bytes(data)
    assert resolve_time_machine() == cache / "timemachine.txt"
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    (env_dir / "timemachine.txt").write_bytes(data)
    monkeypatch.setenv("PIRHO_DATA_DIR", str(env_dir))
    assert resolve_time_machine() == env_dir / "timemachine.txt"
    explicit = tmp_path / "mine.txt"
    explicit.write_bytes(data)
    assert resolve_time_machine(explicit) == explicit
    assert isolated == []  # no download attempted


def test_download_writes_verified_copy_into_cache_once(time_machine, monkeypatch, tmp_path):
    monkeypatch.delenv("PIRHO_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    data = time_machine.read_bytes()
    calls = []

    def fake_fetch(url, timeout=30.0):
        calls.append(url)
        return data

    monkeypatch.setattr(text_module, "_fetch", fake_fetch)
    path = resolve_time_machine()
    assert path == tmp_path / "pirho" / "timemachine.txt"
    assert hashlib.sha1(path.read_bytes()).hexdigest() == TIME_MACHINE_SHA1
    assert resolve_time_machine() == path
    assert calls == [text_module.TIME_MACHINE_URL]  # the second call used the cache


def test_download_with_wrong_hash_raises_and_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("PIRHO_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(text_module, "_fetch", lambda url, timeout=30.0: b"tampered")
    with pytest.raises(ValueError, match="sha1"):
        resolve_time_machine()
    assert not (tmp_path / "pirho" / "timemachine.txt").exists()


# --- d2l tokenisation and the corpus -------------------------------------------------------------


def test_tokenisation_matches_d2l_on_a_sample_of_lines(time_machine):
    lines = time_machine.read_text(encoding="utf-8").splitlines(keepends=True)
    sample = lines[::37] + ["Don't -- stop!\n", "1895: the END.", "café au lait", "", "  \t\n"]
    assert len(sample) > 90
    for line in sample:
        assert tokenize_d2l_line(line) == reference_d2l_line(line), repr(line)


def test_time_machine_vocab_is_28_in_d2l_frequency_order(time_machine):
    corpus, vocab = load_time_machine(max_tokens=None, path=time_machine)
    assert len(vocab) == 28
    # d2l prints these as the first ten entries of its character vocabulary
    assert vocab.idx_to_token[:10] == ["<unk>", " ", "e", "t", "a", "i", "n", "o", "s", "h"]
    lines = time_machine.read_text(encoding="utf-8").splitlines()
    characters = [ch for line in lines for ch in reference_d2l_line(line)]
    counts = Counter(characters)
    frequencies = [counts[t] for t in vocab.idx_to_token[1:]]
    assert frequencies == sorted(frequencies, reverse=True)
    assert set(vocab.idx_to_token[1:]) == set(string.ascii_lowercase) | {" "}
    assert len(corpus) == len(characters) == 170_580  # d2l: len(corpus) = 170580


def test_time_machine_first_tokens_and_max_tokens(time_machine):
    corpus, vocab = load_time_machine(path=time_machine)
    assert len(corpus) == 10_000
    # lines are joined without a separator, as in d2l ("wells" + "i" of chapter I)
    assert "".join(vocab.to_tokens(corpus[:40])) == "the time machine by h g wellsithe time t"
    full, _ = load_time_machine(max_tokens=None, path=time_machine)
    assert corpus == full[:10_000]
    assert vocab.unk == 0 and vocab.unk not in corpus


@pytest.mark.parametrize(
    ("bad", "error"), [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_max_tokens_must_be_positive_int_or_none(bad, error):
    with pytest.raises(error, match="max_tokens"):
        load_time_machine(max_tokens=bad)


# --- any UTF-8 text ------------------------------------------------------------------------------


def test_chinese_text_file_works_at_character_level(tmp_path):
    path = tmp_path / "jingyesi.txt"
    path.write_text("床前明月光，\n疑是地上霜。\n举头望明月，\n低头思故乡。\n", encoding="utf-8")
    corpus, vocab = load_text_corpus(path)
    decoded = "".join(vocab.to_tokens(corpus))
    assert decoded == "床前明月光， 疑是地上霜。 举头望明月， 低头思故乡。"
    assert len(corpus) == 27
    # the space (3 times) first, then the characters seen twice in order of first occurrence
    assert vocab.idx_to_token[:7] == ["<unk>", " ", "明", "月", "，", "。", "头"]
    assert [Counter(decoded)[t] for t in vocab.idx_to_token[1:8]] == [3, 2, 2, 2, 2, 2, 1]
    assert encode_text("明月", vocab) == corpus[2:4]


def test_text_corpus_collapses_whitespace_and_lowercases_on_request(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("\ufeffHello\r\n\r\n  World\tAgain \n", encoding="utf-8")
    corpus, vocab = load_text_corpus(path, lowercase=True, max_tokens=11)
    assert "".join(vocab.to_tokens(corpus)) == "hello world"


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"])
def test_empty_text_file_raises_naming_the_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="empty.txt.*empty"):
        load_text_corpus(path)


def test_non_utf8_file_raises_naming_the_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt is not UTF-8 text"):
        load_text_corpus(path)


# --- Vocab and encode_text -----------------------------------------------------------------------


def test_vocab_orders_by_frequency_ties_by_first_occurrence_and_round_trips():
    vocab = Vocab(list("bcabca a"), reserved_tokens=("<unk>", "<pad>"))
    assert vocab.idx_to_token == ["<unk>", "<pad>", "a", "b", "c", " "]
    assert vocab["c"] == 4 and vocab["?"] == vocab.unk == 0
    assert vocab[["a", "zz"]] == [2, 0]
    assert vocab.to_tokens(3) == "b" and vocab.to_tokens([5, 2]) == [" ", "a"]
    again = Vocab.from_dict(vocab.to_dict())
    assert again == vocab and again.token_to_idx == vocab.token_to_idx
    assert Vocab("aab", min_freq=2).idx_to_token == ["<unk>", "a"]
    assert Vocab("ab", reserved_tokens=()).idx_to_token == ["<unk>", "a", "b"]


@pytest.mark.parametrize("bad", [{}, {"idx_to_token": ["a"]}, {"idx_to_token": ["<unk>", 1]}])
def test_vocab_from_bad_dict_raises(bad):
    with pytest.raises(ValueError, match="vocab dict"):
        Vocab.from_dict(bad)


def test_encode_text_unknown_characters_warn_or_error():
    vocab = Vocab("the time machine")
    with pytest.warns(UserWarning, match=r"'T' \(at 0\), '!' \(at 3\)"):
        ids = encode_text("The!", vocab)
    assert ids == [vocab.unk, vocab["h"], vocab["e"], vocab.unk]
    with pytest.raises(ValueError, match="'X'"):
        encode_text("aXb", vocab, unknown="error")
    with pytest.raises(ValueError, match="unknown must be one of"):
        encode_text("a", vocab, unknown="drop")
    with pytest.raises(TypeError, match="str"):
        encode_text(["a"], vocab)


def test_text_part_of_pirho_data_does_not_import_torch():
    code = "import sys, pirho.data; from pirho.data import Vocab; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
