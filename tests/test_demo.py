"""pirho demo: a self-contained report with every figure embedded, results.json, the CLI."""

import base64
import json
import re

import pytest

from pirho.experiments import demo

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


def test_results_json_holds_each_section_metrics(demo_run):
    result, _ = demo_run
    data = json.loads(result.results.read_text())
    assert list(data["sections"]) == ["casino", "brute-vs-dp", "hmm-vs-rnn", "polysemy"]
    assert {"filter_acc", "smooth_acc", "viterbi_acc"} <= set(data["sections"]["casino"])
    assert data["sections"]["hmm-vs-rnn"]["n_test_steps"] == 4 * 30
    assert "both_acc" in data["sections"]["polysemy"]
    assert data["seed"] == 1 and "skipping" in data["skipped"]


def test_progress_lines_and_summary_table(demo_run):
    result, lines = demo_run
    text = "\n".join(lines)
    for number, key in enumerate(["casino", "brute-vs-dp", "hmm-vs-rnn", "polysemy"], start=1):
        assert f"[{number}/4] {key}" in text
    assert "skipping lm-leak and cloze" in text
    assert re.search(r"^total\s+\d+\.\d+s", text, flags=re.M)
    assert all(s.headline for s in result.sections)


def test_demo_results_are_reproducible_apart_from_timings(demo_run, tmp_path):
    result, _ = demo_run
    again = demo.run_demo(
        tmp_path, seed=1, include_text=False, sizes=SIZES, progress=False, echo=lambda line: None
    )
    first = json.loads(result.results.read_text())["sections"]
    second = json.loads(again.results.read_text())["sections"]
    for key in ("casino", "hmm-vs-rnn", "polysemy"):
        assert first[key] == second[key]


def test_missing_time_machine_gives_one_line_on_how_to_provide_it(monkeypatch, tmp_path):
    import pirho.data

    def missing(path=None):
        raise FileNotFoundError("The Time Machine not found.\nSet PIRHO_DATA_DIR ...")

    monkeypatch.setattr(pirho.data, "resolve_time_machine", missing)
    note = demo.time_machine_status()
    assert "\n" not in note and "PIRHO_DATA_DIR" in note and "lm-leak" in note


def test_cli_registers_demo():
    from pirho.cli import build_parser

    args = build_parser().parse_args(["demo", "--out", "x", "--seed", "3", "--no-text"])
    assert (args.out, args.seed, args.include_text, args.full) == ("x", 3, False, False)
    assert args.func.__module__ == "pirho.cli.demo"
