"""Data sets drawn from hidden Markov models, where the Bayes-optimal answer is computable.

Two kinds:

- :func:`sample_dataset`: train / validation / test sequences of hidden states and symbols
  from any :class:`~pirho.hmm.CategoricalHMM` (the dishonest casino, a :func:`random_hmm`, a
  model loaded from JSON). A tagger trained on the states can be compared with the exact
  filter P(h_t | x_1..x_t) and smoother P(h_t | x_1..x_T) on the same test set.
- :func:`polysemy_hmm` / :func:`sample_polysemy`: a corpus of short sentences whose hidden
  state carries a *sense* (finance or river) and which contains the ambiguous word "bank"
  under both senses. Each sentence follows one of four templates that place a disambiguating
  cue word before "bank", after it, on both sides, or nowhere; the template and the sense are
  part of the hidden state, so for every occurrence of "bank" we know where its evidence is,
  and the exact posterior P(sense | whole sequence) from :meth:`CategoricalHMM.posterior` is
  the Bayes-optimal guess.

Both samplers are seeded and vectorised across sequences (one numpy step per time step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pirho._checks import check_positive_int
from pirho.hmm import CategoricalHMM, check_distribution, draw_sequences

SENSES = ("finance", "river")
EVIDENCE = ("none", "before", "after", "both")

NEUTRAL_WORDS = (
    "i", "we", "they", "walked", "went", "sat", "stood", "waited", "looked", "to",
    "the", "a", "by", "near", "along", "at", "today", "yesterday", "slowly", "there",
)  # fmt: skip
CUE_WORDS = {
    "finance": ("money", "loan", "cash", "deposit", "account", "interest", "credit", "teller"),
    "river": ("river", "water", "fish", "shore", "boat", "mud", "reeds", "stream"),
}
AMBIGUOUS_WORD = "bank"
END_WORD = "."


# ---------------------------------------------------------------------------------------------
# Sampling any categorical HMM


@dataclass(frozen=True)
class HMMSplit:
    """Sequences drawn from an HMM.

    states:  (N, T) int64, hidden states h_t.
    symbols: (N, T) int64, observed symbols x_t.
    """

    states: np.ndarray
    symbols: np.ndarray

    @property
    def n_steps(self) -> int:
        """Total number of time steps, N·T."""
        return int(self.symbols.size)


@dataclass(frozen=True)
class HMMDataset:
    """Train / validation / test sequences from one model (each an :class:`HMMSplit`)."""

    model: CategoricalHMM
    train: HMMSplit
    val: HMMSplit
    test: HMMSplit


def sample_sequences(
    model: CategoricalHMM, n_sequences: int, length: int, seed: int | np.random.SeedSequence = 0
) -> HMMSplit:
    """Draw ``n_sequences`` independent sequences of ``length`` steps from ``model``.

    h_1 ~ start, h_t ~ trans[h_{t-1}], x_t ~ emit[h_t]; all sequences advance together, so the
    cost is ``length`` numpy steps whatever ``n_sequences`` is. Deterministic in ``seed``.
    Returns an :class:`HMMSplit` with ``states`` and ``symbols`` of shape (n_sequences, length).

    >>> from pirho.hmm import casino
    >>> split = sample_sequences(casino(), n_sequences=3, length=5, seed=0)
    >>> split.states.shape, split.symbols.shape
    ((3, 5), (3, 5))
    """
    if not isinstance(model, CategoricalHMM):
        raise TypeError(f"model must be a CategoricalHMM, got {type(model).__name__}")
    check_positive_int("n_sequences", n_sequences)
    check_positive_int("length", length)
    states, symbols = draw_sequences(
        model.start, model.trans, model.emit, n_sequences, length, np.random.default_rng(seed)
    )
    return HMMSplit(states=states, symbols=symbols)


def sample_dataset(
    model: CategoricalHMM,
    *,
    n_train: int,
    n_val: int,
    n_test: int,
    length: int,
    seed: int = 0,
) -> HMMDataset:
    """Train / validation / test sequences (each (n, length)) from ``model``, seeded.

    Each split has its own stream spawned from ``seed``, so the test set does not change when
    only ``n_train`` does.

    >>> from pirho.hmm import casino
    >>> data = sample_dataset(casino(), n_train=4, n_val=2, n_test=2, length=10, seed=1)
    >>> data.train.symbols.shape, data.test.n_steps
    ((4, 10), 20)
    """
    streams = np.random.SeedSequence(seed).spawn(3)
    return HMMDataset(
        model=model,
        train=sample_sequences(model, n_train, length, streams[0]),
        val=sample_sequences(model, n_val, length, streams[1]),
        test=sample_sequences(model, n_test, length, streams[2]),
    )


def random_hmm(
    n_states: int,
    n_symbols: int,
    *,
    seed: int = 0,
    stay: float = 0.8,
    concentration: float = 1.0,
) -> CategoricalHMM:
    """A random categorical HMM with "sticky" states, so that context matters.

    Transition rows are ``stay`` on the diagonal plus ``(1 - stay)`` times a Dirichlet draw;
    emission rows and the start vector are Dirichlet(``concentration``) draws.

    >>> m = random_hmm(4, 6, seed=0)
    >>> m.n_states, m.n_symbols
    (4, 6)
    """
    check_positive_int("n_states", n_states)
    check_positive_int("n_symbols", n_symbols)
    if not 0.0 <= stay < 1.0:
        raise ValueError(f"stay must be in [0, 1), got {stay!r}")
    if not concentration > 0:
        raise ValueError(f"concentration must be positive, got {concentration!r}")
    rng = np.random.default_rng(seed)
    alpha_states = np.full(n_states, concentration)
    start = rng.dirichlet(alpha_states)
    trans = stay * np.eye(n_states) + (1.0 - stay) * rng.dirichlet(alpha_states, size=n_states)
    emit = rng.dirichlet(np.full(n_symbols, concentration), size=n_states)
    return CategoricalHMM(start, trans, emit)


# ---------------------------------------------------------------------------------------------
# The polysemy corpus


@dataclass(frozen=True)
class PolysemyHMM:
    """The sense-carrying HMM behind the polysemy corpus, with the meaning of its states.

    model:          the :class:`CategoricalHMM` (K states, M = len(words) symbols).
    words:          (M,) the word each symbol stands for.
    state_names:    (K,) e.g. ``"river/after/bank"``: sense / template / role.
    state_sense:    (K,) int, index into :data:`SENSES`; -1 for the sentence end.
    state_template: (K,) int, index into :data:`EVIDENCE` of the sentence template; -1 for the end.
    state_role:     (K,) role names: ``pre``, ``cue_before``, ``gap_before``, ``bank``,
                    ``gap_after``, ``cue_after``, ``post``, ``end``.
    bank:           the symbol of the ambiguous word "bank".
    """

    model: CategoricalHMM
    words: tuple[str, ...]
    state_names: tuple[str, ...]
    state_sense: np.ndarray
    state_template: np.ndarray
    state_role: tuple[str, ...]
    bank: int

    def encode(self, sentence: str) -> list[int]:
        """Symbols of a space-separated sentence, e.g. ``"we sat by the bank river there ."``."""
        index = {w: i for i, w in enumerate(self.words)}
        unknown = [w for w in sentence.split() if w not in index]
        if unknown:
            raise ValueError(f"words not in the vocabulary: {unknown}")
        return [index[w] for w in sentence.split()]

    def decode(self, symbols: Sequence[int]) -> str:
        """The words of ``symbols`` joined by spaces."""
        return " ".join(self.words[int(s)] for s in symbols)

    def sense_posterior(self, symbols: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Exact P(sense at t | x_1..x_T) for every position, from the HMM posterior.

        symbols: (N, T) int array (or a list of N equal-length sequences).
        Returns (N, T, len(SENSES)); rows at a sentence end (".") sum to 0, elsewhere to 1.

        >>> spec = polysemy_hmm()
        >>> p = spec.sense_posterior([spec.encode("we sat by the bank river there .")])
        >>> bool(p[0, 4, 1] > 0.8)   # "river" right after "bank": probably the river sense
        True
        """
        symbols = np.asarray(symbols, dtype=np.int64)
        if symbols.ndim != 2:
            raise ValueError(f"symbols must be (N, T), got shape {symbols.shape}")
        posterior = np.stack(self.model.posterior(list(symbols)))  # (N, T, K)
        indicator = np.zeros((self.model.n_states, len(SENSES)))
        has_sense = self.state_sense >= 0
        indicator[np.flatnonzero(has_sense), self.state_sense[has_sense]] = 1.0
        return posterior @ indicator


