"""Write the four notebooks (01-exact, 02-learned; each in English and Chinese) from one source.

Both languages share every code cell (only a plot label or a printed word may differ, given as
an (en, zh) pair); the prose cells are written for each language, not machine-translated.
Outputs are not stored: the notebooks are executed by ``tests/test_notebooks.py``.

    python notebooks/make_notebooks.py      # rewrites notebooks/*-en.ipynb and *-zh.ipynb
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
LANGS = ("en", "zh")


def md(en: str, zh: str) -> tuple:
    return ("markdown", en.strip("\n"), zh.strip("\n"))


def code(src: str, zh: str | None = None) -> tuple:
    return ("code", src.strip("\n"), (zh if zh is not None else src).strip("\n"))


SETUP = """
import warnings

import matplotlib.pyplot as plt
import numpy as np
{torch}
from pirho.plots import set_language

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
LANG = "{lang}"
set_language(LANG)  # Chinese labels need a CJK font (fonts-noto-cjk); warns once without one


def say(en, zh):
    \"\"\"The label in this notebook's language.\"\"\"
    return zh if LANG == "zh" else en
"""

EXACT = [
    md(
        """
# 1 · Exact: π and ρ on a hidden Markov model

The note on d2l's section *Bidirectional RNNs* starts from a hidden Markov model: hidden states
h_1..h_T, observations x_1..x_T, and the question "what is P(X), and what was h_t?". Summing
over every hidden path costs K^T terms; dynamic programming carries two messages instead:

- **π_t(h_t) = P(x_1..x_t, h_t)**, the forward message, a summary of the past;
- **ρ_t(h_t) = P(x_{t+1}..x_T | h_t)**, the backward message, a summary of the future.

Then P(X) = Σ_h π_T(h), and P(h_t | X) = π_t(h_t) ρ_t(h_t) / P(X). This notebook checks each
of these against brute force, counts the operations, and decodes the dishonest casino with
the past only (filter), with the whole sequence (smoother), with the best path (Viterbi), and
with a few steps of the future (fixed lag).
""",
        """
# 1 · 精确推断：隐马尔可夫模型里的 π 与 ρ

这份笔记从《动手学深度学习》“双向循环神经网络”一节里的隐马尔可夫模型出发：隐状态
h_1..h_T，观测 x_1..x_T，问题是“P(X) 是多少？第 t 步的 h_t 又是什么？”。把所有隐状态路径
逐一加起来要 K^T 项；动态规划只需要传递两种消息：

- **π_t(h_t) = P(x_1..x_t, h_t)**：前向消息，概括“过去”；
- **ρ_t(h_t) = P(x_{t+1}..x_T | h_t)**：后向消息，概括“未来”。

于是 P(X) = Σ_h π_T(h)，P(h_t | X) = π_t(h_t) ρ_t(h_t) / P(X)。本笔记本逐条用穷举法验证这些
等式，数一数运算量，再用“不诚实的赌场”对比几种解码：只看过去（滤波）、看完整序列（平滑）、
最优路径（维特比），以及只多看几步未来（固定延迟平滑）。
""",
    ),
    code(
        SETUP.replace("{lang}", "en").replace("{torch}", ""),
        SETUP.replace("{lang}", "zh").replace("{torch}", ""),
    ),
    md(
        """
## The dishonest casino

A casino switches between a fair die and a loaded one (a six half of the time). We see the
rolls, not the die. `casino()` is Durbin et al.'s model: K = 2 hidden states, M = 6 faces.
""",
        """
## 不诚实的赌场

赌场在一枚公平骰子和一枚灌铅骰子（一半概率掷出 6）之间暗中切换。我们只看得到点数，看不到
用的是哪枚骰子。`casino()` 就是 Durbin 等人书中的模型：K = 2 个隐状态，M = 6 种点数。
""",
    ),
    code(
        """
from pirho.hmm import brute_force, casino

m = casino()
print("start", m.start, "\\ntrans\\n", m.trans, "\\nemit\\n", m.emit.round(3))
states, rolls = m.sample(12, seed=1)
print("dice :", states, "(1 = loaded)")
print("rolls:", rolls + 1)
"""
    ),
    md(
        """
