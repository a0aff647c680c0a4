"""``pirho demo``: every claim of pirho, measured in a few minutes, in one offline report.

Sections, in order:

1. **casino** — the dishonest casino decoded exactly: filter, smoother and Viterbi on 300 rolls.
2. **brute-vs-dp** — K^T paths against T·K² operations (:mod:`pirho.experiments.brute_vs_dp`).
3. **hmm-vs-rnn** — uni-/bidirectional RNN taggers against the exact filter / smoother.
4. **polysemy** — the sense of "bank" read off a BiLM's static / forward / backward / both states.
5. **lm-leak** and 6. **cloze** — on The Time Machine, when its text can be found
   (:func:`pirho.data.resolve_time_machine`); otherwise one line says how to provide it.

Each section runs its experiment's quick configuration (``full=True``: the full ones). The output
folder gets ``report.html`` (self-contained: figures embedded as base64 PNGs, readable offline),
every PNG and ``results.json`` (the metrics of every section, keyed by section).
"""

from __future__ import annotations

import base64
import html
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pirho import __version__
from pirho.experiments.common import write_json
from pirho.explore import write_explorer

DEFAULT_OUT = "pirho-demo"
CASINO_ROLLS = 300
TEXT_SECTIONS = ("lm-leak", "cloze")

EXPLANATIONS = {
    "casino": (
        "The dishonest casino (Durbin et al.): a fair die and a loaded one (a six half the "
        "time), switched by a hidden Markov chain. From the rolls alone, pirho computes exactly "
        "the filter P(loaded | rolls 1..t) — the normalised forward message π_t — and the "
        "smoother P(loaded | all rolls) ∝ π_t ρ_t, which also uses the backward message ρ_t. "
        "The shaded stretches are where the loaded die was really used; the smoother, which "
        "sees the future too, tracks them more closely than the filter."
    ),
    "brute-vs-dp": (
        "P(X) is a sum over K^T hidden paths. Brute force enumerates them; the forward "
        "recursion gets the same number in T·K² operations. Both are measured while the "
        "enumeration is feasible (they agree to rounding), and the brute-force time is "
        "extrapolated beyond."
    ),
    "hmm-vs-rnn": (
        "On sequences from the casino HMM, a unidirectional GRU tagger trained on the true "
        "states can at best learn the filter, and a bidirectional one the smoother. The table "
        "compares each with its exact Bayes-optimal counterpart (accuracy, mean negative "
        "log-probability of the true state, total-variation distance); the lookahead plot "
        "shows how accuracy grows with the number of future symbols a tagger may read."
    ),
    "polysemy": (
        "A corpus from an HMM whose hidden state carries a sense of the ambiguous word "
        "'bank' (finance or river), with the disambiguating word before it, after it, on both "
        "sides or nowhere. A bidirectional language model is trained on the words alone; a "
        "linear probe then reads the sense at each 'bank' from the static embedding (always "
        "the same vector: majority-class accuracy), the forward state (sees only the past), "
        "the backward state (only the future) and both — against the Bayes-optimal accuracy "
        "from the generating HMM's exact posterior."
    ),
    "lm-leak": (
        "d2l's bidirectional LSTM language model on The Time Machine reaches a training "
        "perplexity near 1 because its backward direction has already read the character it "
        "is asked to predict. Teacher-forced (the whole window visible, as in training) and "
        "causal (prefix only, as in generation) held-out perplexities expose the leak; the "
        "unidirectional model has no such gap."
    ),
    "cloze": (
        "Filling a blank is where both directions legitimately help: a character predicted from "
        "the left context only, the right context only, and both."
    ),
}

TITLES = {
    "casino": "Exact decoding: the dishonest casino",
    "brute-vs-dp": "Brute force against dynamic programming",
    "hmm-vs-rnn": "A uni-RNN is a learned filter, a bi-RNN a learned smoother",
    "polysemy": "Contextual against static embeddings: the two senses of 'bank'",
    "lm-leak": "The bidirectional language model that cheats",
    "cloze": "Fill in the blank: left, right and both contexts",
}


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
    skipped: str | None = None


@dataclass
class DemoResult:
    """What :func:`run_demo` wrote: the folder, the report, the metrics file and the sections."""

    out: Path
    report: Path
    results: Path
    sections: list[Section]

    @property
    def figures(self) -> list[Path]:
        return [f for s in self.sections for f in s.figures]


