"""pirho demo: iterates the experiment registry; a self-contained report, results.json, the CLI."""

import base64
import json
import re
import sys
import types

import pytest

from pirho.cli import main
from pirho.experiments import EXPERIMENTS, ExperimentResult, demo, load_experiment

SIZES = {
    "hmm-vs-rnn": dict(
        n_train=16, n_val=6, n_test=4, length=30, hidden_size=4, epochs=1, max_lag=3
    ),
    "polysemy": dict(n_lm_sequences=40, n_probe_sequences=80, length=30, hidden_size=6, epochs=1),
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    lines = []
    result = demo.run_demo(
        out, seed=1, include_text=False, sizes=SIZES, progress=False, echo=lines.append
    )
    return result, lines


def test_report_embeds_every_figure_as_png_data(demo_run):
    result, _ = demo_run
    pngs = sorted(result.out.glob("*.png"))
    assert {p.name for p in pngs} >= {
        "casino_decoding.png",
        "brute_vs_dp.png",
        "hmm_vs_rnn_sequence.png",
        "hmm_vs_rnn_lookahead.png",
        "polysemy_probes.png",
    }
    html = result.report.read_text(encoding="utf-8")
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(embedded) == len(pngs) == len(result.figures)
    # each embedded image is byte-for-byte one of the PNG files
    assert sorted(base64.b64decode(data) for data in embedded) == sorted(
        p.read_bytes() for p in pngs
    )
    assert "http://" not in html and "https://" not in html  # nothing fetched when read offline
    for key in ("casino", "brute-vs-dp", "hmm-vs-rnn", "polysemy"):
        assert f"id='{key}'" in html


def test_report_links_the_explore_page_written_beside_it(demo_run):
    result, _ = demo_run
    assert "href='explore.html'" in result.report.read_text(encoding="utf-8")
    page = (result.out / "explore.html").read_text(encoding="utf-8")
    config = re.search(
        r'<script type="application/json" id="pirho-config">(.*?)</script>', page, re.S
    )
    assert json.loads(config.group(1))["initial"]["model"] == "casino"


def test_results_json_holds_each_section_metrics(demo_run):
    result, _ = demo_run
    data = json.loads(result.results.read_text())
    assert list(data["sections"]) == ["casino", "brute-vs-dp", "hmm-vs-rnn", "polysemy"]
    assert data["sections"]["casino"] == result.sections[0].metrics  # as run, JSON-clean
    assert data["sections"]["hmm-vs-rnn"]["n_test_steps"] == 4 * 30
    assert "both_acc" in data["sections"]["polysemy"]
    reason = "text sections switched off (--no-text)"
    skipped = {"lm-leak": reason, "cloze": reason, "tagging": reason}
    assert data["seed"] == 1 and data["skipped"] == skipped


def test_progress_lines_and_summary_table(demo_run):
    result, lines = demo_run
    text = "\n".join(lines)
    for number, key in enumerate(["casino", "brute-vs-dp", "hmm-vs-rnn", "polysemy"], start=1):
        assert f"[{number}/4] {key}" in text
    assert "skipping lm-leak, cloze and tagging: text sections switched off (--no-text)" in text
    assert re.search(r"^total\s+\d+\.\d+s", text, flags=re.M)


def test_demo_results_are_reproducible_apart_from_timings(demo_run, tmp_path):
    result, _ = demo_run
    again = demo.run_demo(
        tmp_path, seed=1, include_text=False, sizes=SIZES, progress=False, echo=lambda line: None
    )
    first = json.loads(result.results.read_text())["sections"]
    second = json.loads(again.results.read_text())["sections"]
    for key in ("casino", "hmm-vs-rnn", "polysemy"):
        assert first[key] == second[key]


def test_missing_time_machine_gives_one_line_on_how_to_provide_it(monkeypatch):
    import pirho.data

    def missing(path=None):
        raise FileNotFoundError("The Time Machine not found.\nSet PIRHO_DATA_DIR ...")

    monkeypatch.setattr(pirho.data, "resolve_time_machine", missing)
    runs, skipped = demo.plan(include_text=True)
    # tagging needs HKCanCor (the [corpora] extra), not The Time Machine
    corpus = ["tagging"] if load_experiment("tagging").requirements() is None else []
    assert [m.NAME for m in runs] == ["casino", "brute-vs-dp", "hmm-vs-rnn", "polysemy", *corpus]
    assert (
        skipped["lm-leak"]
        == skipped["cloze"]
        == "The Time Machine not found. Set PIRHO_DATA_DIR ..."
    )
    assert demo.skip_notes(skipped) == [f"skipping lm-leak and cloze: {skipped['cloze']}"]


def fake_experiment(name: str, reason: str | None) -> types.ModuleType:
    """A minimal module following the experiment protocol, for registry tests."""
    module = types.ModuleType(f"fake_{name}")
    module.NAME, module.TITLE, module.EXPLANATION = name, f"Title of {name}", "Why it matters."
    module.FULL = module.QUICK = {"size": 1}
    module.requirements = lambda: reason
    module.headline = lambda metrics: f"value {metrics['value']}"
    module.run = lambda *, quick, seed, out, progress, **sizes: ExperimentResult(
        name, {"value": seed + 40}, [], f"summary of {name}"
    )
    return module


def test_an_experiment_added_to_the_registry_runs_without_editing_the_demo(monkeypatch, tmp_path):
    for name, reason in (("fake-ok", None), ("fake-skip", "needs a GPU")):
        monkeypatch.setitem(sys.modules, f"fake_{name}", fake_experiment(name, reason))
    registry = {"fake-ok": "fake_fake-ok", "fake-skip": "fake_fake-skip"}
    monkeypatch.setattr(demo, "EXPERIMENTS", registry)
    monkeypatch.setitem(EXPERIMENTS, "fake-ok", "fake_fake-ok")
    monkeypatch.setitem(EXPERIMENTS, "fake-skip", "fake_fake-skip")
    lines = []
    result = demo.run_demo(tmp_path, seed=2, progress=False, echo=lines.append)
    assert [s.key for s in result.sections] == ["fake-ok"]
    assert result.sections[0].headline == "value 42"
    assert result.skipped == {"fake-skip": "needs a GPU"}
    assert "skipping fake-skip: needs a GPU" in lines
    html = result.report.read_text(encoding="utf-8")
    assert "<h2 id='fake-ok'>Title of fake-ok</h2>" in html and "summary of fake-ok" in html


def test_report_table_cells_do_not_wrap(demo_run):
    html = demo_run[0].report.read_text(encoding="utf-8")
    assert "td.nowrap { white-space: nowrap; }" in html
    for section in demo_run[0].sections:
        assert f"<td class='nowrap'><a href='#{section.key}'>" in html
        assert f"<td class='nowrap time'>{section.seconds:.1f}&nbsp;s</td>" in html


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--seed", "-1"], "argument --seed: expected a seed in [0, 4294967295], got '-1'"),
        (["--out", "{tmp}/file"], "argument --out: '{tmp}/file' is a file, not a folder"),
    ],
)
def test_cli_rejects_bad_options_before_any_work(argv, named, tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: pytest.fail("the demo started"))
    with pytest.raises(SystemExit) as stop:
        main(["demo", *[a.replace("{tmp}", str(tmp_path)) for a in argv]])
    assert stop.value.code == 2
    assert "pirho: error: " + named.replace("{tmp}", str(tmp_path)) in capsys.readouterr().err