## P(X): all K^T paths against π and ρ

`brute_force` enumerates every one of the 2^12 = 4,096 hidden paths. `forward` and `backward`
return log π_t and log ρ_t as (T, K) arrays (log space, so long sequences do not underflow).
""",
        """
## P(X)：穷举 K^T 条路径，对比 π 与 ρ

`brute_force` 把 2^12 = 4,096 条隐状态路径全部列举出来。`forward` 和 `backward` 以 (T, K)
数组的形式返回 log π_t 与 log ρ_t（取对数，长序列也不会下溢）。
""",
    ),
    code(
        """
brute = brute_force(m, rolls)
log_pi = m.forward(rolls)     # (T, K) log π_t
log_rho = m.backward(rolls)   # (T, K) log ρ_t, last row 0 (ρ_T = 1)
log_px = np.logaddexp.reduce(log_pi[-1])          # P(X) = Σ_h π_T(h)
print("paths enumerated:", brute.n_paths)
print(f"log P(X): brute force {brute.log_likelihood:.12f}, π_T {log_px:.12f}")
# π_t ρ_t / P(X) is the same number at every t (Σ_h π_t(h) ρ_t(h) = P(X) for all t)
print("log Σ_h π_t ρ_t, t = 1..T:", np.logaddexp.reduce(log_pi + log_rho, axis=1).round(9))
posterior = np.exp(log_pi + log_rho - log_px)     # P(h_t | X)
print("largest posterior difference from brute force:",
      np.abs(posterior - brute.posterior).max())
print("same as m.posterior:", np.allclose(posterior, m.posterior(rolls)))
path, log_prob = m.viterbi(rolls)
print("Viterbi path = best of all paths:", (path == brute.best_path).all(),
      round(log_prob, 9) == round(brute.best_log_prob, 9))
"""
    ),
    md(
        """
## Counting the work

Brute force does about T·K^T multiplications (T per path); the forward recursion does T·K²:
for each step, each new state sums K old ones. Below, both are timed while enumeration is
still possible, then the count alone is extrapolated.
""",
        """
## 数一数运算量

穷举法大约要做 T·K^T 次乘法（每条路径 T 次）；前向递推只要 T·K²：每一步里，每个新状态
把 K 个旧状态加起来。下面在还能穷举的长度内给两者计时，更长的序列只比较运算次数。
""",
    ),
    code(
        """
import time

_, long_rolls = m.sample(20, seed=2)
m.log_likelihood(long_rolls)  # the first call compiles the kernels: keep it out of the timings
rows = []
for T in (4, 8, 12, 16, 20):
    x = long_rolls[:T]
    started = time.perf_counter()
    r = brute_force(m, x)
    brute_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ll = m.log_likelihood(x)
    dp_seconds = time.perf_counter() - started
    rows.append((T, r.n_paths * T, T * 2**2, brute_seconds, dp_seconds,
                 abs(r.log_likelihood - ll)))
print(f"{'T':>3} {'brute ops':>12} {'DP ops':>7} {'brute s':>9} {'DP s':>9} {'|diff|':>8}")
for T, ops_b, ops_dp, sb, sd, diff in rows:
    print(f"{T:>3} {ops_b:>12,} {ops_dp:>7} {sb:>9.4f} {sd:>9.6f} {diff:>8.1e}")
print(f"T = 100: brute force {100 * 2**100:.2e} operations, DP {100 * 4}")

Ts = np.arange(1, 101)
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.semilogy(Ts, Ts * 2.0**Ts, label=say("brute force: T·K^T", "穷举：T·K^T"))
ax.semilogy(Ts, Ts * 4.0, label=say("dynamic programming: T·K²", "动态规划：T·K²"))
ax.set_xlabel(say("sequence length T", "序列长度 T"))
ax.set_ylabel(say("operations (K = 2)", "运算次数（K = 2）"))
ax.legend()
plt.show()
"""
    ),
    md(
        """
## Filter, smoother, Viterbi

