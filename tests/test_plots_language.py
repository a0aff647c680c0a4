"""Figure labels in English or Chinese: pirho.plots.set_language, tr and the CJK font."""

import re
import warnings
from pathlib import Path

import pytest

from pirho import plots

PLOTS = Path(plots.__file__).parent


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    plots.set_language("en")


def test_every_label_the_figures_translate_has_a_chinese_entry():
    literals = set()
    for source in PLOTS.glob("*.py"):
        literals |= set(re.findall(r'\btr\(r?"([^"]+)"\)', source.read_text(encoding="utf-8")))
    assert len(literals) > 30
    assert sorted(literals - set(plots.ZH)) == []
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in plots.ZH.values())


def test_format_fields_survive_translation():
    for english, chinese in plots.ZH.items():
        assert re.findall(r"\{\w*\}", english) == re.findall(r"\{\w*\}", chinese), english


def test_titles_built_by_the_experiments_are_translated_by_pattern():
    if plots.cjk_font() is None:
        pytest.skip("no CJK font on this machine")
    assert plots.set_language("zh") == "zh"
    title = "Dishonest casino: P(loaded | rolls), first 300 of 1,000 rolls (seed 0)"
    assert plots.tr(title) == "不诚实的赌场：P(灌铅 | 掷骰)，前 300 次掷骰（共 1,000 次，种子 0）"
    assert plots.tr("casino: one test sequence") == "赌场：一条测试序列"
    assert plots.tr("hmm.json: how much future helps") == "hmm.json：未来有多大帮助"
    assert (
        plots.tr_name("probe", "both") == "两者拼接"
        and plots.tr_name("evidence", "both") == "两侧都有"
    )
    assert plots.tr("BiLSTM") == "BiLSTM"  # names stay
    assert plots.set_language("en") == "en" and plots.tr("accuracy") == "accuracy"


def test_chinese_without_a_cjk_font_warns_once_and_keeps_english(monkeypatch):
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert plots.set_language("zh") == "en"
    assert len(caught) == 1 and "fonts-noto-cjk" in str(caught[0].message)
    assert plots.tr("accuracy") == "accuracy"


def test_chinese_figure_is_drawn_with_the_cjk_font(tmp_path):
    if plots.cjk_font() is None:
        pytest.skip("no CJK font on this machine")
    from matplotlib import font_manager

    from pirho.plots.lm import plot_cloze_accuracy

    plots.set_language("zh")
    metrics = {"left_acc": 0.4, "right_acc": 0.45, "both_acc": 0.7, "n_masked": 10}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        out = plot_cloze_accuracy(metrics, tmp_path / "cloze.png")
    assert out.stat().st_size > 0
    font = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    assert "CJK" in font or "Hei" in font or "Han" in font


def test_english_again_restores_matplotlib_fonts():
    import matplotlib

    before = list(matplotlib.rcParams["font.sans-serif"]), list(matplotlib.rcParams["font.family"])
    plots.set_language("zh")
    plots.set_language("zh")  # twice: the fonts from before the first call are kept
    plots.set_language("en")
    after = list(matplotlib.rcParams["font.sans-serif"]), list(matplotlib.rcParams["font.family"])
    assert after == before
