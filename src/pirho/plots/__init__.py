"""Plotting helpers shared by every figure pirho draws (matplotlib, headless).

Figures speak English or Chinese: :func:`set_language` chooses, :func:`tr` translates a
figure's English text (titles, axis labels, legends) through :data:`ZH`, and Chinese text is
drawn with a CJK font that matplotlib finds on the machine (:data:`CJK_FONTS`, e.g. Debian's
``fonts-noto-cjk``); without one, one warning, and the labels stay English.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path

import matplotlib

# headless: Agg, unless a backend was chosen (MPLBACKEND) or a notebook kernel draws inline
if not (os.environ.get("DISPLAY") or os.environ.get("MPLBACKEND") or "ipykernel" in sys.modules):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

LANGUAGES = ("en", "zh")
#: CJK fonts looked for, in order (Debian: fonts-noto-cjk, fonts-wqy-zenhei, fonts-arphic-*).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)
#: The Chinese text of every figure label pirho draws, in the vocabulary of the Chinese edition
#: of d2l (前向 / 后向, 隐状态, 困惑度, 强制教学). Names (BiLSTM, HMM, uni-gru) stay as they are.
ZH = {
    # the casino and brute force (plots/hmm.py)
    "loaded die (truth)": "灌铅骰子（真实）",
    "filter P(loaded | rolls 1..t)": "滤波 P(灌铅 | 第 1..t 次掷骰)",
    "P(loaded | all rolls)": "平滑 P(灌铅 | 全部掷骰)",
    "P(loaded)": "P(灌铅)",
    "roll": "第几次掷骰",
    "Dishonest casino: posterior probability of the loaded die": "不诚实的赌场：灌铅骰子的后验概率",
    "brute force: ${k}^T$ paths": "穷举：${k}^T$ 条路径",
    r"DP: $T \cdot {k}^2$ operations": r"动态规划：$T \cdot {k}^2$ 次运算",
    "sequence length T": "序列长度 T",
    "count": "数量",
    "Work: paths enumerated vs DP operations": "工作量：穷举的路径数与动态规划的运算次数",
    "brute force": "穷举",
    "brute force (extrapolated)": "穷举（外推）",
    "DP (measured)": "动态规划（实测）",
    "1 s": "1 秒",
    "1 year": "1 年",
    "age of universe": "宇宙年龄",
    "CPU seconds": "CPU 时间（秒）",
    "Time for P(X), posterior and best path": "计算 P(X)、后验和最优路径的时间",
    # language models (plots/lm.py)
    "train": "训练",
    "held-out, teacher-forced": "留出，强制教学",
    "held-out, causal": "留出，因果",
    "final, whole held-out text": "最终，全部留出文本",
    "epoch": "轮次",
    "perplexity (log scale)": "困惑度（对数坐标）",
    "Character LMs (curves: first {n} held-out characters; stars: final, all of them)": (
        "字符级语言模型（曲线：前 {n} 个留出字符；星号：最终，全部留出字符）"
    ),
    "Character LMs (curves: the held-out characters; stars: final, all of them)": (
        "字符级语言模型（曲线：留出字符；星号：最终，全部留出字符）"
    ),
    "Teacher-forced vs causal perplexity: the bidirectional model's leak": (
        "强制教学与因果困惑度：双向模型的泄漏"
    ),
    "left only": "仅左侧",
    "right only": "仅右侧",
    "both": "两侧",
    "accuracy": "准确率",
    "One masked character in held-out text (n = {n})": "留出文本中遮住一个字符（n = {n}）",
    "held-out accuracy": "留出准确率",
    "Cloze accuracy while training": "训练过程中的完形填空准确率",
    # tagging (plots/tagging.py)
    "known words": "已知词",
    "unknown words": "未知词",
    "ambiguous words": "歧义词",
    "MFT": "最常见标签",
    "HMM filter": "HMM 滤波",
    "HMM smoother": "HMM 平滑",
    "HMM Viterbi": "HMM 维特比",
    "HMM fixed-lag smoother": "HMM 固定延迟平滑",
    "accuracy (%)": "准确率（%）",
    "test accuracy per tagger (overall under each name)": (
        "各标注器的测试准确率（名称下为总体准确率）"
    ),
    "{name}, lag L": "{name}，延迟 L",
    "{name}, whole sentence": "{name}，整句",
    "uni-LSTM (reads no future)": "单向 LSTM（不读未来）",
    "lookahead L (words after t the tagger may read)": "向前看 L（标注器可读的 t 之后的词数）",
    "test accuracy (%)": "测试准确率（%）",
    "how much of the future each tagger uses": "每个标注器用到多少未来",
    # hmm-vs-rnn and polysemy (plots/thesis.py)
    "true state = {one}": "真实状态 = {one}",
    "fair": "公平",
    "loaded": "灌铅",
    "exact filter": "精确滤波",
    "exact smoother": "精确平滑",
    "true h_t": "真实 h_t",
    "P(true state)": "P(真实状态)",
    "exact, lag L (L = 0: filter)": "精确，延迟 L（L = 0：滤波）",
    "exact smoother (L = ∞)": "精确平滑（L = ∞）",
    "lookahead L (symbols after t that the tagger may read)": (
        "向前看 L（标注器可读的 t 之后的符号数）"
    ),
    "casino": "赌场",
    "probe: majority": "多数类",
    "probe: static": "静态词向量",
    "probe: forward": "前向隐状态",
    "probe: backward": "后向隐状态",
    "probe: both": "两者拼接",
    "probe: bayes": "贝叶斯最优",
    "evidence: all": "全部",
    "evidence: none": "无线索",
    "evidence: before": "线索在前",
    "evidence: after": "线索在后",
    "evidence: both": "两侧都有",
    "where the disambiguating evidence is": "消歧线索的位置",
    "sense accuracy at 'bank' (%)": "“bank” 处的词义准确率（%）",
    "Sense of 'bank' read off each representation by a linear probe": (
        "线性探针从各种表示中读出 “bank” 的词义"
    ),
}
#: Titles that experiments build with numbers in them: (regex, Chinese replacement).
ZH_PATTERNS = (
    (
        r"^Dishonest casino: P\(loaded \| rolls\), "
        r"first ([\d,]+) of ([\d,]+) rolls \(seed (\d+)\)$",
        r"不诚实的赌场：P(灌铅 | 掷骰)，前 \1 次掷骰（共 \2 次，种子 \3）",
    ),
    (r"^(.+): one test sequence$", lambda m: f"{tr(m[1])}：一条测试序列"),
    (r"^(.+): how much future helps$", lambda m: f"{tr(m[1])}：未来有多大帮助"),
)

_state = {"language": "en"}


def cjk_font() -> str | None:
    """The first of :data:`CJK_FONTS` that matplotlib knows on this machine, or None.

    >>> cjk_font() in (None, *CJK_FONTS)
    True
    """
    from matplotlib import font_manager

    known = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in known), None)


def set_language(language: str) -> str:
    """Draw the following figures in ``language`` (``"en"`` or ``"zh"``); returns the language
    actually used: ``"en"`` when ``"zh"`` was asked for but no CJK font exists (one warning).

    >>> set_language("en")
    'en'
    >>> set_language("fr")
    Traceback (most recent call last):
    ...
    ValueError: language must be one of ('en', 'zh'), got 'fr'
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    if language == "zh":
        font = cjk_font()
        if font is None:
            warnings.warn(
                "no CJK font found for Chinese figure labels (install fonts-noto-cjk); "
                "the figures keep English labels",
                stacklevel=2,
            )
            language = "en"
        else:
            _state.setdefault("fonts", _font_settings())
            families = [f for f in matplotlib.rcParams["font.sans-serif"] if f != font]
            matplotlib.rcParams["font.sans-serif"] = [font, *families]
            matplotlib.rcParams["font.family"] = "sans-serif"
    if language == "en" and "fonts" in _state:  # English again: matplotlib's fonts as they were
        matplotlib.rcParams.update(_state.pop("fonts"))
    _state["language"] = language
    return language