def test_cli_registers_demo():
    from pirho.cli import build_parser

    args = build_parser().parse_args(["demo", "--out", "x", "--seed", "3", "--no-text"])
    assert (args.out, args.seed, args.include_text, args.full) == ("x", 3, False, False)
    assert args.func.__module__ == "pirho.cli.demo"


def test_every_experiment_has_a_chinese_title_and_explanation():
    assert set(demo.ZH_SECTIONS) == set(EXPERIMENTS)
    for key, (title, explanation) in demo.ZH_SECTIONS.items():
        assert re.search(r"[\u4e00-\u9fff]", title) and len(explanation) > 40, key


def test_chinese_report_has_chinese_words_titles_and_figure_labels(tmp_path):
    from pirho.plots import cjk_font, current_language

    lines = []
    result = demo.run_demo(
        tmp_path,
        seed=1,
        include_text=False,
        sizes=SIZES,
        progress=False,
        echo=lines.append,
        lang="zh",
    )
    assert current_language() == "en"  # the figure language is restored afterwards
    page = result.report.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "pirho 演示" in page and "复现：" in page
    for key in ("casino", "brute-vs-dp", "hmm-vs-rnn", "polysemy"):
        assert f"<h2 id='{key}'>{demo.ZH_SECTIONS[key][0]}</h2>" in page
    english = demo.run_demo(
        tmp_path / "en",
        seed=1,
        include_text=False,
        sizes=SIZES,
        progress=False,
        echo=lambda line: None,
    )
    # the same measurements in both languages; only the words differ
    assert [s.metrics for s in english.sections if s.key != "brute-vs-dp"] == [
        s.metrics for s in result.sections if s.key != "brute-vs-dp"
    ]
    if cjk_font() is not None:  # Chinese labels drawn: the figures differ from the English ones
        zh_png = (tmp_path / "casino_decoding.png").read_bytes()
        assert zh_png != (tmp_path / "en" / "casino_decoding.png").read_bytes()


def test_cli_demo_rejects_an_unknown_language(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--lang", "fr"])
    assert exc.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err
