"""``pirho demo``: every claim of pirho, measured in a few minutes, in one offline report.

The demo iterates the registry :data:`pirho.experiments.EXPERIMENTS` in order (casino,
brute-vs-dp, hmm-vs-rnn, polysemy, lm-leak, cloze): each experiment module carries its own
``TITLE``, ``EXPLANATION``, ``headline(metrics)`` and ``requirements()``, so adding an
experiment touches its module and one registry line, never this file. An experiment whose
``requirements()`` gives a reason (The Time Machine not found) is skipped with one line.

Each section runs its experiment's quick configuration (``full=True``: the full ones). The output
folder gets ``report.html`` (self-contained: figures embedded as base64 PNGs, readable offline),
every PNG and ``results.json`` (the metrics of every section, keyed by section).
"""

from __future__ import annotations

import base64
import html
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from pirho import __version__
from pirho._atomic import atomic_open
from pirho._checks import check_seed
from pirho.experiments import EXPERIMENTS, load_experiment
from pirho.experiments.common import write_json
from pirho.explore import write_explorer

DEFAULT_OUT = "pirho-demo"


@dataclass
class Section:
    """One part of the report: what ran, what it measured, what it drew, how long it took."""

    key: str
    title: str
    explanation: str
    metrics: dict = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    summary: str = ""
    headline: str = ""
    seconds: float = 0.0


@dataclass
class DemoResult:
    """What :func:`run_demo` wrote: the folder, the report, the metrics file and the sections.

    skipped: experiment name -> why it did not run (e.g. The Time Machine not found).
    """

    out: Path
    report: Path
    results: Path
    sections: list[Section]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def figures(self) -> list[Path]:
        return [f for s in self.sections for f in s.figures]


def uses_text(module: ModuleType) -> bool:
    """True for an experiment that trains on real text: its configuration has a ``text`` entry,
    or the module says ``USES_TEXT = True`` (tagging, on a corpus)."""
    return getattr(module, "USES_TEXT", "text" in module.FULL)


def plan(include_text: bool = True) -> tuple[list[ModuleType], dict[str, str]]:
    """The experiments the demo runs, in registry order, and those it skips with the reason.

    An experiment is skipped when its ``requirements()`` gives a reason, or when it trains on
    text and ``include_text`` is False.

    >>> runs, skipped = plan(include_text=False)
    >>> skipped["lm-leak"]
    'text sections switched off (--no-text)'
    """
    runs, skipped = [], {}
    for name in EXPERIMENTS:
        module = load_experiment(name)
        reason = None
        if not include_text and uses_text(module):
            reason = "text sections switched off (--no-text)"
        else:
            reason = module.requirements()
        if reason is None:
            runs.append(module)
        else:
            skipped[name] = reason
    return runs, skipped


def skip_notes(skipped: dict[str, str]) -> list[str]:
    """One line per distinct reason: ``skipping lm-leak and cloze: <reason>``.

    >>> skip_notes({"lm-leak": "no text.", "cloze": "no text."})
    ['skipping lm-leak and cloze: no text.']
    """
    by_reason: dict[str, list[str]] = {}
    for name, reason in skipped.items():
        by_reason.setdefault(reason, []).append(name)
    notes = []
    for reason, names in by_reason.items():
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        notes.append(f"skipping {listed}: {reason}")
    return notes


def run_section(
    module: ModuleType, out: Path, seed: int, full: bool, progress: bool, overrides: dict
) -> Section:
    """Run one experiment (quick unless ``full``) with its figures written into ``out``."""
    started = time.perf_counter()
    result = module.run(quick=not full, seed=seed, out=out, progress=progress, **overrides)
    return Section(
        key=module.NAME,
        title=module.TITLE,
        explanation=module.EXPLANATION,
        metrics=result.metrics,
        figures=list(result.figures),
        summary=result.summary,
        headline=module.headline(result.metrics),
        seconds=time.perf_counter() - started,
    )


# ---------------------------------------------------------------------------------------------
# The run


