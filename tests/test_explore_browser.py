"""The explore page in headless Chromium: its JS inference equals pirho.hmm, its UI reacts.

Needs Debian's ``chromium`` and ``chromium-driver`` and ``selenium`` (the ``browser`` extra);
``.ci/run`` installs them, so in CI these tests run. Elsewhere they skip, saying what is missing.
One browser session serves the whole module.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from pirho.explore import write_explorer
from pirho.hmm import CategoricalHMM, brute_force, casino

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "chromium and chromedriver are not on PATH (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

# Run infer in the page and return JSON with ±Infinity spelled out (JSON has no -Infinity).
INFER_SCRIPT = """
const [model, symbols, lags] = arguments;
const r = window.pirho.infer(model, symbols);
const out = {logLikelihood: r.logLikelihood, forward: r.forward, backward: r.backward,
             filter: r.filter, posterior: r.posterior, viterbi: r.viterbi,
             fixedLag: lags.map((lag) => r.fixedLag(lag))};
return JSON.stringify(out, (key, value) => value === -Infinity ? "-inf" : value);
"""


def from_page(text: str) -> dict:
    def decode(value):
        if value == "-inf":
            return -np.inf
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, dict):
            return {k: decode(v) for k, v in value.items()}
        return value

    return decode(json.loads(text))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = write_explorer(tmp_path_factory.mktemp("explore") / "explore.html")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    driver.url_base = path.resolve().as_uri()
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver, fragment: str = "") -> None:
    # A fresh load each time (a changed fragment alone does not reload the page).
    driver.get("about:blank")
    driver.get(driver.url_base + (f"#{fragment}" if fragment else ""))


def severe_console_entries(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def random_model(rng: np.random.Generator) -> CategoricalHMM:
    """K ≤ 4 states, M ≤ 6 symbols, about a quarter of the entries structural zeros."""
    n_states, n_symbols = int(rng.integers(1, 5)), int(rng.integers(1, 7))

    def rows(n_rows, n_cols):
        weights = rng.random((n_rows, n_cols)) * (rng.random((n_rows, n_cols)) > 0.25)
        for row in weights:
            if not row.any():
                row[rng.integers(n_cols)] = 1.0
        return weights / weights.sum(axis=1, keepdims=True)

    return CategoricalHMM(rows(1, n_states)[0], rows(n_states, n_states), rows(n_states, n_symbols))


def model_json(model: CategoricalHMM) -> dict:
    return {
        "start": model.start.tolist(),
        "trans": model.trans.tolist(),
        "emit": model.emit.tolist(),
    }


def assert_log_messages_equal(page_logs, reference):
    page_logs = np.asarray(page_logs, dtype=float)
    finite = np.isfinite(reference)
    np.testing.assert_array_equal(np.isfinite(page_logs), finite)
    np.testing.assert_allclose(page_logs[finite], reference[finite], rtol=1e-9, atol=1e-9)


def test_infer_equals_pirho_hmm_on_random_models(page):
    open_page(page)
    rng = np.random.default_rng(12)
    for trial in range(30):
        model = random_model(rng)
        n_steps = int(rng.integers(1, 201))
        _, symbols = model.sample(n_steps, seed=trial)
        lags = [0, 1, 3, n_steps]
        got = from_page(
            page.execute_script(INFER_SCRIPT, model_json(model), symbols.tolist(), lags)
        )
        where = f"trial {trial}: K={model.n_states}, M={model.n_symbols}, T={n_steps}"
        ll = model.log_likelihood(symbols)
        assert got["logLikelihood"] == pytest.approx(ll, rel=1e-9, abs=1e-9), where
        assert_log_messages_equal(got["forward"], model.forward(symbols))
        assert_log_messages_equal(got["backward"], model.backward(symbols))
        assert np.all(np.asarray(got["backward"])[-1] == 0), where
        np.testing.assert_allclose(got["filter"], model.filter(symbols), atol=1e-9, err_msg=where)
        np.testing.assert_allclose(
            got["posterior"], model.posterior(symbols), atol=1e-9, err_msg=where
        )
        assert got["viterbi"] == model.viterbi(symbols)[0].tolist(), where
        for lag, lagged in zip(lags, got["fixedLag"], strict=True):
            np.testing.assert_allclose(
                lagged, model.posterior(symbols, lag=lag), atol=1e-9, err_msg=f"{where}, lag {lag}"
            )
    assert severe_console_entries(page) == []


def test_infer_marks_an_impossible_sequence_without_nan(page):
    open_page(page)
    model = CategoricalHMM([1.0, 0.0], [[0.0, 1.0], [0.0, 1.0]], [[1.0, 0.0], [0.5, 0.5]])
    symbols = [1, 1]  # h_1 = 0 for sure, and state 0 never emits symbol 1
    got = from_page(page.execute_script(INFER_SCRIPT, model_json(model), symbols, []))
    assert model.log_likelihood(symbols) == -np.inf
    assert got["logLikelihood"] == -np.inf
    assert got["posterior"] is None and got["viterbi"] is None
    assert_log_messages_equal(got["forward"], model.forward(symbols))
    assert_log_messages_equal(got["backward"], model.backward(symbols))


def test_brute_force_table_sums_to_the_likelihood(page):
    rolls = [6, 6, 1, 2, 6, 6, 6, 3]
    open_page(page, "rolls=" + ",".join(map(str, rolls)))
    symbols = [face - 1 for face in rolls]
    total = page.find_element("id", "brute-sum")
    exact = brute_force(casino(), symbols)
    assert int(total.get_attribute("data-n-paths")) == 2 ** len(rolls) == exact.n_paths
    log_sum = float(total.get_attribute("data-log-sum"))
    assert log_sum == pytest.approx(exact.log_likelihood, rel=1e-12)
    assert log_sum == pytest.approx(casino().log_likelihood(symbols), rel=1e-12)
    rows = page.find_elements("css selector", "tr.path-row")
    log_probs = [float(row.get_attribute("data-log-prob")) for row in rows]
    assert log_probs == sorted(log_probs, reverse=True)
    best = page.find_element("css selector", "tr.best").get_attribute("data-path")
    assert best == ",".join(map(str, exact.best_path)) == rows[0].get_attribute("data-path")
    assert log_probs[0] == pytest.approx(exact.best_log_prob, rel=1e-12)


def page_posterior(driver) -> np.ndarray:
    return np.array(driver.execute_script("return window.pirho.state.result.posterior"))


def posterior_cells(driver) -> np.ndarray:
    cells = driver.find_elements("css selector", "td.cell[data-quantity='posterior']")
    values = np.array([float(c.get_attribute("data-value")) for c in cells])
    return values.reshape(casino().n_states, -1).T  # strips are drawn one state per row


def test_typing_and_clicking_rolls_updates_the_posterior(page):
    from selenium.webdriver.common.keys import Keys

    open_page(page, "rolls=1,2,3")
    np.testing.assert_allclose(posterior_cells(page), casino().posterior([0, 1, 2]), atol=1e-12)
    box = page.find_element("id", "sequence")
    box.clear()
    box.send_keys("6, 6, 6, 1, 6" + Keys.ENTER)
    typed = [5, 5, 5, 0, 5]
    np.testing.assert_allclose(page_posterior(page), casino().posterior(typed), atol=1e-12)
    np.testing.assert_allclose(posterior_cells(page), casino().posterior(typed), atol=1e-12)
    page.find_element("css selector", "#keypad button[data-symbol='5']").click()
    clicked = typed + [5]
    np.testing.assert_allclose(posterior_cells(page), casino().posterior(clicked), atol=1e-12)
    assert box.get_attribute("value") == "6, 6, 6, 1, 6, 6"
    assert severe_console_entries(page) == []


def test_editing_a_probability_renormalises_its_row(page):
    from selenium.webdriver.common.keys import Keys

    open_page(page, "rolls=6,6,1,6")
    field = page.find_element(
        "css selector", "input[data-matrix='trans'][data-row='0'][data-col='1']"
    )
    field.send_keys(Keys.CONTROL, "a")  # select and overwrite: clear() would fire a change
    field.send_keys("0.95" + Keys.ENTER)  # fair row becomes [0.95, 0.95] → [0.5, 0.5]
    trans = np.array(page.execute_script("return window.pirho.state.model.trans"))
    np.testing.assert_allclose(trans, [[0.5, 0.5], [0.1, 0.9]], atol=1e-15)
    edited = CategoricalHMM(casino().start, trans, casino().emit)
    np.testing.assert_allclose(page_posterior(page), edited.posterior([5, 5, 0, 5]), atol=1e-12)


def test_sampling_shows_the_true_states(page):
    open_page(page)
    page.find_element("id", "sample").click()
    symbols = page.execute_script("return window.pirho.state.symbols")
    truth = page.find_elements("css selector", "td.cell[data-quantity='truth']")
    assert len(symbols) == len(truth) == 40  # the default length
    again = page.execute_script("return window.pirho.sample(window.pirho.state.model, 40, 0)")
    assert again["symbols"] == symbols
    assert [int(c.get_attribute("data-state")) for c in truth] == again["states"]


def test_language_toggle_and_url_fragment(page):
    open_page(page, "model=bank&rolls=money,bank,water&lang=zh&lag=1")
    assert page.find_element("id", "model-select").get_attribute("value") == "bank"
    assert "银行" in page.find_element("id", "editor").text
    assert page.execute_script("return window.pirho.state.symbols") == [1, 0, 3]
    assert page.execute_script("return window.pirho.state.lag") == 1
    page.find_element("id", "lang-toggle").click()
    assert "finance" in page.find_element("id", "editor").text
    assert severe_console_entries(page) == []


def test_page_works_offline(page):
    page.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
    try:
        open_page(page, "rolls=6,6,6")
        ll = page.execute_script("return window.pirho.state.result.logLikelihood")
        assert ll == pytest.approx(casino().log_likelihood([5, 5, 5]), rel=1e-12)
        assert severe_console_entries(page) == []
    finally:
        page.delete_network_conditions()


# -- posterior path samples ------------------------------------------------------------------


def brute_path_probabilities(model: CategoricalHMM, symbols) -> np.ndarray:
    from pirho.hmm.brute import path_log_joint

    with np.errstate(divide="ignore"):
        log_joint = path_log_joint(
            np.log(model.start), np.log(model.trans), np.log(model.emit[:, symbols].T)
        )
    weights = np.exp(log_joint - log_joint.max())
    return weights / weights.sum()


def chi_square_p_value(paths: np.ndarray, probs: np.ndarray, n_states: int) -> float:
    """Pearson's chi-square over all paths (expected counts below 5 pooled into one bin)."""
    from scipy import stats

    index = np.ravel_multi_index(paths.T, (n_states,) * paths.shape[1])
    counts = np.bincount(index, minlength=probs.shape[0])
    assert counts[probs == 0].sum() == 0, "a path of probability 0 was drawn"
    expected = probs * paths.shape[0]
    big, small = expected >= 5, (expected < 5) & (probs > 0)
    observed, expect = list(counts[big]), list(expected[big])
    if small.any():
        observed.append(counts[small].sum())
        expect.append(expected[small].sum())
    return float(stats.chisquare(observed, expect).pvalue)