# ---------------------------------------------------------------------------------------------
# Sections


def casino_section(out: Path, seed: int) -> Section:
    """Sample :data:`CASINO_ROLLS` rolls and decode them exactly: filter, smoother, Viterbi."""
    from pirho.hmm import casino
    from pirho.plots.hmm import plot_casino_posterior

    model = casino()
    states, rolls = model.sample(CASINO_ROLLS, seed=seed)
    states, rolls = np.asarray(states), np.asarray(rolls)
    filtered = model.filter(rolls)
    smoothed = model.posterior(rolls)
    path, _ = model.viterbi(rolls)
    metrics = {
        "n_rolls": CASINO_ROLLS,
        "log_likelihood": float(model.log_likelihood(rolls)),
        "filter_acc": float(np.mean(filtered.argmax(1) == states)),
        "smooth_acc": float(np.mean(smoothed.argmax(1) == states)),
        "viterbi_acc": float(np.mean(np.asarray(path) == states)),
        "loaded_fraction": float(states.mean()),
    }
    figure = plot_casino_posterior(
        states,
        smoothed[:, 1],
        out / "casino_decoding.png",
        filter_loaded=filtered[:, 1],
        title=f"Dishonest casino, {CASINO_ROLLS} rolls (seed {seed}): exact filter and smoother",
    )
    summary = "\n".join(
        [
            f"casino: {CASINO_ROLLS} rolls, log P(X) = {metrics['log_likelihood']:.2f}",
            f"accuracy  filter {metrics['filter_acc']:.3f}   smoother {metrics['smooth_acc']:.3f}"
            f"   Viterbi {metrics['viterbi_acc']:.3f}",
        ]
    )
    return Section("casino", "", "", metrics, [figure], summary)


def experiment_section(
    key: str, out: Path, seed: int, full: bool, progress: bool, **sizes
) -> Section:
    """Run experiment ``key`` (quick unless ``full``) with its figures written into ``out``."""
    from pirho.experiments import load_experiment

    module = load_experiment(key)
    result = module.run(quick=not full, seed=seed, out=out, progress=progress, **sizes)
    return Section(key, "", "", result.metrics, list(result.figures), result.summary)


def _get(metrics: dict, dotted: str):
    value = metrics
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _fmt(value, digits: int = 3) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return "?"


def headline(key: str, metrics: dict) -> str:
    """One line with the numbers that carry each section's claim."""
    g = lambda name: _fmt(_get(metrics, name))  # noqa: E731
    if key == "casino":
        return (
            f"accuracy: filter {g('filter_acc')}, smoother {g('smooth_acc')}, "
            f"Viterbi {g('viterbi_acc')}"
        )
    if key == "brute-vs-dp":
        diff = _get(metrics, "max_abs_diff")
        diff_text = f"{diff:.1e}" if isinstance(diff, float) else "?"
        rows = metrics.get("rows", [])
        measured = [r for r in rows if not r.get("extrapolated")]
        text = f"brute force = DP to {diff_text}"
        if measured:
            text += f" (T ≤ {measured[-1]['T']})"
        last = rows[-1] if rows else {}
        if last.get("extrapolated") and isinstance(last.get("brute_years"), (int, float)):
            text += (
                f"; T = {last['T']}: brute force ≈ {last['brute_years']:.1e} years "
                f"vs {last.get('dp_ops', '?')} DP operations"
            )
        return text
    if key == "hmm-vs-rnn":
        return (
            f"acc: uni {g('uni.acc')} vs filter {g('bayes.filter_acc')}; "
            f"bi {g('bi.acc')} vs smoother {g('bayes.smooth_acc')}"
        )
    if key == "polysemy":
        after = metrics.get("by_position", {}).get("after", {})
        return (
            f"acc: static {g('static_acc')} (majority {g('majority_acc')}), "
            f"forward {g('forward_acc')}, backward {g('backward_acc')}, both {g('both_acc')}, "
            f"Bayes {g('bayes_acc')}; evidence after: forward {_fmt(after.get('forward_acc'))}"
            f" vs both {_fmt(after.get('both_acc'))}"
        )
    if key == "lm-leak":
        return (
            f"bi-LSTM: train ppl {g('bi.train_ppl')}, held-out teacher-forced "
            f"{g('bi.heldout_teacher_forced_ppl')}, causal {g('bi.heldout_causal_ppl')}; "
            f"uni causal {g('uni.heldout_causal_ppl')}"
        )
    if key == "cloze":
        return (
            f"acc: left {g('left_acc')}, right {g('right_acc')}, both {g('both_acc')} "
            f"(chance {g('chance_acc')})"
        )
    return ""