def run_demo(
    out: str | os.PathLike = DEFAULT_OUT,
    *,
    seed: int = 0,
    full: bool = False,
    include_text: bool = True,
    sizes: dict[str, dict] | None = None,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run every experiment of the registry, write ``report.html``, the PNGs and ``results.json``.

    seed: one seed for every section. full: full configurations instead of quick ones (long).
    include_text: run the experiments that train on text (lm-leak, cloze) when their data are
    available (False: skip them). sizes: per-experiment keyword overrides of its configuration,
    e.g. ``{"hmm-vs-rnn": {"epochs": 2}}`` (for tests). progress: show training bars.
    echo: where progress lines go (default: print to stdout, flushed).

    >>> result = run_demo("/tmp/pirho-demo-doc", include_text=False, progress=False,
    ...                   echo=lambda line: None)  # doctest: +SKIP
    >>> result.report.name  # doctest: +SKIP
    'report.html'
    """
    seed = check_seed("seed", seed)
    echo = echo or (lambda line: print(line, flush=True))
    sizes = sizes or {}
    unknown = sorted(set(sizes) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"sizes names unknown experiment(s) {unknown}; known: {list(EXPERIMENTS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    modules, skipped = plan(include_text)

    mode = "full" if full else "quick"
    echo(f"pirho {__version__} demo: {len(modules)} sections ({mode} configurations), seed {seed}")
    echo(f"writing into {out.resolve()}")
    notes = skip_notes(skipped)
    for note in notes:
        echo(note)
    sections: list[Section] = []
    started = time.perf_counter()
    for number, module in enumerate(modules, start=1):
        tag = f"[{number}/{len(modules)}] {module.NAME}"
        echo(f"{tag}: {module.TITLE} ...")
        section = run_section(module, out, seed, full, progress, sizes.get(module.NAME, {}))
        sections.append(section)
        echo(f"{tag} done in {section.seconds:.1f} s: {section.headline}")
    total = time.perf_counter() - started

    results = write_json(
        {
            "pirho_version": __version__,
            "seed": seed,
            "configuration": mode,
            "sections": {s.key: s.metrics for s in sections},
            "skipped": skipped,
        },
        out / "results.json",
    )
    write_explorer(out / "explore.html")  # the interactive page the report links to
    report = out / "report.html"
    page = render_html(sections, seed=seed, mode=mode, total=total, notes=notes)
    with atomic_open(report, "w", encoding="utf-8") as handle:
        handle.write(page)
    echo("")
    echo(summary_table(sections, total))
    echo(f"report: {report.resolve()}")
    return DemoResult(out=out, report=report, results=results, sections=sections, skipped=skipped)


def summary_table(sections: list[Section], total: float) -> str:
    """The table printed at the end: one line per section with its headline and time."""
    width = max(len(s.key) for s in sections) if sections else 8
    lines = [f"{'section':<{width}}  {'time':>7}  result"]
    for s in sections:
        lines.append(f"{s.key:<{width}}  {s.seconds:6.1f}s  {s.headline}")
    lines.append(f"{'total':<{width}}  {total:6.1f}s")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The report


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; text-align: left;
       border-bottom: 1px solid #eee; vertical-align: top; }
td.nowrap { white-space: nowrap; } td.time { text-align: right; }
.meta { color: #666; font-size: 0.9em; } .headline { font-weight: 600; }
"""


def embed_png(path: str | os.PathLike) -> str:
    """An ``<img>`` tag carrying the PNG at ``path`` as a base64 data URI (works offline)."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    name = html.escape(Path(path).name)
    return f'<img src="data:image/png;base64,{data}" alt="{name}" title="{name}">'


def render_html(
    sections: list[Section], *, seed: int, mode: str, total: float, notes: Sequence[str] = ()
) -> str:
    """The self-contained report: a summary table, then one part per section.

    notes: lines about skipped experiments, shown under the table.
    """
    e = html.escape
    rows = "".join(
        f"<tr><td class='nowrap'><a href='#{e(s.key)}'>{e(s.key)}</a></td>"
        f"<td class='nowrap time'>{s.seconds:.1f}&nbsp;s</td><td>{e(s.headline)}</td></tr>"
        for s in sections
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>pirho demo report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>pirho demo</h1>",
        "<p>Two-way sequence inference: exact HMM forward–backward (π and ρ) beside learned "
        "bidirectional RNNs, each claim measured.</p>",
        f"<p class='meta'>pirho {e(__version__)} · {e(mode)} configurations · seed {seed} · "
        f"python {e(sys.version.split()[0])} · {total:.1f} s in all · "
        f"{e(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
        f"<table><tr><th>section</th><th>time</th><th>result</th></tr>{rows}</table>",
        "<p><a href='explore.html'>Explore π and ρ step by step</a> (interactive, offline).</p>",
    ]
    for note in notes:
        parts.append(f"<p class='meta'>{e(note)}</p>")
    for s in sections:
        parts.append(f"<h2 id='{e(s.key)}'>{e(s.title)}</h2>")
        parts.append(f"<p>{e(s.explanation)}</p>")
        parts.append(f"<p class='headline'>{e(s.headline)}</p>")
        if s.summary:
            parts.append(f"<pre>{e(s.summary)}</pre>")
        for figure in s.figures:
            parts.append(embed_png(figure))
        parts.append(
            f"<p class='meta'>Reproduce: <code>pirho experiment {e(s.key)}"
            f"{' --quick' if mode == 'quick' else ''} --seed {seed}</code></p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