def test_sampled_paths_match_exact_path_probabilities(page):
    open_page(page)
    model = CategoricalHMM(
        [0.6, 0.4, 0.0],
        [[0.7, 0.3, 0.0], [0.1, 0.6, 0.3], [0.2, 0.0, 0.8]],  # structural zeros
        [[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]],
    )
    symbols = [0, 1, 1, 0]
    paths = np.array(
        page.execute_script(
            "return window.pirho.samplePosterior(arguments[0], arguments[1], 20000, 3)",
            model_json(model),
            symbols,
        )
    )
    assert paths.shape == (20_000, 4)
    probs = brute_path_probabilities(model, symbols)
    assert chi_square_p_value(paths, probs, 3) > 1e-3
    # A sampler that draws each step from its posterior marginal fails the same test (it
    # even draws forbidden paths; those are counted here rather than asserted absent).
    post = model.posterior(symbols)
    rng = np.random.default_rng(0)
    wrong = (rng.random((20_000, 4, 1)) > np.cumsum(post, axis=1)[None]).sum(axis=2)
    allowed = probs[np.ravel_multi_index(wrong.T, (3,) * 4)] > 0
    assert (~allowed).sum() > 100
    assert chi_square_p_value(wrong[allowed], probs, 3) < 1e-9


def test_sampled_path_frequencies_match_the_posterior_and_the_button_draws_them(page):
    rolls = [6, 6, 1, 2, 6, 6, 6, 3, 1, 6, 6, 6, 6, 2, 4, 5, 6, 6, 1, 1]
    open_page(page, "rolls=" + ",".join(map(str, rolls)))
    symbols = [face - 1 for face in rolls]
    paths = np.array(
        page.execute_script(
            "return window.pirho.samplePosterior(window.pirho.state.model, "
            "window.pirho.state.symbols, 5000, 11)"
        )
    )
    post = casino().posterior(symbols)[:, 1]
    bound = 5 * np.sqrt(post * (1 - post) / 5000)
    assert (np.abs(paths.mean(axis=0) - post) <= bound).all()
    again = page.execute_script(
        "return window.pirho.samplePosterior(window.pirho.state.model, "
        "window.pirho.state.symbols, 5000, 11)"
    )
    assert again == paths.tolist()  # seeded

    count = page.find_element("id", "path-count")
    count.clear()
    count.send_keys("400")
    page.find_element("id", "sample-paths").click()
    shown = page.find_elements("css selector", "tr.strip-posterior-sample")
    drawn = page.execute_script("return window.pirho.state.pathSamples")
    assert len(drawn) == 400 and len(shown) == 20  # the first 20 are drawn as rows
    assert [row.get_attribute("data-path") for row in shown] == [
        ",".join(map(str, p)) for p in drawn[:20]
    ]
    cells = page.find_elements("css selector", "td.cell[data-quantity='sample-frequency']")
    share = np.array([float(c.get_attribute("data-value")) for c in cells]).reshape(2, -1).T
    np.testing.assert_allclose(share[:, 1], np.mean(drawn, axis=0), atol=1e-12)
    assert (np.abs(share[:, 1] - post) <= 5 * np.sqrt(post * (1 - post) / 400) + 1e-9).all()
    assert severe_console_entries(page) == []


