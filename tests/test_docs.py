"""The docs print what the code prints: documented commands re-run, their output compared.

A fenced block in README.md, docs/*.md, README.zh-CN.md or docs/zh/*.md is checked when the line
before its opening fence is ``<!-- docs-check -->``:

- a ``console`` block: each ``$ command`` line runs in bash, in a fresh temporary folder (one
  per block, so a later command sees an earlier one's files), with this checkout's ``pirho``
  and Python first on PATH and ``$PIRHO_DATA_DIR`` passed through. The lines after it, up to
  the next ``$`` line, are its expected standard output, compared line by line: in an expected
  line ``…`` stands for any text (a timing, a path), a line that is only ``…`` for any number
  of lines, and runs of spaces compare equal. Every other character — every number — must be
  what the command prints.
- a ``python`` block with ``>>>`` prompts runs as a doctest (``...`` elides, as in doctest).

Checking re-runs training, so these tests carry the ``docs`` marker and are left out of the
default run: ``make docs-check`` (``pytest -m docs tests/test_docs.py``) runs them, and CI runs
that after ``make test``. Only quick commands (under about a minute on 2 cores) are marked.
The unmarked tests below check the checker.
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKER = "<!-- docs-check -->"
ANY = "…"
ENGLISH = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# the Chinese docs: the same check, so that a changed number fails in both languages
CHINESE = [REPO / "README.zh-CN.md", *sorted((REPO / "docs" / "zh").glob("*.md"))]
DOCS = ENGLISH + CHINESE


@dataclass
class Block:
    """One marked fenced block: where it is, its language and its lines."""

    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    lines: list[str]

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def marked_blocks(path: Path) -> list[Block]:
    """The fenced blocks of ``path`` that follow a ``<!-- docs-check -->`` line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        fence = lines[i + 1] if i + 1 < len(lines) else ""
        if not fence.startswith("```"):
            raise ValueError(f"{path}:{i + 1}: {MARKER} must be followed by a fenced block")
        end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
        blocks.append(Block(path, i + 2, fence[3:].strip(), lines[i + 2 : end]))
    return blocks


def console_steps(lines: list[str]) -> list[tuple[str, list[str]]]:
    """A console block as (command, expected output lines) pairs; ``\\`` continues a command.

    >>> console_steps(["$ echo a", "a", "$ true"])
    [('echo a', ['a']), ('true', [])]
    """
    steps: list[tuple[str, list[str]]] = []
    continuing = False
    for line in lines:
        if continuing:
            command, expected = steps[-1]
            steps[-1] = (command + "\n" + line, expected)
        elif line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise ValueError(f"output line before any command: {line!r}")
        continuing = (continuing or line.startswith("$ ")) and line.endswith("\\")
    return steps


def line_pattern(expected: str) -> re.Pattern:
    """A regex for one expected line: ``…`` is any text, runs of spaces are any whitespace."""
    parts = [r"\s+".join(map(re.escape, part.split())) for part in expected.split(ANY)]
    return re.compile(r"\s*" + ".*?".join(parts) + r"\s*")


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """True when ``actual`` lines match ``expected`` (``…`` lines match any number of lines).

    >>> output_matches(["total …s", "…", "done 0.75"], ["total 1.4s", "x", "y", "done 0.75"])
    True
    >>> output_matches(["done 0.75"], ["done 0.76"])
    False
    """
    # reachable[j]: expected[:i] can match actual[:j]
    reachable = [True] + [False] * len(actual)
    for line in expected:
        if line.strip() == ANY:
            for j in range(1, len(actual) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
            continue
        pattern = line_pattern(line)
        step = [False] * (len(actual) + 1)
        for j in range(1, len(actual) + 1):
            step[j] = reachable[j - 1] and pattern.fullmatch(actual[j - 1]) is not None
        reachable = step
    return reachable[-1]


def run_command(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run one documented command with this checkout's pirho and Python first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    # Documented numbers are float32 training: without this, precision "auto" trains in
    # bfloat16 on CPUs with native BF16 and the last digits differ from machine to machine.
    env["PIRHO_PRECISION"] = "fp32"
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def all_marked_blocks() -> list[Block]:
    return [block for path in DOCS for block in marked_blocks(path)]


@pytest.mark.docs
@pytest.mark.parametrize("block", all_marked_blocks(), ids=lambda block: block.name)
def test_documented_output_is_what_the_code_prints(block, tmp_path, monkeypatch):
    monkeypatch.setenv("PIRHO_PRECISION", "fp32")  # as run_command does, for python blocks
    if block.language == "console":
        for command, expected in console_steps(block.lines):
            done = run_command(command, tmp_path)
            assert done.returncode == 0, f"{block.name}: `{command}` failed:\n{done.stderr}"
            actual = done.stdout.splitlines()
            assert output_matches(expected, actual), (
                f"{block.name}: `{command}` printed\n"
                + "\n".join(actual)
                + "\n\nbut the docs say\n"
                + "\n".join(expected)
            )
    elif block.language == "python":
        text = "\n".join(block.lines) + "\n"
        test = doctest.DocTestParser().get_doctest(text, {}, block.name, str(block.path), 0)
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        runner = doctest.DocTestRunner(verbose=False, optionflags=flags)  # not -v's verbosity
        old_cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            runner.run(test, out=lambda text: pytest.fail(f"{block.name}:\n{text}"))
        finally:
            os.chdir(old_cwd)
        assert test.examples, f"{block.name}: a python block needs >>> examples to be checked"
    else:
        pytest.fail(f"{block.name}: cannot check a {block.language!r} block")


# ---------------------------------------------------------------------------------------------
# The checker itself (default run)


def test_every_doc_has_checked_blocks_and_each_parses():
    blocks = all_marked_blocks()
    assert {b.path.name for b in blocks} >= {"README.md", "thesis.md"}
    for block in blocks:
        if block.language == "console":
            assert console_steps(block.lines), block.name


def test_chinese_docs_exist_and_are_checked():
    names = {path.relative_to(REPO).as_posix() for path in CHINESE}
    assert {"README.zh-CN.md", "docs/zh/thesis.md", "docs/zh/hmm_api.md"} <= names
    assert {"docs/zh/tagging.md"} <= names
    assert all(path.is_file() for path in CHINESE)
    assert any(marked_blocks(path) for path in CHINESE)


def test_chinese_checked_blocks_are_english_checked_blocks():
    """A command checked in Chinese prints exactly what its English twin documents (the outputs
    are English: pirho's terminal output is not translated), so the two cannot drift apart."""
    english = {tuple(b.lines) for path in ENGLISH for b in marked_blocks(path)}
    for path in CHINESE:
        for block in marked_blocks(path):
            assert tuple(block.lines) in english, f"{block.name} has no English twin"


def test_readmes_link_each_other():
    english = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    chinese = (REPO / "README.zh-CN.md").read_text(encoding="utf-8").splitlines()
    assert any("README.zh-CN.md" in line for line in english[:5])
    assert any("(README.md)" in line for line in chinese[:5])


def test_a_changed_number_or_a_missing_line_fails_the_match():
    printed = ["uni 10.303 10.303", "bi 1.142 13.777", "total time: 21 s"]
    assert output_matches(["uni 10.303 10.303", "bi  1.142   13.777", "total time: … s"], printed)
    assert not output_matches(["uni 10.303 10.303", "bi 1.142 13.855", "total time: … s"], printed)
    assert not output_matches(["uni 10.303 10.303", "total time: … s"], printed)
    assert output_matches(["…", "total time: … s"], printed)
    assert not output_matches(["…", "bi 1.142 13.777"], printed)