On 2,000 rolls: the **filter** P(h_t | x_1..x_t) uses π_t alone (normalised), the
**smoother** P(h_t | x_1..x_T) uses π_t ρ_t, **Viterbi** the single most probable path. Only
the smoother and Viterbi see the future; the smoother is the best guess of each h_t.
""",
        """
## 滤波、平滑与维特比

在 2,000 次掷骰上比较：**滤波** P(h_t | x_1..x_t) 只用（归一化后的）π_t；**平滑**
P(h_t | x_1..x_T) 用 π_t ρ_t；**维特比**给出概率最大的整条路径。只有平滑和维特比看得到
未来；对每个 h_t 单独猜，平滑的猜法最好。
""",
    ),
    code(
        """
states, rolls = m.sample(2000, seed=0)
filtered = m.filter(rolls)[:, 1]       # P(loaded | past)
smoothed = m.posterior(rolls)[:, 1]    # P(loaded | past and future)
path, _ = m.viterbi(rolls)
for name, guess in ((say("filter", "滤波"), filtered > 0.5),
                    (say("smoother", "平滑"), smoothed > 0.5),
                    (say("Viterbi", "维特比"), path == 1)):
    print(f"{name:10s} {say('accuracy', '准确率')} {np.mean(guess == states):.3f}")

shown = slice(0, 300)
fig, ax = plt.subplots(figsize=(9, 3))
ax.fill_between(np.arange(300), 0, 1, where=states[shown] == 1, step="mid",
                color="tab:red", alpha=0.15, label=say("loaded die (truth)", "灌铅骰子（真实）"))
ax.plot(filtered[shown], lw=0.8, label=say("filter", "滤波"))
ax.plot(smoothed[shown], lw=1.5, label=say("smoother", "平滑"))
ax.set_xlabel(say("roll", "第几次掷骰"))
ax.set_ylabel(say("P(loaded)", "P(灌铅)"))
ax.legend(loc="upper right", fontsize=8)
plt.show()
"""
    ),
    md(
        """
## Fixed lag: how much future is enough?

`posterior(x, lag=L)` gives P(h_t | x_1..x_{t+L}): the filter at L = 0, the smoother as L grows.
A handful of rolls of lookahead recovers most of the smoother's gain — the future that matters
is near.
""",
        """
## 固定延迟：需要看多少未来？

`posterior(x, lag=L)` 给出 P(h_t | x_1..x_{t+L})：L = 0 就是滤波，L 越大越接近平滑。只多看
几次掷骰，就能拿回平滑相对滤波的大部分收益——真正有用的未来就在眼前。
""",
    ),
    code(
        """
lags = [0, 1, 2, 4, 8, 16, 32]
accuracy = [np.mean((m.posterior(rolls, lag=L)[:, 1] > 0.5) == states) for L in lags]
for L, a in zip(lags, accuracy, strict=True):
    print(f"{say('lag', '延迟')} {L:2d}: {say('accuracy', '准确率')} {a:.3f}")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(lags, accuracy, "o-")
ax.axhline(np.mean((smoothed > 0.5) == states), ls="--", color="gray",
           label=say("smoother (whole future)", "平滑（全部未来）"))
ax.set_xscale("symlog", base=2)
ax.set_xticks(lags, [str(L) for L in lags])
ax.set_xlabel(say("lag L (rolls of future)", "延迟 L（多看几次掷骰）"))
ax.set_ylabel(say("accuracy", "准确率"))
ax.legend()
plt.show()
"""
    ),
    md(
        """
## Watch π and ρ move

`write_explorer` writes one self-contained HTML page (no network) that runs forward–backward
in the browser: type rolls and watch each message update; it has a 中文 toggle. From a
terminal, `pirho explore --open` writes it and opens a browser.
""",
        """
## 看 π 和 ρ 怎样变化

`write_explorer` 写出一个独立的 HTML 页面（无需联网），在浏览器里运行前向-后向算法：输入
掷骰结果，就能看到每条消息怎样更新；页面可以切换到中文。在终端里，
`pirho explore --open` 会写出页面并打开浏览器。
""",
    ),
    code(
        """