def time_machine_status() -> str | None:
    """None if The Time Machine can be found, else one line saying how to provide it."""
    from pirho.data import resolve_time_machine

    try:
        resolve_time_machine()
    except (FileNotFoundError, ValueError, OSError) as exc:
        reason = re.sub(r"\s+", " ", str(exc)).strip()
        if "PIRHO_DATA_DIR" not in reason:  # the loader's message normally says how already
            reason += " Set PIRHO_DATA_DIR to a folder holding timemachine.txt."
        return f"skipping lm-leak and cloze: {reason}"
    return None


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
    """Run every section, write ``report.html``, the PNGs and ``results.json`` into ``out``.

    seed: one seed for every section. full: full configurations instead of quick ones (long).
    include_text: run lm-leak and cloze when The Time Machine is available (False: skip them).
    sizes: per-section keyword overrides of the experiment's sizes, e.g.
    ``{"hmm-vs-rnn": {"epochs": 2}}`` (for tests). progress: show training bars.
    echo: where progress lines go (default: print to stdout, flushed).

    >>> result = run_demo("/tmp/pirho-demo-doc", include_text=False, progress=False,
    ...                   echo=lambda line: None)  # doctest: +SKIP
    >>> result.report.name  # doctest: +SKIP
    'report.html'
    """
    echo = echo or (lambda line: print(line, flush=True))
    sizes = sizes or {}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keys = ["casino", "brute-vs-dp", "hmm-vs-rnn", "polysemy"]
    text_note = None
    if include_text:
        text_note = time_machine_status()
        if text_note is None:
            keys += list(TEXT_SECTIONS)
    else:
        text_note = "skipping lm-leak and cloze (text sections switched off)"

    mode = "full" if full else "quick"
    echo(f"pirho {__version__} demo: {len(keys)} sections ({mode} configurations), seed {seed}")
    echo(f"writing into {out.resolve()}")
    if text_note:
        echo(text_note)
    sections: list[Section] = []
    started = time.perf_counter()
    for number, key in enumerate(keys, start=1):
        echo(f"[{number}/{len(keys)}] {key}: {TITLES[key]} ...")
        t0 = time.perf_counter()
        if key == "casino":
            section = casino_section(out, seed)
        else:
            section = experiment_section(key, out, seed, full, progress, **sizes.get(key, {}))
        section.title, section.explanation = TITLES[key], EXPLANATIONS[key]
        section.seconds = time.perf_counter() - t0
        section.headline = headline(key, section.metrics)
        sections.append(section)
        echo(f"[{number}/{len(keys)}] {key} done in {section.seconds:.1f} s: {section.headline}")
    total = time.perf_counter() - started

    results = write_json(
        {
            "pirho_version": __version__,
            "seed": seed,
            "configuration": mode,
            "sections": {s.key: s.metrics for s in sections},
            "skipped": text_note,
        },
        out / "results.json",
    )
    write_explorer(out / "explore.html")  # the interactive page the report links to
    report = out / "report.html"
    report.write_text(
        render_html(sections, seed=seed, mode=mode, total=total, note=text_note), encoding="utf-8"
    )
    echo("")
    echo(summary_table(sections, total))
    echo(f"report: {report.resolve()}")
    return DemoResult(out=out, report=report, results=results, sections=sections)


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
.meta { color: #666; font-size: 0.9em; } .headline { font-weight: 600; }
"""


def embed_png(path: str | os.PathLike) -> str:
    """An ``<img>`` tag carrying the PNG at ``path`` as a base64 data URI (works offline)."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    name = html.escape(Path(path).name)
    return f'<img src="data:image/png;base64,{data}" alt="{name}" title="{name}">'


def render_html(
    sections: list[Section], *, seed: int, mode: str, total: float, note: str | None = None
) -> str:
    """The self-contained report: a summary table, then one part per section."""
    e = html.escape
    rows = "".join(
        f"<tr><td><a href='#{e(s.key)}'>{e(s.key)}</a></td><td>{s.seconds:.1f} s</td>"
        f"<td>{e(s.headline)}</td></tr>"
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
    if note:
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
            if s.key != "casino"
            else f"<p class='meta'>Reproduce: <code>pirho demo --seed {seed}</code></p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