def polysemy_hmm(
    *,
    sense_prior: Sequence[float] = (0.6, 0.4),
    template_prior: Sequence[float] = (0.1, 0.3, 0.3, 0.3),
    cue_noise: float = 0.1,
    cue_continue: float = 0.5,
    gap: float = 0.5,
    filler_continue: float = 0.5,
) -> PolysemyHMM:
    """Build the HMM whose sentences use "bank" in a finance or a river sense.

    Every sentence draws a sense s ~ ``sense_prior`` (over :data:`SENSES`) and a template
    τ ~ ``template_prior`` (over :data:`EVIDENCE`: none, before, after, both), then walks

        pre+  [cue_before+ gap_before*]  bank  [gap_after* cue_after+]  post+  "."

    where the bracketed parts exist only when τ puts evidence on that side. ``pre``, ``gap``
    and ``post`` states emit neutral words (:data:`NEUTRAL_WORDS`, uniformly), ``bank`` emits
    "bank" under both senses, and a ``cue`` state emits a cue word of its own sense with
    probability 1 - ``cue_noise`` and one of the other sense's otherwise (uniform within each
    set), so even full evidence leaves some doubt. A cue state repeats with probability
    ``cue_continue`` (a run of cue words, as in "cash and money at the bank": this also gives a
    language model a reason to remember the sense), ``pre``/``post`` repeat with probability
    ``filler_continue``; a gap of neutral words between a cue and "bank" starts, and
    continues, with probability ``gap``. After "." the next sentence starts afresh, so the
    sense of one "bank" depends only on its own sentence. The start vector is the
    sentence-start distribution.

    Returns a :class:`PolysemyHMM` (2 senses × 20 states + the end state = 41 states).

    >>> spec = polysemy_hmm()
    >>> spec.model.n_states, len(spec.words), spec.words[spec.bank]
    (41, 38, 'bank')
    """
    sense_prior = _check_distribution("sense_prior", sense_prior, len(SENSES))
    template_prior = _check_distribution("template_prior", template_prior, len(EVIDENCE))
    for name, value in (
        ("cue_noise", cue_noise),
        ("cue_continue", cue_continue),
        ("gap", gap),
        ("filler_continue", filler_continue),
    ):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value!r}")

    words = (*NEUTRAL_WORDS, *CUE_WORDS[SENSES[0]], *CUE_WORDS[SENSES[1]], AMBIGUOUS_WORD, END_WORD)
    word_index = {w: i for i, w in enumerate(words)}
    neutral = np.zeros(len(words))
    neutral[[word_index[w] for w in NEUTRAL_WORDS]] = 1.0 / len(NEUTRAL_WORDS)

    def one_word(word: str) -> np.ndarray:
        row = np.zeros(len(words))
        row[word_index[word]] = 1.0
        return row

    def cue_row(sense: str) -> np.ndarray:
        row = np.zeros(len(words))
        for other in SENSES:
            weight = 1.0 - cue_noise if other == sense else cue_noise / (len(SENSES) - 1)
            for w in CUE_WORDS[other]:
                row[word_index[w]] = weight / len(CUE_WORDS[other])
        return row

    names: list[str] = []
    senses: list[int] = []
    templates: list[int] = []
    roles: list[str] = []
    emit_rows: list[np.ndarray] = []
    # Transitions as (from name, to name, probability); names resolve to indices at the end.
    edges: list[tuple[str, str, float]] = []
    entry: dict[str, float] = {}  # first state of each sentence kind -> probability

    def add_state(sense_index: int, template_index: int, role: str, emission: np.ndarray) -> str:
        name = f"{SENSES[sense_index]}/{EVIDENCE[template_index]}/{role}"
        names.append(name)
        senses.append(sense_index)
        templates.append(template_index)
        roles.append(role)
        emit_rows.append(emission)
        return name

    for s, sense in enumerate(SENSES):
        for tau, template in enumerate(EVIDENCE):
            before = template in ("before", "both")
            after = template in ("after", "both")
            pre = add_state(s, tau, "pre", neutral)
            bank = add_state(s, tau, "bank", one_word(AMBIGUOUS_WORD))
            post = add_state(s, tau, "post", neutral)
            entry[pre] = sense_prior[s] * template_prior[tau]
            if before:
                cue = add_state(s, tau, "cue_before", cue_row(sense))
                gap_state = add_state(s, tau, "gap_before", neutral)
                edges += [(pre, pre, filler_continue), (pre, cue, 1.0 - filler_continue)]
                leave = 1.0 - cue_continue
                edges += [(cue, cue, cue_continue)]
                edges += [(cue, gap_state, leave * gap), (cue, bank, leave * (1.0 - gap))]
                edges += [(gap_state, gap_state, gap), (gap_state, bank, 1.0 - gap)]
            else:
                edges += [(pre, pre, filler_continue), (pre, bank, 1.0 - filler_continue)]
            if after:
                gap_state = add_state(s, tau, "gap_after", neutral)
                cue = add_state(s, tau, "cue_after", cue_row(sense))
                edges += [(bank, gap_state, gap), (bank, cue, 1.0 - gap)]
                edges += [(gap_state, gap_state, gap), (gap_state, cue, 1.0 - gap)]
                edges += [(cue, cue, cue_continue), (cue, post, 1.0 - cue_continue)]
            else:
                edges += [(bank, post, 1.0)]
            edges += [(post, post, filler_continue), (post, "end", 1.0 - filler_continue)]
    names.append("end")
    senses.append(-1)
    templates.append(-1)
    roles.append("end")
    emit_rows.append(one_word(END_WORD))

    index = {name: i for i, name in enumerate(names)}
    n_states = len(names)
    start = np.zeros(n_states)
    for name, p in entry.items():
        start[index[name]] = p
    trans = np.zeros((n_states, n_states))
    for source, target, p in edges:
        trans[index[source], index[target]] += p
    trans[index["end"]] = start
    return PolysemyHMM(
        model=CategoricalHMM(start, trans, np.array(emit_rows)),
        words=words,
        state_names=tuple(names),
        state_sense=np.array(senses, dtype=np.int64),
        state_template=np.array(templates, dtype=np.int64),
        state_role=tuple(roles),
        bank=word_index[AMBIGUOUS_WORD],
    )


