"""``pirho explore`` without a browser: the page is self-contained and the command validates."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from pirho.cli import main
from pirho.explore import bank, labels_for, parse_symbols, render_explorer, write_explorer
from pirho.hmm import CategoricalHMM, casino


def embedded_config(page: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="pirho-config">(.*?)</script>', page, re.S
    )
    return json.loads(match.group(1))


def test_page_has_no_external_urls():
    page = render_explorer()
    assert not re.search(r"(https?:|ftp:)?//[a-z0-9.-]+\.[a-z]{2,}", page, re.I), "external URL"
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", page, re.I)
    for marker in ("/*PIRHO_CSS*/", "/*PIRHO_JS*/", "/*PIRHO_CONFIG*/"):
        assert marker not in page
    assert "window.pirho" in page and ".strips" in page  # JS and CSS inlined


def test_page_embeds_casino_bank_and_a_given_model_exactly():
    model = CategoricalHMM(
        [0.2, 0.8, 0.0], np.full((3, 3), 1 / 3), [[1.0, 0.0], [0.5, 0.5], [0, 1]]
    )
    config = embedded_config(render_explorer(model, rolls="1,0,1"))
    assert list(config["models"]) == ["file", "casino", "bank"]
    assert config["initial"] == {"model": "file", "symbols": [1, 0, 1]}
    assert config["models"]["file"]["emit"] == model.emit.tolist()
    assert config["models"]["casino"]["trans"] == casino().trans.tolist()
    assert config["models"]["bank"]["labels"]["zh"]["states"] == ["银行", "河岸"]


def test_config_cannot_close_the_script_block():
    page = render_explorer()
    body = page.split('id="pirho-config">', 1)[1].split("</script>", 1)[0]
    assert "</" not in body


def test_bank_context_decides_the_sense():
    # "bank" (symbol 0) is equally likely under both senses: its neighbours decide.
    money, water = 1, 3
    finance = bank().posterior([money, 0, money])[1, 0]
    river = bank().posterior([water, 0, water])[1, 0]
    assert finance > 0.9 and river < 0.1


def test_parse_symbols_reads_labels_in_both_languages():
    labels = labels_for("bank", bank())
    assert parse_symbols("money, 水, bank", labels) == [1, 3, 0]
    with pytest.raises(ValueError, match=r"'7' at position 1"):
        parse_symbols("6,7", labels_for("casino", casino()))


def test_cli_writes_the_page_with_the_given_rolls(tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["explore", "--out", str(out), "--rolls", "6,6,1"]) == 0
    assert embedded_config(out.read_text(encoding="utf-8"))["initial"]["symbols"] == [5, 5, 0]
    assert "wrote" in capsys.readouterr().out


def test_cli_reads_a_saved_model(tmp_path):
    path = tmp_path / "hmm.json"
    casino().save(path)
    out = tmp_path / "page.html"
    assert main(["explore", "--model", str(path), "--out", str(out), "--rolls", "0,5"]) == 0
    config = embedded_config(out.read_text(encoding="utf-8"))
    assert config["models"]["file"]["start"] == [0.5, 0.5]
    assert config["initial"]["symbols"] == [0, 5]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "{tmp}/missing.json"], "does not exist"),
        (["--model", "{tmp}/bad.json"], "missing 'trans', 'emit'"),
        (["--out", "{tmp}/bad.json/x.html"], "is a file, not a folder"),
        (["--out", "{tmp}"], "is a directory"),
        (["--rolls", "6,0"], "'0' at position 1"),
    ],
)
def test_cli_rejects_bad_options_before_writing(tmp_path, capsys, argv, message):
    (tmp_path / "bad.json").write_text('{"start": [1.0]}')
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "page.html")]
    try:
        code = main(["explore", *argv])
    except SystemExit as exc:  # refused while parsing
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert "pirho: error:" in err and message in err
    assert not (tmp_path / "page.html").exists()


def test_write_explorer_rejects_a_non_model(tmp_path):
    with pytest.raises(TypeError, match="model must be a CategoricalHMM"):
        write_explorer(tmp_path / "x.html", model={"start": [1.0]})


def text_keys(js: str, lang: str) -> set[str]:
    block = re.search(rf"\n    {lang}: \{{\n(.*?)\n    \}},", js, re.S).group(1)
    return set(re.findall(r'(?:^\s+|", )([A-Za-z_]+): "', block, re.M))


def test_every_label_on_the_page_is_translated():
    from importlib import resources

    files = resources.files("pirho.explore")
    js = files.joinpath("pirho.js").read_text(encoding="utf-8")
    html = files.joinpath("explore.html").read_text(encoding="utf-8")
    en, zh = text_keys(js, "en"), text_keys(js, "zh")
    assert en == zh
    used = set(re.findall(r'data-i18n="(\w+)"', html))
    used |= set(re.findall(r'\b(?:t|stripRows|pathRow)\("(\w+)"', js))  # the last two call t
    assert {"samplePaths", "sampleHint", "sampleFreq", "drawn", "bruteTooLong"} <= used
    assert used <= en, f"untranslated: {sorted(used - en)}"
    assert 'id="sample-paths"' in render_explorer()