def tr_name(kind: str, name: str) -> str:
    """A name (a probe, an evidence position, …) in the current language: the :data:`ZH`
    entry ``"kind: name"``, or ``name`` itself — the kind keeps apart names that read the
    same in English ("both" representations against "both" sides of the evidence).

    >>> tr_name("probe", "both")
    'both'
    """
    translated = tr(f"{kind}: {name}")
    return name if translated == f"{kind}: {name}" else translated


def _font_settings() -> dict:
    return {key: list(matplotlib.rcParams[key]) for key in ("font.sans-serif", "font.family")}


def current_language() -> str:
    """The language figures are drawn in now (``"en"`` unless :func:`set_language` changed it).

    >>> current_language() in LANGUAGES
    True
    """
    return _state["language"]


def tr(text: str) -> str:
    """``text`` in the current figure language: its :data:`ZH` entry, or the first of
    :data:`ZH_PATTERNS` that matches it (titles built by the experiments, with numbers in
    them), or ``text`` unchanged (English, or names such as "BiLSTM").

    >>> tr("accuracy")
    'accuracy'
    >>> _ = set_language("zh") if cjk_font() else None
    >>> tr("accuracy") if cjk_font() else "准确率"
    '准确率'
    >>> set_language("en")
    'en'
    """
    if _state["language"] != "zh":
        return text
    if text in ZH:
        return ZH[text]
    # (re.subn takes a string or a function of the match: a function translates a name in it)
    for pattern, replacement in ZH_PATTERNS:
        translated, n = re.subn(pattern, replacement, text)
        if n:
            return translated
    return text


def new_figure(width: float = 8.0, height: float = 4.0):
    """A new (figure, axes) pair of the given size in inches."""
    return plt.subplots(figsize=(width, height))


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` (PNG unless the suffix says otherwise), make the
    parent folder, close the figure and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