@dataclass(frozen=True)
class PolysemyCorpus:
    """Sequences from :func:`polysemy_hmm` and every occurrence of "bank" in them.

    spec:      the :class:`PolysemyHMM` that generated them.
    states:    (N, T) hidden states;  symbols: (N, T) words (indices into ``spec.words``).
    sequence, position: (n,) where each occurrence of "bank" is (row, column of ``symbols``).
    sense:     (n,) true sense (index into :data:`SENSES`), read off the hidden state.
    evidence:  (n,) index into :data:`EVIDENCE`: which sides of the occurrence carry a cue word
               *inside the sequence* (an "after" cue cut off by the end of the sequence does not
               count).
    posterior: (n, len(SENSES)) exact P(sense | x_1..x_T) at the occurrence — the Bayes-optimal
               belief; its argmax is the Bayes-optimal guess.
    """

    spec: PolysemyHMM
    states: np.ndarray
    symbols: np.ndarray
    sequence: np.ndarray
    position: np.ndarray
    sense: np.ndarray
    evidence: np.ndarray
    posterior: np.ndarray

    @property
    def n_occurrences(self) -> int:
        return int(self.sequence.size)


def sample_polysemy(
    n_sequences: int,
    length: int,
    *,
    seed: int | np.random.SeedSequence = 0,
    spec: PolysemyHMM | None = None,
) -> PolysemyCorpus:
    """Sample ``n_sequences`` sequences of ``length`` words and annotate every "bank".

    Sequences start at the beginning of a sentence and are cut after ``length`` words (the last
    sentence may be incomplete; the exact posterior conditions on exactly what is there).

    >>> corpus = sample_polysemy(20, 30, seed=0)
    >>> corpus.symbols.shape, corpus.posterior.shape[1]
    ((20, 30), 2)
    >>> bool((corpus.symbols[corpus.sequence, corpus.position] == corpus.spec.bank).all())
    True
    """
    spec = polysemy_hmm() if spec is None else spec
    split = sample_sequences(spec.model, n_sequences, length, seed)
    sequence, position = np.nonzero(split.symbols == spec.bank)
    bank_states = split.states[sequence, position]
    sense = spec.state_sense[bank_states]
    # A cue before "bank" always lies inside the sequence; one after may be cut off.
    template = spec.state_template[bank_states]
    has_before = np.isin(template, [EVIDENCE.index("before"), EVIDENCE.index("both")])
    roles = np.array(spec.state_role)
    cue_after_seen = np.zeros(sequence.size, dtype=bool)
    for i, (n, t) in enumerate(zip(sequence, position, strict=True)):
        rest = roles[split.states[n, t + 1 :]]
        end = np.flatnonzero(rest == "end")
        sentence_rest = rest[: end[0]] if end.size else rest
        cue_after_seen[i] = bool((sentence_rest == "cue_after").any())
    evidence = has_before.astype(np.int64) + 2 * cue_after_seen.astype(np.int64)
    # EVIDENCE order is none=0, before=1, after=2, both=3: exactly before + 2·after.
    posterior = spec.sense_posterior(split.symbols)[sequence, position]
    return PolysemyCorpus(
        spec=spec,
        states=split.states,
        symbols=split.symbols,
        sequence=sequence.astype(np.int64),
        position=position.astype(np.int64),
        sense=sense.astype(np.int64),
        evidence=evidence,
        posterior=posterior,
    )


# ---------------------------------------------------------------------------------------------
# Validation helpers


def _check_distribution(name: str, values: Sequence[float], size: int) -> np.ndarray:
    """The HMM's distribution check (:func:`pirho.hmm.check_distribution`), plus the number of
    entries."""
    array = check_distribution(name, values, ndim=1)
    if array.shape != (size,):
        raise ValueError(f"{name} must have {size} entries, got shape {array.shape}")
    return array
