"""Figure: contextual string embeddings of ambiguous Cantonese words, coloured by gold tag.

For each word (default 好 adverb/adjective, 俾 preposition/verb, 到 particle/verb/preposition),
its occurrences in HKCanCor's training conversations are embedded in their sentences with a
pretrained :class:`pirho.nn.ContextualStringEmbeddings`; the vectors are projected on their
first two principal components and coloured by the occurrence's gold tag. The black star is
the word's single context-free vector (the word embedded alone), in the same projection: a
static embedding gives every occurrence that one point. Printed per word: the tags and the
5-fold cross-validated accuracy of a logistic-regression probe from the full 2H vector to the
tag, against always choosing the word's most frequent tag (all a static vector allows).

    .venv/bin/python benchmarks/cse_polysemy_figure.py --embeddings cse.pt \
        --out docs/figures/cse_polysemy.png
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from pirho.data.corpora import hkcancor, split_by_document
from pirho.nn import ContextualStringEmbeddings

WORDS = ("好", "俾", "到")


def occurrences(sentences, word: str, limit: int, tags_kept: int = 3):
    """(sentence, position, tag) of ``word`` among its ``tags_kept`` most frequent tags."""
    found = [
        (s, i, t)
        for s in sentences
        for i, (w, t) in enumerate(zip(s.words, s.tags, strict=True))
        if w == word
    ]
    common = {t for t, _ in Counter(t for _, _, t in found).most_common(tags_kept)}
    found = [f for f in found if f[2] in common]
    rng = np.random.default_rng(0)
    if len(found) > limit:
        found = [found[i] for i in sorted(rng.choice(len(found), limit, replace=False))]
    return found


def probe_accuracy(vectors: np.ndarray, tags: list[str]) -> float:
    """5-fold cross-validated accuracy of a logistic-regression probe from vector to tag."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    probe = LogisticRegression(max_iter=2000)
    return float(cross_val_score(probe, vectors, tags, cv=5).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embeddings", required=True, help="pirho embed train checkpoint")
    parser.add_argument("--out", default="cse_polysemy.png", help="figure path")
    parser.add_argument("--limit", type=int, default=300, help="occurrences per word (300)")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    cjk = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name]
    if cjk:  # a font with the Chinese characters of the titles, where the system has one
        plt.rcParams["font.family"] = sorted(set(cjk))[0]

    cse = ContextualStringEmbeddings.load(args.embeddings)
    train = split_by_document(hkcancor()).train
    fig, axes = plt.subplots(1, len(WORDS), figsize=(4.2 * len(WORDS), 4))
    for ax, word in zip(axes, WORDS, strict=True):
        found = occurrences(train, word, args.limit)
        vectors = cse.embed([list(s.words) for s, _, _ in found]).numpy()
        points = np.stack([vectors[k, i] for k, (_, i, _) in enumerate(found)])
        static = cse.embed([[word]])[0, 0].numpy()
        tags = [t for _, _, t in found]
        mean = points.mean(0)
        _, _, components = np.linalg.svd(points - mean, full_matrices=False)
        projected = (points - mean) @ components[:2].T
        star = (static - mean) @ components[:2].T
        for tag, count in Counter(tags).most_common():
            chosen = np.array([t == tag for t in tags])
            ax.scatter(*projected[chosen].T, s=9, alpha=0.6, label=f"{tag} ({count})")
        ax.scatter(*star, marker="*", s=220, c="black", label="static (word alone)")
        ax.set_title(f"{word}: contextual vectors, PCA")
        ax.legend(fontsize=8)
        majority = Counter(tags).most_common(1)[0][1] / len(tags)
        print(
            f"{word}: {dict(Counter(tags))}; probe (5-fold) {probe_accuracy(points, tags):.3f}, "
            f"most frequent tag {majority:.3f}"
        )
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