def test_sample_button_counts_paths_in_the_brute_force_table_and_translates(page):
    open_page(page, "rolls=6,6,1,6&lang=zh")
    page.find_element("id", "sample-paths").click()
    header = page.find_element("css selector", "table.paths tr").text
    assert "抽中次数 / 5" in header
    assert "从后验中采样路径" in page.find_element("id", "sample-paths").text
    page.find_element("id", "lang-toggle").click()
    assert page.find_element("id", "sample-paths").text == "sample paths from the posterior"
    assert "drawn / 5" in page.find_element("css selector", "table.paths tr").text
    assert severe_console_entries(page) == []


def test_bad_path_count_is_an_error_on_the_page(page):
    open_page(page, "rolls=6,6")
    count = page.find_element("id", "path-count")
    count.clear()
    count.send_keys("0")
    page.find_element("id", "sample-paths").click()
    assert "paths must be 1..1000" in page.find_element("id", "summary").text
    message = page.execute_script(
        "try { window.pirho.samplePosterior(window.pirho.state.model, [5], 0, 1) }"
        " catch (e) { return e.message }"
    )
    assert message.startswith("n must be an integer in 1..1000000")


# -- large models (issue 22): no typed-array crash, every other panel works ---------------------


@pytest.mark.parametrize("n_states", [10, 16, 50])
def test_large_models_load_and_keep_every_panel(tmp_path, page, n_states):
    import time

    rng = np.random.default_rng(n_states)
    model = CategoricalHMM(
        rng.dirichlet(np.ones(n_states)),
        rng.dirichlet(np.ones(n_states), n_states),
        rng.dirichlet(np.ones(6), n_states),
    )
    path = write_explorer(tmp_path / "large.html", model=model, rolls="0,1,2,3,4,5,0,1")
    page.get("about:blank")
    began = time.perf_counter()
    page.get(path.resolve().as_uri())
    loaded = time.perf_counter() - began
    assert severe_console_entries(page) == []
    assert loaded < 20, f"K = {n_states} took {loaded:.1f} s to load"
    symbols = [0, 1, 2, 3, 4, 5, 0, 1]
    ll = float(page.find_element("id", "loglik").get_attribute("data-value"))
    assert ll == pytest.approx(model.log_likelihood(symbols), rel=1e-9)
    np.testing.assert_allclose(page_posterior(page), model.posterior(symbols), atol=1e-9)
    viterbi = page.find_elements("css selector", "td.cell[data-quantity='viterbi']")
    best = model.viterbi(symbols).path.tolist()
    assert [int(c.get_attribute("data-state")) for c in viterbi] == best
    budget = page.find_element("id", "brute-budget").text
    assert "65,536" in budget and f"{n_states}^8" in budget
    assert page.find_elements("css selector", "table.paths") == []
    assert len(page.find_elements("css selector", "#editor input")) == n_states * (1 + n_states + 6)
    page.find_element("id", "sample-paths").click()
    assert len(page.execute_script("return window.pirho.state.pathSamples")) == 5
    message = page.execute_script(
        "try { window.pirho.bruteForce(window.pirho.state.model, window.pirho.state.symbols) }"
        " catch (e) { return e.message }"
    )
    assert "the budget is 65536" in message
    page.find_element("id", "lang-toggle").click()
    assert "65,536" in page.find_element("id", "brute-budget").text
    assert severe_console_entries(page) == []
