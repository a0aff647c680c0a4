"""``pirho demo``: every claim of pirho, measured in a few minutes, in one offline report.

The demo iterates the registry :data:`pirho.experiments.EXPERIMENTS` in order (casino,
brute-vs-dp, hmm-vs-rnn, polysemy, lm-leak, cloze): each experiment module carries its own
``TITLE``, ``EXPLANATION``, ``headline(metrics)`` and ``requirements()``, so adding an
experiment touches its module and one registry line, never this file. An experiment whose
``requirements()`` gives a reason (The Time Machine not found) is skipped with one line.

Each section runs its experiment's quick configuration (``full=True``: the full ones). The output
folder gets ``report.html`` (self-contained: figures embedded as base64 PNGs, readable offline),
every PNG and ``results.json`` (the metrics of every section, keyed by section).

``lang="zh"`` writes the report in Chinese: the page's text, each section's title and
explanation (:data:`ZH_SECTIONS`) and the figures' titles, axes and legends
(:func:`pirho.plots.set_language`, with a CJK font found on the machine). The measured lines
(headlines, tables) stay as the experiments print them.
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
from pirho._checks import check_choice, check_seed
from pirho.experiments import EXPERIMENTS, load_experiment
from pirho.experiments.common import write_json
from pirho.explore import write_explorer

DEFAULT_OUT = "pirho-demo"
LANGUAGES = ("en", "zh")

#: Each section's title and explanation in Chinese (the English ones live in the experiment
#: modules as TITLE and EXPLANATION).
ZH_SECTIONS = {
    "casino": (
        "精确解码：不诚实的赌场",
        "不诚实的赌场（Durbin 等）：一枚公平骰子和一枚灌铅骰子（一半概率掷出 6），由一个隐马尔可夫"
        "链切换。只根据掷骰结果，pirho 精确地算出滤波 P(灌铅 | 第 1..t 次掷骰)——即归一化的前向"
        "消息 π_t——以及平滑 P(灌铅 | 全部掷骰) ∝ π_t ρ_t，后者还用到了后向消息 ρ_t。阴影部分是"
        "真正使用灌铅骰子的时段；平滑也看得到未来，比滤波跟得更紧。",
    ),
    "brute-vs-dp": (
        "穷举对比动态规划",
        "P(X) 是对 K^T 条隐状态路径的求和。穷举法把它们逐条列出；前向递推只用 T·K² 次运算就得到"
        "同一个数。在还能穷举的长度内两者都实测（结果一致到舍入误差），更长的序列则外推穷举的时间。",
    ),
    "hmm-vs-rnn": (
        "单向 RNN 是学出来的滤波，双向 RNN 是学出来的平滑",
        "在赌场 HMM 生成的序列上（状态 1 = 灌铅骰子），用真实状态训练的单向 GRU 标注器最多只能"
        "学到滤波，双向的最多学到平滑。表格把两者分别与精确的贝叶斯最优答案比较（准确率、真实"
        "状态的平均负对数概率、总变差距离）；向前看的曲线显示准确率怎样随标注器可读的未来符号数"
        "增长。",
    ),
    "polysemy": (
        "上下文词向量对比静态词向量：“bank” 的两个意思",
        "语料来自一个隐马尔可夫模型，其隐状态携带歧义词 “bank” 的词义（银行或河岸），消歧的词"
        "出现在它前面、后面、两边，或者没有。只用这些词训练一个双向语言模型；然后用线性探针在每个"
        " “bank” 处从静态词向量（永远是同一个向量：只能达到多数类准确率）、前向隐状态（只看过去）、"
        "后向隐状态（只看未来）以及两者拼接中读出词义，并与生成它的 HMM 的精确后验给出的贝叶斯"
        "最优准确率比较。",
    ),
    "lm-leak": (
        "会“作弊”的双向语言模型",
        "d2l 的双向 LSTM 语言模型在《时间机器》上的训练困惑度接近 1，因为它的后向方向已经读过"
        "要预测的那个字符。留出文本上的强制教学困惑度（整段窗口可见，和训练时一样）与因果困惑度"
        "（只看前缀，和生成时一样）揭示了这种泄漏；单向模型没有这个差距。柱状图（以及曲线上的"
        "星号）是在全部留出文本上的最终数字；为了省时，学习曲线只在留出文本的开头部分上评估，"
        "所以曲线的数值和最低点与最终数字略有不同。",
    ),
    "cloze": (
        "完形填空：左侧、右侧与两侧上下文",
        "填空正是两个方向都能正当发挥作用的地方：分别只用左侧上下文、只用右侧上下文、以及两侧"
        "一起来预测一个字符。三者都不读被遮住的字符。柱状图和学习曲线在同样的留出字符上评分，"
        "所以曲线的最后一点就是柱子的高度。",
    ),
    "tagging": (
        "粤语词性标注：精确的 HMM 推断对比学习得到的双向标注器",
        "有监督的 HMM 精确解码（滤波、平滑、维特比），对比使用词和字符特征的 LSTM 标注器：单向"
        "（学出来的滤波）、双向（学出来的平滑），以及加上 CRF 层的双向模型（学出来的特征，精确的"
        "推断）。在留出的对话上评分，包括总体准确率和训练中从未见过的词上的准确率。",
    ),
}

#: The report's own words, per language.
PAGE_TEXT = {
    "en": {
        "title": "pirho demo report",
        "heading": "pirho demo",
        "intro": "Two-way sequence inference: exact HMM forward–backward (π and ρ) beside learned "
        "bidirectional RNNs, each claim measured.",
        "configurations": "{mode} configurations",
        "quick": "quick",
        "full": "full",
        "in_all": "{seconds:.1f} s in all",
        "section": "section",
        "time": "time",
        "result": "result",
        "explore": "Explore π and ρ step by step",
        "explore_note": "(interactive, offline).",
        "reproduce": "Reproduce:",
        "seed": "seed",
    },
    "zh": {
        "title": "pirho 演示报告",
        "heading": "pirho 演示",
        "intro": "双向序列推断：精确的隐马尔可夫模型前向-后向算法（π 与 ρ），与学习得到的双向"
        "循环神经网络并排比较，每个论断都经过测量。",
        "configurations": "{mode}配置",
        "quick": "快速",
        "full": "完整",
        "in_all": "共 {seconds:.1f} 秒",
        "section": "部分",
        "time": "时间",
        "result": "结果",
        "explore": "逐步查看 π 与 ρ",
        "explore_note": "（交互式，离线，可切换中文）。",
        "reproduce": "复现：",
        "seed": "种子",
    },
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
    lang: str = "en",
) -> DemoResult:
    """Run every experiment of the registry, write ``report.html``, the PNGs and ``results.json``.

    seed: one seed for every section. full: full configurations instead of quick ones (long).
    include_text: run the experiments that train on text (lm-leak, cloze) when their data are
    available (False: skip them). sizes: per-experiment keyword overrides of its configuration,
    e.g. ``{"hmm-vs-rnn": {"epochs": 2}}`` (for tests). progress: show training bars.
    echo: where progress lines go (default: print to stdout, flushed).
    lang: ``"en"`` or ``"zh"``, the language of the report and its figures (the terminal
    output stays English).

    >>> result = run_demo("/tmp/pirho-demo-doc", include_text=False, progress=False,
    ...                   echo=lambda line: None)  # doctest: +SKIP
    >>> result.report.name  # doctest: +SKIP
    'report.html'
    """
    seed = check_seed("seed", seed)
    check_choice("lang", lang, LANGUAGES)
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
    from pirho.plots import current_language, set_language  # matplotlib only when running

    previous = current_language()
    set_language(lang)  # the figures' labels; warns once (English figures) without a CJK font
    try:
        for number, module in enumerate(modules, start=1):
            tag = f"[{number}/{len(modules)}] {module.NAME}"
            echo(f"{tag}: {module.TITLE} ...")
            section = run_section(module, out, seed, full, progress, sizes.get(module.NAME, {}))
            sections.append(section)
            echo(f"{tag} done in {section.seconds:.1f} s: {section.headline}")
    finally:
        set_language(previous)
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
    page = render_html(sections, seed=seed, mode=mode, total=total, notes=notes, lang=lang)
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
body { font-family: system-ui, "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
       "PingFang SC", "Microsoft YaHei", sans-serif;
       max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
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


def section_text(section: Section, lang: str = "en") -> tuple[str, str]:
    """(title, explanation) of a section in ``lang`` (English when no translation exists).

    >>> section_text(Section("casino", "Exact decoding", "..."), "zh")[0]
    '精确解码：不诚实的赌场'
    """
    if lang == "zh" and section.key in ZH_SECTIONS:
        return ZH_SECTIONS[section.key]
    return section.title, section.explanation


def render_html(
    sections: list[Section],
    *,
    seed: int,
    mode: str,
    total: float,
    notes: Sequence[str] = (),
    lang: str = "en",
) -> str:
    """The self-contained report: a summary table, then one part per section.

    notes: lines about skipped experiments, shown under the table. lang: ``"en"`` or ``"zh"``,
    the language of the page's words and of each section's title and explanation.

    >>> page = render_html([], seed=0, mode="quick", total=1.0, lang="zh")
    >>> '<html lang="zh-CN">' in page and "pirho 演示" in page
    True
    """
    check_choice("lang", lang, LANGUAGES)
    words = PAGE_TEXT[lang]
    e = html.escape
    rows = "".join(
        f"<tr><td class='nowrap'><a href='#{e(s.key)}'>{e(s.key)}</a></td>"
        f"<td class='nowrap time'>{s.seconds:.1f}&nbsp;s</td><td>{e(s.headline)}</td></tr>"
        for s in sections
    )
    html_lang = "zh-CN" if lang == "zh" else "en"
    configurations = words["configurations"].format(mode=words.get(mode, mode))
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html_lang}"><head><meta charset="utf-8">',
        f"<title>{e(words['title'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(words['heading'])}</h1>",
        f"<p>{e(words['intro'])}</p>",
        f"<p class='meta'>pirho {e(__version__)} · {e(configurations)} · "
        f"{e(words['seed'])} {seed} · python {e(sys.version.split()[0])} · "
        f"{e(words['in_all'].format(seconds=total))} · "
        f"{e(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
        f"<table><tr><th>{e(words['section'])}</th><th>{e(words['time'])}</th>"
        f"<th>{e(words['result'])}</th></tr>{rows}</table>",
        f"<p><a href='explore.html'>{e(words['explore'])}</a> {e(words['explore_note'])}</p>",
    ]
    for note in notes:
        parts.append(f"<p class='meta'>{e(note)}</p>")
    for s in sections:
        title, explanation = section_text(s, lang)
        parts.append(f"<h2 id='{e(s.key)}'>{e(title)}</h2>")
        parts.append(f"<p>{e(explanation)}</p>")
        parts.append(f"<p class='headline'>{e(s.headline)}</p>")
        if s.summary:
            parts.append(f"<pre>{e(s.summary)}</pre>")
        for figure in s.figures:
            parts.append(embed_png(figure))
        parts.append(
            f"<p class='meta'>{e(words['reproduce'])} <code>pirho experiment {e(s.key)}"
            f"{' --quick' if mode == 'quick' else ''} --seed {seed}</code></p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