from IPython.display import HTML, display

from pirho.explore import write_explorer

page = write_explorer("explore.html", rolls="6,6,6,1,6,6,2,3,6,6")
display(HTML(f'<a href="{page.name}" target="_blank">{say("open the explorer", "打开交互页面")}'
             f" ({page.stat().st_size // 1024} KB)</a>"))
"""
    ),
]

LEARNED = [
    md(
        """
# 2 · Learned: bidirectional RNNs

The HMM's messages are derived from known parameters; a recurrent network learns its state
h_t = f(h_{t−1}, x_t) instead. A bidirectional RNN runs one network forward (H→_t, the past)
and one backward (H←_t, the future) and concatenates them, H_t = [H→_t ; H←_t], exactly as
smoothing combines π_t and ρ_t. This notebook builds it from the equations, answers the
section's three exercises with code, and measures where the future helps (filling a blank)
and where it cheats (predicting the next character).
""",
        """
# 2 · 学习得到的：双向循环神经网络

隐马尔可夫模型的消息由已知参数推导出来；循环神经网络则从数据中学出它的隐状态
h_t = f(h_{t−1}, x_t)。双向循环神经网络让一个网络从前往后读（H→_t，过去），另一个从后往前读
（H←_t，未来），再把两者拼接：H_t = [H→_t ; H←_t]，正如平滑把 π_t 与 ρ_t 结合起来。本笔记本
按公式实现它，用代码回答这一节的三道练习题，并测量未来在哪里真正有用（完形填空），又在哪里
是“作弊”（预测下一个字符）。
""",
    ),
    code(
        (SETUP + "\ntorch.manual_seed(0)\ntorch.set_num_threads(2)")
        .replace("{lang}", "en")
        .replace("{torch}", "import torch\n"),
        (SETUP + "\ntorch.manual_seed(0)\ntorch.set_num_threads(2)")
        .replace("{lang}", "zh")
        .replace("{torch}", "import torch\n"),
    ),
    md(
        """
## A BiRNN from the equations

For an LSTM in each direction, with torch's parameter names (`weight_ih_l0` is W_xh^(f),
`weight_ih_l0_reverse` is W_xh^(b)):

H→_t = LSTM(x_t, H→_{t−1}),  H←_t = LSTM(x_t, H←_{t+1}),  H_t = [H→_t ; H←_t].

We write the LSTM step by hand, run it both ways over a batch, and compare with
`torch.nn.LSTM(bidirectional=True)` holding the same weights.
""",
        """
## 按公式实现双向循环神经网络

每个方向用一个 LSTM，参数沿用 torch 的命名（`weight_ih_l0` 即 W_xh^(f)，
`weight_ih_l0_reverse` 即 W_xh^(b)）：

H→_t = LSTM(x_t, H→_{t−1})，H←_t = LSTM(x_t, H←_{t+1})，H_t = [H→_t ; H←_t]。

下面手写 LSTM 的一步，分别从前往后、从后往前跑完一个批量，再与持有同样权重的
`torch.nn.LSTM(bidirectional=True)` 比较。
""",
    ),
    code(
        """
