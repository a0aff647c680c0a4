"""Regime detection on the Nile's annual flow with the hmmlearn-style GaussianHMM.

Run from the repository root: ``python examples/nile_regimes.py``. Fits K = 1..4 states,
picks K by BIC, and prints the decoded regimes (the flow drops after 1898: Cobb 1978).
"""

from pathlib import Path

from pirho.data.sequences import read_sequences
from pirho.hmm import sklearn as hmm

NILE = Path(__file__).resolve().parent / "data" / "nile.csv"


def main() -> None:
    years = read_sequences(NILE, columns=["year"]).X[:, 0].astype(int)
    volume = read_sequences(NILE, columns=["volume"]).X
    models = [hmm.GaussianHMM(k, n_iter=200, tol=1e-6, random_state=0).fit(volume)
              for k in range(1, 5)]  # fmt: skip
    for model in models:
        print(f"K = {model.n_components}: BIC {model.bic(volume):9.2f}")
    best = min(models, key=lambda m: m.bic(volume))
    states = best.predict(volume)
    starts = [0] + [t for t in range(1, len(states)) if states[t] != states[t - 1]]
    ends = starts[1:] + [len(states)]
    for lo, hi in zip(starts, ends, strict=True):
        mean = float(best.means_[states[lo], 0])
        print(f"{years[lo]}–{years[hi - 1]}: state {states[lo]}, mean flow {mean:7.1f}")


if __name__ == "__main__":
    main()
