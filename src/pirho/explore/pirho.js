// pirho explore: exact HMM inference in the browser, the same scaled recursions as pirho.hmm.
//
// Math (window.pirho.infer and friends) comes first and touches no DOM; the page follows.
// Every message is normalised per step and its log scale accumulated, so T = 10^4 rolls do not
// underflow; Viterbi runs in log space; a structural zero is log 0 = -Infinity, never NaN.
"use strict";
(function () {
  // ------------------------------------------------------------------------------------------
  // Inference (pure functions over arrays)

  function likelihoods(model, symbols) {
    // lik[t][k] = P(x_t | h_t = k)
    return symbols.map((x) => model.emit.map((row) => row[x]));
  }

  function normalise(vector) {
    let total = 0;
    for (const v of vector) total += v;
    if (total > 0) for (let k = 0; k < vector.length; k++) vector[k] /= total;
    return total;
  }

  function scaledForward(model, lik) {
    // alphaHat[t] = P(h_t | x_1..x_t) and logScale[t] = log P(x_t | x_1..x_{t-1}).
    const T = lik.length, K = model.start.length;
    const alphaHat = [], logScale = [];
    let prev = null;
    for (let t = 0; t < T; t++) {
      const row = new Array(K).fill(0);
      for (let j = 0; j < K; j++) {
        let predicted = 0;
        if (t === 0) predicted = model.start[j];
        else for (let i = 0; i < K; i++) predicted += prev[i] * model.trans[i][j];
        row[j] = predicted * lik[t][j];
      }
      logScale.push(Math.log(normalise(row)));
      alphaHat.push(row);
      prev = row;
    }
    return { alphaHat, logScale };
  }

  function scaledBackward(model, lik, from, to) {
    // Normalised rho over steps from..to (to = the window's last step, where rho = 1):
    // betaHat[t - from] ∝ P(x_{t+1}..x_to | h_t), logScale[t - from] its dropped log factor.
    const K = model.start.length;
    const betaHat = new Array(to - from + 1), logScale = new Array(to - from + 1);
    betaHat[to - from] = new Array(K).fill(1);
    logScale[to - from] = 0;
    for (let t = to - 1; t >= from; t--) {
      const next = betaHat[t + 1 - from], row = new Array(K).fill(0);
      for (let i = 0; i < K; i++) {
        let total = 0;
        for (let j = 0; j < K; j++) total += model.trans[i][j] * lik[t + 1][j] * next[j];
        row[i] = total;
      }
      logScale[t - from] = Math.log(normalise(row));
      betaHat[t - from] = row;
    }
    return { betaHat, logScale };
  }

  function product(a, b) {
    const row = a.map((v, k) => v * b[k]);
    normalise(row);
    return row;
  }

  function viterbi(model, lik) {
    // delta_t(j) = log P(x_t | j) + max_i [delta_{t-1}(i) + log P(j | i)]; ties -> lowest i.
    const T = lik.length, K = model.start.length;
    const back = [];
    let delta = model.start.map((p, k) => Math.log(p) + Math.log(lik[0][k]));
    for (let t = 1; t < T; t++) {
      const next = new Array(K), pointers = new Array(K);
      for (let j = 0; j < K; j++) {
        let best = -Infinity, arg = 0;
        for (let i = 0; i < K; i++) {
          const score = delta[i] + Math.log(model.trans[i][j]);
          if (score > best) { best = score; arg = i; }
        }
        next[j] = best + Math.log(lik[t][j]);
        pointers[j] = arg;
      }
      back.push(pointers);
      delta = next;
    }
    let last = 0;
    for (let k = 1; k < K; k++) if (delta[k] > delta[last]) last = k;
    const path = new Array(T);
    path[T - 1] = last;
    for (let t = T - 1; t > 0; t--) path[t - 1] = back[t - 1][path[t]];
    return { path, logProb: delta[last] };
  }

  function checkModel(model, symbols) {
    const K = model.start.length, M = model.emit[0].length;
    if (model.trans.length !== K || model.emit.length !== K) throw new Error("model shapes differ");
    if (!symbols.length) throw new Error("the sequence is empty");
    symbols.forEach((x, t) => {
      if (!Number.isInteger(x) || x < 0 || x >= M)
        throw new Error(`symbol ${x} at position ${t} is outside [0, ${M})`);
    });
  }

  /**
   * Exact inference for one sequence.
   * model = {start (K), trans (K×K, row = from), emit (K×M)}; symbols = ints in [0, M).
   * Returns {logLikelihood, forward, backward (T×K log π_t, log ρ_t), filter, posterior (T×K
   * probabilities), viterbi (path), viterbiLogProb, fixedLag(lag) -> T×K, impossible}.
   * An impossible sequence (P(X) = 0) has logLikelihood -Infinity and null probabilities.
   */
  function infer(model, symbols) {
    checkModel(model, symbols);
    const T = symbols.length;
    const lik = likelihoods(model, symbols);
    const fwd = scaledForward(model, lik);
    const bwd = scaledBackward(model, lik, 0, T - 1);
    const forward = [], backward = new Array(T);
    let logPrefix = 0;
    for (let t = 0; t < T; t++) {
      logPrefix += fwd.logScale[t];
      const dead = logPrefix === -Infinity;
      forward.push(fwd.alphaHat[t].map((a) => (dead ? -Infinity : Math.log(a) + logPrefix)));
    }
    let logSuffix = 0;
    for (let t = T - 1; t >= 0; t--) {
      logSuffix += bwd.logScale[t];
      const dead = logSuffix === -Infinity;
      backward[t] = bwd.betaHat[t].map((b) => (dead ? -Infinity : Math.log(b) + logSuffix));
    }
    const impossible = logPrefix === -Infinity || Number.isNaN(logPrefix);
    const result = {
      logLikelihood: impossible ? -Infinity : logPrefix,
      forward,
      backward,
      impossible,
      filter: null,
      posterior: null,
      viterbi: null,
      viterbiLogProb: -Infinity,
      fixedLag: () => null,
    };
    if (impossible) return result;
    result.filter = fwd.alphaHat.map((row) => row.slice());
    result.posterior = fwd.alphaHat.map((row, t) => product(row, bwd.betaHat[t]));
    const best = viterbi(model, lik);
    result.viterbi = best.path;
    result.viterbiLogProb = best.logProb;
    // P(h_t | x_1..x_{t+lag}): the filter times a backward message over the look-ahead window.
    result.fixedLag = (lag) => {
      if (!Number.isInteger(lag) || lag < 0) throw new Error(`lag must be an integer >= 0, got ${lag}`);
      return fwd.alphaHat.map((row, t) => {
        const end = Math.min(t + lag, T - 1);
        return product(row, scaledBackward(model, lik, t, end).betaHat[0]);
      });
    };
    return result;
  }

  function pathLogProb(model, lik, path) {
    let lp = Math.log(model.start[path[0]]) + Math.log(lik[0][path[0]]);
    for (let t = 1; t < path.length; t++)
      lp += Math.log(model.trans[path[t - 1]][path[t]]) + Math.log(lik[t][path[t]]);
    return lp;
  }

  // The all-paths table enumerates K^T paths: it is built only up to this many (a few tens of
  // milliseconds). Beyond it (K = 10, T = 8 is 10^8 paths; K = 16, T = 8 would need a 34 GB
  // array) the page says so and every other panel still works.
  const PATH_BUDGET = 65536;

  function withinPathBudget(K, T) {
    return T * Math.log2(Math.max(K, 1)) <= Math.log2(PATH_BUDGET);
  }

  /**
   * All K^T paths (K^T <= PATH_BUDGET): {nPaths, logLikelihood (log Σ_paths P(X, path)),
   * top: the `keep` most probable as [{path, logProb}] sorted, best first}.
   */
  function bruteForce(model, symbols, keep = 32) {
    checkModel(model, symbols);
    const T = symbols.length, K = model.start.length, nPaths = K ** T;
    if (!withinPathBudget(K, T))
      throw new Error(`brute force enumerates K^T = ${K}^${T} paths; the budget is ${PATH_BUDGET}`);
    const lik = likelihoods(model, symbols);
    const logProbs = new Float64Array(nPaths);
    const path = new Array(T).fill(0);
    let maxLog = -Infinity;
    for (let n = 0; n < nPaths; n++) {
      let rest = n;
      for (let t = T - 1; t >= 0; t--) { path[t] = rest % K; rest = Math.floor(rest / K); }
      logProbs[n] = pathLogProb(model, lik, path);
      if (logProbs[n] > maxLog) maxLog = logProbs[n];
    }
    let total = 0;
    if (maxLog > -Infinity) for (const lp of logProbs) total += Math.exp(lp - maxLog);
    const order = Array.from(logProbs.keys());
    // Largest first; equal probabilities keep path order (lowest index first, as Viterbi does).
    order.sort((a, b) => logProbs[b] - logProbs[a] || a - b);
    const top = order.slice(0, keep).map((n) => {
      const p = new Array(T);
      let rest = n;
      for (let t = T - 1; t >= 0; t--) { p[t] = rest % K; rest = Math.floor(rest / K); }
      return { path: p, logProb: logProbs[n] };
    });
    const logLikelihood = maxLog === -Infinity ? -Infinity : maxLog + Math.log(total);
    return { nPaths, logLikelihood, top };
  }

  function seededUniform(seed) {
    // A small seeded generator (mulberry32), so a seed gives the same draw on every browser.
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let r = Math.imul(a ^ (a >>> 15), 1 | a);
      r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
      return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
    };
  }

  function drawWeighted(weights, u) {
    // Index k with probability weights[k] / Σ weights at uniform u in [0, 1); a zero weight is
    // never chosen (rounding at the top end falls back to the last positive weight).
    let total = 0;
    for (const w of weights) total += w;
    const target = u * total;
    let acc = 0, chosen = -1;
    for (let k = 0; k < weights.length; k++) {
      if (weights[k] > 0) {
        chosen = k;
        acc += weights[k];
        if (target < acc) return k;
      }
    }
    return chosen;
  }

  function sample(model, nSteps, seed) {
    const uniform = seededUniform(seed);
    const draw = (probs) => drawWeighted(probs, uniform());
    const states = [], symbols = [];
    for (let t = 0; t < nSteps; t++) {
      const h = t === 0 ? draw(model.start) : draw(model.trans[states[t - 1]]);
      states.push(h);
      symbols.push(draw(model.emit[h]));
    }
    return { states, symbols };
  }

  /**
   * Whole paths drawn exactly from P(h_1..h_T | X) (forward filtering, backward sampling):
   * h_T ∝ π_T, then h_t ∝ π_t(h) · P(h_{t+1} | h) backwards, over the page's scaled forward
   * messages. Returns n paths (arrays of T state indices); a seed gives the same paths on every
   * browser. Not the same as drawing each h_t from the posterior marginals: those ignore how
   * neighbouring states are coupled.
   */
  function samplePosterior(model, symbols, n, seed = 0) {
    checkModel(model, symbols);
    if (!Number.isInteger(n) || n < 1 || n > 1e6) throw new Error(`n must be an integer in 1..1000000, got ${n}`);
    if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    const T = symbols.length, K = model.start.length;
    const filter = scaledForward(model, likelihoods(model, symbols)).alphaHat;
    if (filter[T - 1].every((v) => !(v > 0))) throw new Error("the sequence is impossible under the model: P(X) = 0");
    const uniform = seededUniform(seed);
    const weights = new Array(K);
    const paths = [];
    for (let s = 0; s < n; s++) {
      const path = new Array(T);
      path[T - 1] = drawWeighted(filter[T - 1], uniform());
      for (let t = T - 2; t >= 0; t--) {
        const next = path[t + 1];
        for (let k = 0; k < K; k++) weights[k] = filter[t][k] * model.trans[k][next];
        path[t] = drawWeighted(weights, uniform());
      }
      paths.push(path);
    }
    return paths;
  }

  function renormaliseRows(matrix) {
    // Each row divided by its sum; a row of zeros or a negative / non-number entry is an error.
    return matrix.map((row, i) => {
      if (row.some((v) => !Number.isFinite(v) || v < 0)) throw new Error(`row ${i} has a negative or non-number entry`);
      const total = row.reduce((s, v) => s + v, 0);
      if (!(total > 0)) throw new Error(`row ${i} sums to 0`);
      return row.map((v) => v / total);
    });
  }

  window.pirho = { infer, bruteForce, sample, samplePosterior, renormaliseRows, PATH_BUDGET };

  // ------------------------------------------------------------------------------------------
  // The page

  const config = JSON.parse(document.getElementById("pirho-config").textContent);
  const TEXT = {
    en: {
      title: "pirho explore: π and ρ, step by step",
      intro: "A hidden Markov model solved exactly. π_t (forward) summarises the past, ρ_t (backward) the future; their product is the posterior. Change a roll and watch the messages move.",
      model: "Model", model_casino: "dishonest casino", model_bank: "“bank”: finance or river?", model_file: "loaded model", model_url: "model from the URL",
      start: "start P(h₁)", trans: "transition P(h_{t+1} | h_t)", emit: "emission P(x_t | h_t)",
      editHint: "Edit any probability: its row is renormalised (zeros allowed).", reset: "reset model",
      sequence: "Sequence", sequenceHint: "Type symbols separated by commas, or click them:", undo: "undo", clear: "clear",
      sampleBtn: "sample", length: "length", seed: "seed", badSample: "length must be 1..10000 and seed an integer", badToken: "unknown symbol at position",
      messages: "Messages per step", lagLabel: "fixed lag L =",
      x: "x_t", truth: "true state", filter: "filter π_t/Σπ_t", backward: "ρ_t (normalised)", lagged: "fixed lag", posterior: "posterior", viterbi: "Viterbi",
      step: "step", hover: "Hover over a step to see its numbers.",
      legend: "colour = hidden state, depth = probability; hover a column for its numbers and formulas",
      formulas: "π_t(h) = P(x_t|h) Σ_h' π_{t−1}(h') P(h|h')\nfilter: P(h_t|x_1..x_t) = π_t(h) / Σ_h π_t(h)\nρ_t(h) = Σ_h' P(h'|h) P(x_{t+1}|h') ρ_{t+1}(h'),  ρ_T = 1\nposterior: P(h_t|X) = π_t(h) ρ_t(h) / P(X)\nfixed lag: P(h_t|x_1..x_{t+{L}}) ∝ π_t(h) · P(x_{t+1}..x_{t+{L}}|h)\nViterbi: δ_t(h) = log P(x_t|h) + max_h' [δ_{t−1}(h') + log P(h|h')]",
      brute: "Brute force: every hidden path", ops: "operations", bruteSum: "sum over all", paths: "paths", path: "path h_1..h_T", morePaths: "more paths (smaller)",
      bruteTooLong: "The table of all K^T paths is shown up to {B} paths; here K^T = {N}. Every other panel uses the dynamic programme and works for any K and T.", impossible: "This sequence is impossible under the model: P(X) = 0.",
      samplePaths: "sample paths from the posterior", nPaths: "paths", sampled: "posterior path", sampleFreq: "share of sampled paths",
      sampleHint: "Each path is drawn whole from P(h_1..h_T | X): h_T ∝ π_T, then h_t ∝ π_t(h) P(h_{t+1} | h) backwards. Drawing each step from the posterior instead would ignore how neighbouring states are coupled.",
      badPaths: "paths must be 1..1000 and seed an integer", drawn: "drawn", panelError: "this panel failed",
    },
    zh: {
      title: "pirho explore：逐步看 π 与 ρ",
      intro: "精确求解的隐马尔可夫模型。π_t（前向）概括过去，ρ_t（后向）概括未来；两者相乘即后验。改一个观测，看消息如何变化。",
      model: "模型", model_casino: "不诚实的赌场", model_bank: "“bank”：银行还是河岸？", model_file: "载入的模型", model_url: "网址中的模型",
      start: "初始 P(h₁)", trans: "转移 P(h_{t+1} | h_t)", emit: "发射 P(x_t | h_t)",
      editHint: "可修改任一概率：该行会重新归一化（允许为零）。", reset: "重置模型",
      sequence: "观测序列", sequenceHint: "输入以逗号分隔的符号，或点击：", undo: "撤销", clear: "清空",
      sampleBtn: "采样", length: "长度", seed: "种子", badSample: "长度须为 1..10000，种子须为整数", badToken: "未知符号，位置",
      messages: "每一步的消息", lagLabel: "固定滞后 L =",
      x: "x_t", truth: "真实状态", filter: "滤波 π_t/Σπ_t", backward: "ρ_t（归一化）", lagged: "固定滞后", posterior: "后验", viterbi: "维特比",
      step: "第", hover: "将鼠标移到某一步上查看数值。",
      legend: "颜色 = 隐藏状态，深浅 = 概率；鼠标移到某一列可看数值与公式",
      formulas: "π_t(h) = P(x_t|h) Σ_h' π_{t−1}(h') P(h|h')\n滤波：P(h_t|x_1..x_t) = π_t(h) / Σ_h π_t(h)\nρ_t(h) = Σ_h' P(h'|h) P(x_{t+1}|h') ρ_{t+1}(h')，ρ_T = 1\n后验：P(h_t|X) = π_t(h) ρ_t(h) / P(X)\n固定滞后：P(h_t|x_1..x_{t+{L}}) ∝ π_t(h) · P(x_{t+1}..x_{t+{L}}|h)\n维特比：δ_t(h) = log P(x_t|h) + max_h' [δ_{t−1}(h') + log P(h|h')]",
      brute: "穷举：所有隐藏路径", ops: "运算次数", bruteSum: "全部", paths: "条路径之和", path: "路径 h_1..h_T", morePaths: "条更小的路径",
      bruteTooLong: "全部 K^T 条路径的表格只在不超过 {B} 条时显示；此处 K^T = {N}。其余面板用动态规划计算，任意 K 与 T 都可用。", impossible: "该序列在此模型下不可能出现：P(X) = 0。",
      samplePaths: "从后验中采样路径", nPaths: "条路径", sampled: "后验路径", sampleFreq: "采样路径占比",
      sampleHint: "每条路径整体取自 P(h_1..h_T | X)：先按 π_T 取 h_T，再由后向前按 π_t(h) P(h_{t+1} | h) 取 h_t。若每一步各自按后验边缘分布采样，就忽略了相邻状态之间的关联。",
      badPaths: "路径数须为 1..1000，种子须为整数", drawn: "抽中次数", panelError: "此面板出错",
    },
  };
  const state = {
    lang: "en",
    modelName: config.initial.model,
    model: null,
    symbols: [],
    trueStates: null,
    lag: 2,
    result: null,
    error: null,
    pathRequest: null, // {n, seed} once "sample paths from the posterior" was pressed
    pathSamples: null,
  };
  window.pirho.state = state;

  const $ = (id) => document.getElementById(id);
  const t = (key) => TEXT[state.lang][key] || TEXT.en[key] || key;
  const fmt = (v, digits = 4) =>
    v === -Infinity ? "−∞" : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(digits) : v.toExponential(2);
  const stateLabels = () => state.model.labels[state.lang].states;
  const symbolLabels = () => state.model.labels[state.lang].symbols;
  const copyModel = (m) => JSON.parse(JSON.stringify(m));
  const colours = ["#2b6cb0", "#c05621", "#2f855a", "#805ad5"];

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "text") node.textContent = value;
      else if (key === "style") node.style.cssText = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.appendChild(child);
    return node;
  }

  function parseSymbols(text) {
    // Tokens are the model's symbol labels (English or Chinese); a casino face is its number.
    const tokens = text.split(/[\s,，]+/).filter((s) => s.length);
    const labels = state.model.labels;
    return tokens.map((token, position) => {
      for (const lang of ["en", "zh"]) {
        const index = labels[lang].symbols.indexOf(token);
        if (index >= 0) return index;
      }
      throw new Error(`${t("badToken")} ${position + 1}: "${token}"`);
    });
  }

  function setModel(name) {
    state.modelName = name;
    state.model = copyModel(config.models[name]);
    state.trueStates = null;
    $("model-select").value = name;
  }

  // -- model editor --------------------------------------------------------------------------
  function renderEditor() {
    const box = $("editor");
    box.textContent = "";
    const K = state.model.start.length, M = state.model.emit[0].length;
    const input = (value, matrix, i, j) => {
      const node = el("input", { type: "number", min: "0", step: "0.01", value: +value.toFixed(4), "data-matrix": matrix, "data-row": i, "data-col": j });
      node.addEventListener("change", onEdit);
      return node;
    };
    const table = (title, matrix, rowLabels, colLabels) => {
      const head = el("tr", {}, [el("th", { text: "" }), ...colLabels.map((c) => el("th", { text: c }))]);
      const rows = matrix.map((row, i) =>
        el("tr", {}, [el("th", { text: rowLabels[i] }), ...row.map((v, j) => el("td", {}, [input(v, title, i, j)]))]));
      return el("div", { class: "param" }, [el("div", { class: "param-title", text: t(title) }), el("table", {}, [head, ...rows])]);
    };
    box.appendChild(table("start", [state.model.start], [""], stateLabels()));
    box.appendChild(table("trans", state.model.trans, stateLabels(), stateLabels()));
    box.appendChild(table("emit", state.model.emit, stateLabels(), symbolLabels()));
    void K; void M;
  }

  function onEdit(event) {
    const node = event.target, matrix = node.dataset.matrix;
    const i = +node.dataset.row, j = +node.dataset.col, value = parseFloat(node.value);
    const rows = matrix === "start" ? [state.model.start.slice()] : state.model[matrix].map((r) => r.slice());
    rows[i][j] = value;
    try {
      const fixed = renormaliseRows(rows);
      if (matrix === "start") state.model.start = fixed[0];
      else state.model[matrix] = fixed;
      state.error = null;
    } catch (err) {
      state.error = `${t(matrix)}: ${err.message}`;
    }
    renderEditor();
    update();
  }

  // -- sequence ------------------------------------------------------------------------------
  function renderKeypad() {
    const pad = $("keypad");
    pad.textContent = "";
    symbolLabels().forEach((label, v) => {
      const button = el("button", { type: "button", class: "key", "data-symbol": v, text: label });
      button.addEventListener("click", () => {
        state.symbols.push(v);
        state.trueStates = null;
        syncSequenceInput();
        update();
      });
      pad.appendChild(button);
    });
  }

  function syncSequenceInput() {
    $("sequence").value = state.symbols.map((v) => symbolLabels()[v]).join(", ");
  }

  function onSequenceTyped() {
    try {
      state.symbols = parseSymbols($("sequence").value);
      state.trueStates = null;
      state.error = null;
    } catch (err) {
      state.error = err.message;
    }
    update();
  }

  function onSample() {
    const n = parseInt($("sample-length").value, 10), seed = parseInt($("sample-seed").value, 10);
    if (!(n >= 1 && n <= 10000) || !Number.isInteger(seed)) {
      state.error = t("badSample");
      return update();
    }
    const drawn = sample(state.model, n, seed);
    state.symbols = drawn.symbols;
    state.trueStates = drawn.states;
    state.error = null;
    syncSequenceInput();
    update();
  }

  // -- results -------------------------------------------------------------------------------
  function heat(p, k) {
    const c = colours[k % colours.length];
    const alpha = Math.round(Math.max(0, Math.min(1, p)) * 255).toString(16).padStart(2, "0");
    return c + alpha;
  }

  function stripRows(title, key, values, suffix = "") {
    // One heat strip per hidden state; values[t][k] in [0, 1] sets the colour.
    const rows = [];
    stateLabels().forEach((label, k) => {
      const cells = values.map((row, step) =>
        el("td", { class: "cell", style: `background:${heat(row[k], k)}`, "data-step": step, "data-quantity": key, "data-state": k, "data-value": row[k] }));
      rows.push(el("tr", { class: `strip strip-${key}` }, [el("th", { text: k === 0 ? t(title) + suffix : "" }), el("th", { class: "state-label", text: label }), ...cells]));
    });
    return rows;
  }

  function pathRow(title, key, path) {
    const cells = path.map((h, step) =>
      el("td", { class: "cell path", style: `background:${heat(0.85, h)}`, "data-step": step, "data-quantity": key, "data-state": h, title: stateLabels()[h] }));
    return el("tr", { class: `strip strip-${key}` }, [el("th", { text: t(title) }), el("th"), ...cells]);
  }

  function renderStrips(result) {
    const box = $("strips");
    box.textContent = "";
    if (!result || result.impossible) return;
    const T = state.symbols.length;
    const width = Math.max(3, Math.min(48, Math.floor(820 / T) - 1));
    const obs = el("tr", { class: "strip strip-x" }, [el("th", { text: t("x") }), el("th"),
      ...state.symbols.map((v, step) => el("td", { class: "cell obs", "data-step": step, text: width >= 18 ? symbolLabels()[v] : "" }))]);
    const normRho = result.backward.map((row) => {
      const top = Math.max(...row);
      const w = row.map((b) => Math.exp(b - top));
      const s = w.reduce((a, b) => a + b, 0);
      return w.map((v) => v / s);
    });
    const rows = [obs];
    if (state.trueStates) rows.push(pathRow("truth", "truth", state.trueStates));
    rows.push(...stripRows("filter", "filter", result.filter));
    rows.push(...stripRows("backward", "backward", normRho));
    rows.push(...stripRows("lagged", "lagged", result.fixedLag(state.lag), ` L=${state.lag}`));
    rows.push(...stripRows("posterior", "posterior", result.posterior));
    if (state.pathSamples) {
      const K = state.model.start.length, n = state.pathSamples.length;
      const share = state.symbols.map((_, step) => {
        const row = new Array(K).fill(0);
        for (const path of state.pathSamples) row[path[step]] += 1 / n;
        return row;
      });
      rows.push(...stripRows("sampleFreq", "sample-frequency", share, ` (${n})`));
      state.pathSamples.slice(0, 20).forEach((path, i) => {
        const row = pathRow("sampled", "posterior-sample", path);
        row.firstChild.textContent = `${t("sampled")} ${i + 1}`;
        row.dataset.path = path.join(",");
        rows.push(row);
      });
    }
    rows.push(pathRow("viterbi", "viterbi", result.viterbi));
    const legend = el("p", { class: "legend" }, [
      ...stateLabels().map((label, k) => el("span", { class: "chip wide", style: `background:${heat(0.85, k)}`, text: label })),
      el("span", { class: "meta", text: t("legend") }),
    ]);
    box.appendChild(legend);
    const table = el("table", { class: "strips", style: `--cell:${width}px` }, rows);
    table.addEventListener("mouseover", (event) => {
      const step = event.target.dataset && event.target.dataset.step;
      if (step !== undefined) showStep(+step);
    });
    box.appendChild(table);
  }

  function showStep(step) {
    const r = state.result, K = state.model.start.length, lagged = r.fixedLag(state.lag)[step];
    const lines = [`${t("step")} t = ${step + 1}, x_t = ${symbolLabels()[state.symbols[step]]}`];
    const table = el("table", {}, [el("tr", {}, ["", "log π_t", t("filter"), "log ρ_t", t("lagged"), t("posterior")].map((h) => el("th", { text: h })))]);
    for (let k = 0; k < K; k++)
      table.appendChild(el("tr", {}, [stateLabels()[k], fmt(r.forward[step][k]), fmt(r.filter[step][k]), fmt(r.backward[step][k]), fmt(lagged[k]), fmt(r.posterior[step][k])].map((v) => el("td", { text: v }))));
    const box = $("details");
    box.textContent = "";
    box.appendChild(el("div", { class: "details-title", text: lines[0] }));
    box.appendChild(table);
    box.appendChild(el("pre", { class: "formulas", text: t("formulas").replaceAll("{L}", state.lag) + `\n${t("viterbi")}: ĥ_t = ${stateLabels()[r.viterbi[step]]}` }));
  }

  function renderSummary(result) {
    const box = $("summary");
    box.textContent = "";
    if (state.error) box.appendChild(el("p", { class: "error", text: state.error }));
    if (!result) return;
    const T = state.symbols.length, K = state.model.start.length;
    const text = result.impossible
      ? t("impossible")
      : `T = ${T}, K = ${K} · log P(X) = ${fmt(result.logLikelihood, 6)} · P(X) = ${Math.exp(result.logLikelihood).toExponential(4)} · log P(X, ${t("viterbi")}) = ${fmt(result.viterbiLogProb, 6)}`;
    box.appendChild(el("p", { id: "loglik", "data-value": result.logLikelihood, text }));
  }

  function renderBrute(result) {
    const box = $("brute");
    box.textContent = "";
    const T = state.symbols.length, K = state.model.start.length;
    const ops = el("p", { class: "ops" });
    const brute = K ** T * T, dp = T * K * K;
    const count = (n) => (n < 1e15 ? n.toLocaleString("en") : `≈ ${n.toExponential(2)}`);
    ops.textContent = `${t("ops")}: K^T·T = ${K}^${T}·${T} = ${count(brute)}  vs  T·K² = ${T}·${K}² = ${count(dp)}`;
    box.appendChild(ops);
    if (!result) return;
    if (!withinPathBudget(K, T)) {
      box.appendChild(el("p", { id: "brute-budget", class: "meta",
        text: t("bruteTooLong").replace("{B}", PATH_BUDGET.toLocaleString("en")).replace("{N}", `${K}^${T} = ${count(K ** T)}`) }));
      return;
    }
    const bf = bruteForce(state.model, state.symbols, 24);
    box.appendChild(el("p", { id: "brute-sum", "data-log-sum": bf.logLikelihood, "data-n-paths": bf.nPaths,
      text: `${t("bruteSum")} ${bf.nPaths.toLocaleString("en")} ${t("paths")}: Σ P(X, h) = ${Math.exp(bf.logLikelihood).toExponential(6)} · P(X) (DP) = ${Math.exp(result.logLikelihood).toExponential(6)}` }));
    const viterbiKey = result.viterbi ? result.viterbi.join(",") : "";
    const drawn = new Map();
    if (state.pathSamples) for (const path of state.pathSamples) drawn.set(path.join(","), (drawn.get(path.join(",")) || 0) + 1);
    const header = ["#", t("path"), "P(X, h)", "P(h | X)"];
    if (state.pathSamples) header.push(`${t("drawn")} / ${state.pathSamples.length}`);
    const rows = [el("tr", {}, header.map((h) => el("th", { text: h })))];
    // One character per state in the path chips: its initial, or its index if initials clash.
    const initials = stateLabels().map((label) => [...label][0]);
    const chipText = new Set(initials).size === initials.length ? initials : initials.map((_, k) => String(k));
    const share = (logProb) => (result.impossible ? "—" : fmt(Math.exp(logProb - bf.logLikelihood)));
    bf.top.forEach((entry, n) => {
      const isBest = entry.path.join(",") === viterbiKey;
      const cells = entry.path.map((h) => el("span", { class: "chip", style: `background:${heat(0.8, h)}`, text: chipText[h] }));
      const columns = [el("td", { text: n + 1 }), el("td", {}, cells),
        el("td", { text: Math.exp(entry.logProb).toExponential(3) }), el("td", { text: share(entry.logProb) })];
      if (state.pathSamples) {
        const hits = drawn.get(entry.path.join(",")) || 0;
        columns.push(el("td", { class: "drawn", text: fmt(hits / state.pathSamples.length) }));
      }
      rows.push(el("tr", { class: isBest ? "path-row best" : "path-row", "data-path": entry.path.join(","), "data-log-prob": entry.logProb }, columns));
    });
    if (bf.nPaths > bf.top.length)
      rows.push(el("tr", {}, [el("td", { colspan: header.length, class: "meta", text: `… ${(bf.nPaths - bf.top.length).toLocaleString("en")} ${t("morePaths")}` })]));
    box.appendChild(el("table", { class: "paths" }, rows));
  }

  function panel(id, render) {
    // One panel's failure is shown in that panel and stops nothing else on the page.
    try {
      render();
    } catch (err) {
      const box = $(id);
      box.textContent = "";
      box.appendChild(el("p", { class: "error", text: `${t("panelError")}: ${err.message}` }));
      console.warn(err);
    }
  }

  function update() {
    state.result = null;
    state.pathSamples = null;
    if (state.symbols.length) {
      try {
        state.result = infer(state.model, state.symbols);
        if (state.pathRequest && !state.result.impossible)
          state.pathSamples = samplePosterior(state.model, state.symbols, state.pathRequest.n, state.pathRequest.seed);
      } catch (err) {
        state.error = err.message;
      }
    }
    panel("summary", () => renderSummary(state.result));
    panel("strips", () => renderStrips(state.result));
    panel("brute", () => renderBrute(state.result));
    $("lag-value").textContent = state.lag;
    $("details").textContent = t("hover");
    if (state.result && !state.result.impossible) panel("details", () => showStep(0));
    writeFragment();
  }

  function onSamplePaths() {
    const n = parseInt($("path-count").value, 10), seed = parseInt($("path-seed").value, 10);
    if (!(n >= 1 && n <= 1000) || !Number.isInteger(seed)) {
      state.error = t("badPaths");
      return update();
    }
    state.pathRequest = { n, seed };
    state.error = null;
    update();
  }

  function writeFragment() {
    const labels = state.model.labels.en.symbols;
    const parts = [`model=${state.modelName}`, `rolls=${state.symbols.map((v) => encodeURIComponent(labels[v])).join(",")}`, `lag=${state.lag}`, `lang=${state.lang}`];
    history.replaceState(null, "", `#${parts.join("&")}`);
  }

  function readFragment() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const name = params.get("model");
    if (name && config.models[name]) setModel(name);
    else if (name && name.trim().startsWith("{")) {
      const given = JSON.parse(name);
      config.models.url = { start: given.start, trans: given.trans, emit: given.emit, labels: defaultLabels(given) };
      config.models.url.start = renormaliseRows([given.start])[0];
      config.models.url.trans = renormaliseRows(given.trans);
      config.models.url.emit = renormaliseRows(given.emit);
      addModelOption("url");
      setModel("url");
    }
    if (params.get("lang") === "zh" || params.get("lang") === "en") state.lang = params.get("lang");
    if (params.get("lag") !== null && /^\d+$/.test(params.get("lag"))) state.lag = +params.get("lag");
    if (params.get("rolls") !== null) state.symbols = parseSymbols(params.get("rolls"));
  }

  function defaultLabels(model) {
    const states = model.start.map((_, k) => `h${k}`), symbols = model.emit[0].map((_, v) => String(v));
    return { en: { states, symbols }, zh: { states, symbols } };
  }

  function addModelOption(name) {
    if ([...$("model-select").options].some((o) => o.value === name)) return;
    $("model-select").appendChild(el("option", { value: name, "data-i18n": `model_${name}`, text: t(`model_${name}`) }));
  }

  function translate() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
    $("lang-toggle").textContent = state.lang === "en" ? "中文" : "English";
  }

  function rerenderAll() {
    translate();
    renderEditor();
    renderKeypad();
    syncSequenceInput();
    update();
  }

  function init() {
    Object.keys(config.models).forEach(addModelOption);
    setModel(state.modelName);
    state.symbols = config.initial.symbols.slice();
    try {
      readFragment();
    } catch (err) {
      state.error = `URL: ${err.message}`;
    }
    $("model-select").addEventListener("change", (e) => {
      setModel(e.target.value);
      state.symbols = state.symbols.filter((v) => v < state.model.emit[0].length);
      rerenderAll();
    });
    $("lang-toggle").addEventListener("click", () => { state.lang = state.lang === "en" ? "zh" : "en"; rerenderAll(); });
    $("sequence").addEventListener("change", onSequenceTyped);
    $("undo").addEventListener("click", () => { state.symbols.pop(); state.trueStates = null; syncSequenceInput(); update(); });
    $("clear").addEventListener("click", () => { state.symbols = []; state.trueStates = null; syncSequenceInput(); update(); });
    $("sample").addEventListener("click", onSample);
    $("sample-paths").addEventListener("click", onSamplePaths);
    $("reset").addEventListener("click", () => { setModel(state.modelName); rerenderAll(); });
    const slider = $("lag");
    slider.value = state.lag;
    slider.addEventListener("input", () => { state.lag = +slider.value; update(); });
    rerenderAll();
  }

  init();
})();