def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = gates.chunk(4, dim=-1)           # torch's gate order: input, forget, cell, output
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def birnn_from_equations(x, lstm):
    T, B, _ = x.shape
    H = lstm.hidden_size
    p = dict(lstm.named_parameters())
    outputs = {}
    for suffix, steps in (("", range(T)), ("_reverse", reversed(range(T)))):
        weights = [p[f"{n}_l0{suffix}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h, c = torch.zeros(B, H), torch.zeros(B, H)
        out = [None] * T
        for t in steps:                            # forward: t = 1..T; backward: t = T..1
            h, c = lstm_step(x[t], h, c, *weights)
            out[t] = h
        outputs[suffix] = torch.stack(out)
    return torch.cat([outputs[""], outputs["_reverse"]], dim=-1)  # H_t = [H→_t ; H←_t]


lstm = torch.nn.LSTM(input_size=5, hidden_size=7, bidirectional=True)
x = torch.randn(9, 3, 5)                           # (T, B, input)
with torch.no_grad():
    ours = birnn_from_equations(x, lstm)
    theirs, _ = lstm(x)
print("shape", tuple(ours.shape), "largest difference", (ours - theirs).abs().max().item())
assert torch.allclose(ours, theirs, atol=1e-6)
"""
    ),
    md(
        """
pirho's `BiRNN` has the same two implementations: `impl="reference"` runs these equations step
by step, `impl="fused"` calls torch's kernels. `BiRNN.from_torch` copies a torch layer.
""",
        """
pirho 的 `BiRNN` 也有这两种实现：`impl="reference"` 按上面的公式逐步计算，`impl="fused"`
调用 torch 的内核。`BiRNN.from_torch` 可以直接复制一个 torch 层。
""",
    ),
    code(
        """
from pirho.nn import BiRNN

for impl in ("reference", "fused"):
    layer = BiRNN.from_torch(lstm, impl=impl)
    with torch.no_grad():
        out, _ = layer(x)
    print(f"{impl:9s} largest difference from torch.nn.LSTM: {(out - theirs).abs().max():.1e}")
"""
    ),
    md(
        """
## Exercise 1: different hidden sizes per direction

*If the two directions have different numbers of hidden units, how does the shape of H_t
change?* H→_t has h_f entries and H←_t has h_b, so the concatenation has h_f + h_b; the output
layer O_t = H_t W_hq + b_q then needs W_hq of shape (h_f + h_b, q). torch's LSTM cannot do this
(one `hidden_size`); `BiRNN` takes a pair.
""",
        """
## 练习 1：两个方向的隐藏单元数不同

*如果不同方向上使用不同数量的隐藏单元，H_t 的形状会发生怎样的变化？* H→_t 有 h_f 个分量，
H←_t 有 h_b 个，拼接后是 h_f + h_b；输出层 O_t = H_t W_hq + b_q 的 W_hq 于是要是
(h_f + h_b, q)。torch 的 LSTM 只有一个 `hidden_size`，做不到；`BiRNN` 接受一对数。
""",
    ),
    code(
        """
layer = BiRNN(input_size=5, hidden_size=(8, 3), cell="gru")
out, state = layer(x)
print("H_t:", tuple(out.shape), "= (T, B, 8 + 3); output_size", layer.output_size)
forward_part, backward_part = out[..., :8], out[..., 8:]
print("H→_t", tuple(forward_part.shape), " H←_t", tuple(backward_part.shape))
head = torch.nn.Linear(layer.output_size, 4)     # W_hq: (h_f + h_b) → q
print("O_t:", tuple(head(out).shape))
"""
    ),
    md(
        """
## Exercise 2: a deep bidirectional RNN

*Design a bidirectional RNN with several hidden layers.* Two designs: **joint** (torch's):
layer l+1 reads both directions of layer l, so from layer 2 on the forward stack has seen the
future; **separate** (ELMo's): each direction keeps its own stack, and the forward states never
see the future — which is what a language model needs.
""",
        """
## 练习 2：深层双向循环神经网络

*设计一个具有多个隐藏层的双向循环神经网络。* 有两种做法：**联合**（torch 的做法）：第 l+1 层
读第 l 层两个方向的输出，所以从第 2 层起，“前向”隐状态已经看过未来；**分开**（ELMo 的
做法）：每个方向各有一摞层，前向隐状态从不看到未来——这正是语言模型需要的。
""",
    ),
    code(
        """
deep = torch.nn.LSTM(input_size=5, hidden_size=6, num_layers=3, bidirectional=True)
joint = BiRNN.from_torch(deep, impl="reference")
with torch.no_grad():
    ours, _ = joint(x)
    theirs, _ = deep(x)
print("joint, 3 layers:", tuple(ours.shape), "difference from torch",
      (ours - theirs).abs().max().item())


def forward_half_sees_future(layer):
    \"\"\"Does the forward half of H_1 change when only the last input changes?\"\"\"
    y = x.clone()
    y[-1] += 1.0
    with torch.no_grad():
        a, _ = layer(x)
        b, _ = layer(y)
    return not torch.allclose(a[0, :, :6], b[0, :, :6])


separate = BiRNN(5, 6, num_layers=3, stacking="separate")
print("joint: forward half at t = 1 sees x_T?", forward_half_sees_future(joint))
print("separate: forward half at t = 1 sees x_T?", forward_half_sees_future(separate))
"""
    ),
    md(
        """
## The bidirectional language model cheats

Train d2l's character LSTM on *The Time Machine* twice, unidirectional and bidirectional, and
measure held-out perplexity two ways: **teacher-forced** (the whole window is read at once, as
d2l trains and reports) and **causal** (each character predicted from its prefix only, as in
generation). The bidirectional model's backward half has already read the character it is
asked to predict: teacher-forced it looks nearly perfect, causally it is worse than the
unidirectional one, and it generates nonsense. (Quick configuration: about a minute.)
""",
        """
## 双向语言模型会“作弊”

在《时间机器》上把 d2l 的字符级 LSTM 训练两次：单向一次、双向一次；在留出文本上用两种方式
计算困惑度：**强制教学**（整段窗口一次读完，d2l 训练和报告时就是这样）与**因果**（每个字符只
根据它前面的字符来预测，和生成文本时一样）。双向模型的后向部分已经读过要预测的那个字符：
在强制教学下它几乎完美，按因果方式却比单向模型还差，生成的文本也不成样子。（快速配置，
约一分钟。）
""",
    ),
    code(
        """
from pirho.experiments import lm_leak

leak = lm_leak.run(quick=True, progress=False, epochs=20, threads=2).metrics
print(f"{'':4s} {'train':>8s} {say('teacher-forced', '强制教学'):>14s} {say('causal', '因果'):>8s}")
for name in ("uni", "bi"):
    r = leak[name]
    print(f"{name:4s} {r['train_ppl']:8.2f} {r['heldout_teacher_forced_ppl']:14.2f} "
          f"{r['heldout_causal_ppl']:8.2f}")
for name in ("uni", "bi"):
    print(name, say("generates:", "生成："), repr(leak[name]["sample"]))

fig, ax = plt.subplots(figsize=(5, 3))
kinds = ("heldout_teacher_forced_ppl", "heldout_causal_ppl")
for i, name in enumerate(("uni", "bi")):
    ax.bar(np.arange(2) + 0.38 * i, [leak[name][k] for k in kinds], 0.38, label=name)
ax.set_xticks(np.arange(2) + 0.19, [say("teacher-forced", "强制教学"), say("causal", "因果")])
ax.set_ylabel(say("held-out perplexity", "留出困惑度"))
ax.legend()
plt.show()
"""
    ),
    md(
        """
## Where the future belongs: fill in the blank

A blank in the middle of a sentence is what a bidirectional model is for. `ClozeModel` predicts
x_t from the forward state at t−1 and the backward state at t+1 — neither has read x_t, so
nothing leaks. Held-out accuracy with the left context only, the right only, and both:
""",
        """
## 未来该用在哪里：完形填空

句子中间的空格，正是双向模型的用武之地。`ClozeModel` 用 t−1 处的前向隐状态和 t+1 处的后向
隐状态来预测 x_t——两者都没读过 x_t，所以不存在泄漏。下面是在留出文本上只用左侧上下文、只用
右侧上下文、以及两侧都用时的准确率：
""",
    ),
    code(
        """
from pirho.experiments import cloze

result = cloze.run(quick=True, progress=False, epochs=6, threads=2, checkpoint="cloze.pt")
scores = result.metrics
for side in ("left", "right", "both"):
    print(f"{side:5s} {scores[side + '_acc']:.3f}")
chance = say("chance (most frequent character)", "基线（总猜最常见字符）")
print(chance, f"{scores['chance_acc']:.3f}")
for query, fills in scores["examples"].items():
    print(repr(query), "->", ", ".join(f"{text!r} {p:.2f}" for text, p in fills))

fig, ax = plt.subplots(figsize=(5, 3))
sides = ("left", "right", "both", "chance")
names = [say("left only", "仅左侧"), say("right only", "仅右侧"), say("both", "两侧"),
         say("chance", "基线")]
ax.bar(names, [scores[s + "_acc"] for s in sides], color=["C0", "C1", "C2", "gray"])
ax.set_ylabel(say("held-out accuracy", "留出准确率"))
plt.show()
"""
    ),
    md(
        """
The trained model fills blanks of your own: one `_` per missing character. (It has read one
English novel; a model of Chinese text: `pirho experiment cloze --corpus ctcpc`, in
docs/lm.md.)
""",
        """
训练好的模型也能填你自己写的句子：每个缺失的字符写一个 `_`。（这个模型只读过英文小说；
用中文训练的模型见 `pirho experiment cloze --corpus ctcpc`，说明在 docs/zh/lm.md。）
""",
    ),
    code(
        """
from pirho.nn.models import load_model

model = load_model("cloze.pt")  # the checkpoint the experiment just wrote
for query in ("the time tr_veller", "he put his hand on the le_er"):
    print(query, "->", [(f.text, round(f.probability, 3)) for f in model.fill(query, top_k=3)])
"""
    ),
    md(
        """
## Exercise 3: one word, two meanings

*Polysemy: how would a bidirectional model help tell the senses of "bank" apart?* A synthetic
corpus is sampled from an HMM in which the sense of "bank" (river / money) shows in the words
before it, after it, both, or neither. Linear probes read the sense from a static embedding,
the forward state, the backward state, and both; the exact HMM posterior (Bayes) is the
ceiling. Real text: the tagging experiment on Cantonese (`docs/tagging.md`) scores ambiguous
words, where the bidirectional tagger beats the unidirectional one.
""",
        """
## 练习 3：一词多义

*一词多义：双向模型怎样帮助区分 “bank”（银行 / 河岸）的两个意思？* 我们从一个隐马尔可夫模型
采样合成语料，“bank” 的词义线索可能出现在它前面、后面、两边，或者都没有。用线性探针分别从
静态词向量、前向隐状态、后向隐状态和两者拼接中读出词义；精确的 HMM 后验（贝叶斯）是上限。
真实文本上的结果见粤语词性标注实验（docs/zh/tagging.md）：对歧义词，双向标注器胜过单向。
""",
    ),
    code(
        """
from pirho.experiments import polysemy

poly = polysemy.run(quick=True, progress=False, n_lm_sequences=1500, n_probe_sequences=1000,
                    epochs=6).metrics
print(polysemy.summary(poly))
methods = ("static", "forward", "backward", "both", "bayes")
positions = ("before", "after", "both")
fig, ax = plt.subplots(figsize=(7, 3))
for i, method in enumerate(methods):
    values = [poly["by_position"][p][method + "_acc"] for p in positions]
    ax.bar(np.arange(3) + 0.16 * i, values, 0.16, label=method)
ax.set_xticks(np.arange(3) + 0.32, [say(f"evidence {p}", {"before": "线索在前", "after": "线索在后",
                                    "both": "两边都有"}[p]) for p in positions])
ax.set_ylabel(say("probe accuracy", "探针准确率"))
ax.set_ylim(0.4, 1.1)
ax.legend(fontsize=8, ncol=5)
plt.show()
"""
    ),
]

NOTEBOOKS = {"01-exact": EXACT, "02-learned": LEARNED}


def build(cells: list[tuple], lang: str) -> nbformat.NotebookNode:
    index = LANGS.index(lang) + 1
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if cell[0] == "markdown" else nbformat.v4.new_code_cell
        made = make(cell[index])
        made.id = f"cell-{i:02d}"
        notebook.cells.append(made)
    return notebook


def main() -> None:
    written = []
    for name, cells in NOTEBOOKS.items():
        for lang in LANGS:
            path = HERE / f"{name}-{lang}.ipynb"
            nbformat.write(build(cells, lang), path)
            written.append(str(path))
            print("wrote", path)
    # the house format (ruff, from the dev extra), the same for both languages
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", *written], check=True)


if __name__ == "__main__":
    main()
