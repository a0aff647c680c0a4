"""The family-agnostic half of the hmmlearn-style estimators in :mod:`pirho.hmm.sklearn`.

:class:`BaseHMMEstimator` owns what hmmlearn 0.3.3's ``BaseHMM`` owns — ``startprob_``,
``transmat_``, the EM loop with its :class:`ConvergenceMonitor`, ``score``/``decode``/
``predict_proba``/``sample``/``aic``/``bic`` — but every recursion is pirho's compiled engine
(:mod:`pirho.hmm.engine`) over one concatenated batch. A family subclass supplies the emission
hooks (``_validate_X``, ``_log_emission``, ``_init_emissions``, ``_emission_stats``,
``_emission_mstep``, ``_n_emission_params``, ``_sample_emission``).

Beyond hmmlearn: ``fit(X, lengths, y=labels)`` clamps labelled steps (−1 = unknown),
``predict_proba(X, lengths, lag=L)`` is the fixed-lag posterior (``lag=0`` the causal filter),
and a missing observation (a NaN row, or the symbol −1 for categorical data) has likelihood 1
in every state and adds nothing to the emission statistics.

``get_params``/``set_params`` come from ``sklearn.base.BaseEstimator`` when scikit-learn is
installed, else from :class:`_ParamsMixin` (the same behaviour for plain keyword parameters).
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from collections import deque
from typing import Any

import numpy as np

from pirho import _checks
from pirho.hmm import engine
from pirho.hmm.base import ObservationBatch
from pirho.hmm.engine import Likelihoods
from pirho.hmm.fitting.em_loop import labelled_likelihoods, maximise, run_em
from pirho.hmm.priors import EMPrior, check_concentration

_log = logging.getLogger("pirho.hmm.sklearn")

try:  # scikit-learn is optional: clone/GridSearchCV need it, nothing else does
    from sklearn.base import BaseEstimator as _EstimatorRoot
except ImportError:  # pragma: no cover - exercised only without the extra
    _EstimatorRoot = None

__all__ = ["BaseHMMEstimator", "ConvergenceMonitor"]

DECODER_ALGORITHMS = ("viterbi", "map")


class _ParamsMixin:
    """``get_params``/``set_params`` like scikit-learn's, for use without scikit-learn.

    Parameters are the keyword arguments of ``__init__``, stored under the same names.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind != p.VAR_KEYWORD
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters as a dict (``deep`` is accepted for compatibility)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters by name; ValueError for a name that is not one."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


_Root = _EstimatorRoot if _EstimatorRoot is not None else _ParamsMixin


class ConvergenceMonitor:
    """EM progress, as hmmlearn's: ``history`` (a deque of each iteration's log-likelihood,
    taken before its M-step), ``iter`` (iterations run) and ``converged``.

    ``converged`` is True once ``iter == n_iter`` or the last gain is below ``tol``. A
    decrease is logged as a warning (logger ``pirho.hmm.sklearn``), as hmmlearn does. It is
    the ``monitor`` that :func:`pirho.hmm.fitting.em_loop.run_em` asks whether to stop.

    >>> m = ConvergenceMonitor(tol=0.1, n_iter=10, verbose=False)
    >>> m.report(-10.0); m.report(-9.95); m.converged
    True
    """

    def __init__(self, tol: float, n_iter: int, verbose: bool) -> None:
        self.tol, self.n_iter, self.verbose = tol, n_iter, verbose
        self.history: deque = deque()
        self.iter = 0

    def _reset(self) -> None:
        self.iter = 0
        self.history.clear()

    def report(self, log_prob: float) -> None:
        """Record one iteration's log-likelihood (printed to stderr when ``verbose``)."""
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else float("nan")
            print(f"{self.iter + 1:>10d} {log_prob:16.8f} {delta:+16.8f}", file=sys.stderr)
        # EM never lowers the likelihood (a prior's pull or round-off aside): say so if it
        # does, as hmmlearn's monitor does, instead of calling it convergence.
        if self.history and log_prob - self.history[-1] < -np.sqrt(np.finfo(float).eps):
            _log.warning(
                "Model is not converging: log-likelihood %r is below the previous %r "
                "(delta %r)", log_prob, self.history[-1], log_prob - self.history[-1],
            )  # fmt: skip
        self.history.append(float(log_prob))
        self.iter += 1

    @property
    def converged(self) -> bool:
        """Whether EM stopped: ``n_iter`` reached or the last gain < ``tol``."""
        return self.iter == self.n_iter or (
            len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol
        )

    def __repr__(self) -> str:
        return (
            f"ConvergenceMonitor(tol={self.tol}, n_iter={self.n_iter}, iter={self.iter}, "
            f"history={list(self.history)})"
        )


def check_lengths(lengths, n_samples: int) -> np.ndarray:
    """Offsets (B + 1,) int64 of a concatenation of ``n_samples`` rows split by ``lengths``.

    >>> check_lengths([2, 3], 5).tolist()
    [0, 2, 5]
    """
    if lengths is None:
        return np.array([0, n_samples], dtype=np.int64)
    lengths_arr = np.asarray(lengths)
    if lengths_arr.ndim != 1 or lengths_arr.size == 0:
        raise ValueError(f"lengths must be a non-empty 1-D sequence, got shape {lengths_arr.shape}")
    if not np.issubdtype(lengths_arr.dtype, np.integer) or (lengths_arr < 1).any():
        raise ValueError(f"lengths must be positive integers, got {lengths_arr.tolist()[:10]}")
    if int(lengths_arr.sum()) != n_samples:
        raise ValueError(f"lengths sum to {int(lengths_arr.sum())} but X has {n_samples} rows")
    return np.concatenate([[0], np.cumsum(lengths_arr)]).astype(np.int64)


def random_state_of(random_state) -> np.random.RandomState:
    """A ``numpy.random.RandomState`` from None, an int seed or a RandomState (as hmmlearn)."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if random_state is None:
        return np.random.RandomState()
    return np.random.RandomState(_checks.check_seed("random_state", random_state))


class BaseHMMEstimator(_Root):
    """hmmlearn-compatible HMM estimator over pirho's engine; subclasses add the emissions.

    Fitted attributes: ``startprob_`` (K,), ``transmat_`` (K, K), the family's emission
    parameters, ``n_features`` and ``monitor_`` (``.history``, ``.iter``, ``.converged``).
    ``X`` is (n_samples, n_features); ``lengths`` splits it into sequences (sum = n_samples).
    """

    _PARAM_CODES = "st"  # the family adds its emission codes
    _FITTED: tuple[str, ...] = ("startprob_", "transmat_")  # the family adds its own
    FORMAT = "pirho.sklearn"

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior=1.0,
        transmat_prior=1.0,
        algorithm: str = "viterbi",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "st",
        init_params: str = "st",
        implementation: str = "log",
    ) -> None:
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.monitor_ = ConvergenceMonitor(tol, n_iter, verbose)

    # -- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready ``{"format", "estimator", "params", "fitted"}`` (not in hmmlearn).

        ``params`` are the constructor parameters (a ``RandomState`` is stored as None),
        ``fitted`` the fitted arrays in the compact shapes the setters take.
        """
        self._check_fitted()
        params = {}
        for name, value in self.get_params().items():
            if isinstance(value, np.random.RandomState):
                value = None
            params[name] = value.tolist() if isinstance(value, np.ndarray | np.generic) else value
        fitted = {name: np.asarray(getattr(self, name)).tolist() for name in self._FITTED}
        return {"format": self.FORMAT, "estimator": type(self).__name__, "params": params,
                "fitted": fitted}  # fmt: skip

    @classmethod
    def from_dict(cls, document: dict):
        """Inverse of :meth:`to_dict` for this class; ValueError naming what is wrong."""
        if not isinstance(document, dict) or document.get("format") != cls.FORMAT:
            raise ValueError(f"not a {cls.FORMAT} model: the 'format' entry is missing or wrong")
        if document.get("estimator") != cls.__name__:
            raise ValueError(f"model holds a {document.get('estimator')!r}, not a {cls.__name__}")
        try:
            model = cls(**document["params"])
            for name in cls._FITTED:
                setattr(model, name, np.asarray(document["fitted"][name], dtype=np.float64))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed {cls.__name__} model: {exc!r}") from None
        model._check()
        return model

    # -- family hooks --------------------------------------------------------------------
    _PIRHO_CLASS: type
    """The pirho model class of the family (``pirho.hmm.GaussianHMM`` …)."""

    _PIRHO_NAMES: dict[str, str] = {"start": "startprob_", "trans": "transmat_"}
    """pirho parameter name → the estimator attribute (for error messages)."""

    def _validate_X(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(X as the family's array, missing (N,) bool). ValueError naming the problem."""
        raise NotImplementedError

    def _init_emissions(self, X: np.ndarray, observed: np.ndarray) -> None:
        raise NotImplementedError

    def _emission_kwargs(self) -> dict:
        """The emission parameters as keyword arguments of ``_PIRHO_CLASS``."""
        raise NotImplementedError

    def _set_emissions(self, model) -> None:
        """Copy a pirho model's emission parameters into the estimator's attributes."""
        raise NotImplementedError

    def _emission_prior(self):
        """The family's prior object for :func:`~pirho.hmm.fitting.em_loop.run_em` (hmmlearn's)."""
        raise NotImplementedError

    def _n_emission_params(self) -> dict[str, int]:
        raise NotImplementedError

    def _sample_emission(self, state: int, random_state: np.random.RandomState) -> np.ndarray:
        raise NotImplementedError

    def _check_emissions(self) -> None:
        raise NotImplementedError

    def _pirho_observations(self, X: np.ndarray, missing: np.ndarray) -> np.ndarray:
        """X in the pirho family's format: a missing row becomes all NaN."""
        if not missing.any():
            return X
        X = np.array(X, dtype=np.float64)
        X[missing] = np.nan
        return X

    # -- conversion to and from pirho's models --------------------------------------------
    def _to_model(self):
        """The pirho model holding this estimator's parameters (validated: ValueError naming
        the estimator attribute and the index of a bad entry)."""
        try:
            return self._PIRHO_CLASS(
                np.asarray(self.startprob_, dtype=np.float64),
                np.asarray(self.transmat_, dtype=np.float64),
                **self._emission_kwargs(),
            )
        except ValueError as exc:
            message = str(exc)
            for pirho_name, name in self._PIRHO_NAMES.items():
                message = re.sub(rf"^{pirho_name}\b", name, message)
            raise ValueError(f"{type(self).__name__}: {message}") from None

    def _set_from_model(self, model) -> None:
        self.startprob_ = np.array(model.start)
        self.transmat_ = np.array(model.trans)
        self._set_emissions(model)

    def _prior(self) -> EMPrior:
        n = self.n_components
        return EMPrior(
            start=check_concentration("startprob_prior", self.startprob_prior, (n,)),
            trans=check_concentration("transmat_prior", self.transmat_prior, (n, n)),
            emission=self._emission_prior(),
        )

    # -- checks --------------------------------------------------------------------------
    def _check_hyper(self) -> None:
        _checks.check_positive_int("n_components", self.n_components)
        _checks.check_int("n_iter", self.n_iter, minimum=0)
        _checks.check_float("tol", self.tol)
        _checks.check_choice("algorithm", self.algorithm, DECODER_ALGORITHMS)
        _checks.check_choice("implementation", self.implementation, ("log", "scaling"))
        for name in ("params", "init_params"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string of codes, got {value!r}")
            unknown = sorted(set(value) - set(self._PARAM_CODES))
            if unknown:
                raise ValueError(
                    f"{name}={value!r} has unknown codes {unknown}; "
                    f"{type(self).__name__} knows {self._PARAM_CODES!r}"
                )

    def _check_fitted(self):
        if not hasattr(self, "startprob_"):
            raise ValueError(
                f"this {type(self).__name__} has no parameters yet: call fit, or set "
                "startprob_, transmat_ and the emission parameters"
            )
        return self._check()

    def _check(self):
        """Validate the parameters (ValueError naming the attribute and index); returns the
        pirho model holding them."""
        n = self.n_components
        start = np.asarray(self.startprob_, dtype=np.float64)
        trans = np.asarray(self.transmat_, dtype=np.float64)
        if start.shape != (n,):
            raise ValueError(f"startprob_ must have shape ({n},), got {start.shape}")
        if trans.shape != (n, n):
            raise ValueError(f"transmat_ must have shape ({n}, {n}), got {trans.shape}")
        for name, value in (("startprob_", start), ("transmat_", trans)):
            bad = np.flatnonzero(~(np.isfinite(value) & (value >= 0)))
            if bad.size:
                index = ", ".join(str(int(i)) for i in np.unravel_index(bad[0], value.shape))
                raise ValueError(
                    f"{name}[{index}] = {value.flat[bad[0]]} must be finite and non-negative"
                )
            sums = value.sum(axis=-1)
            if not np.allclose(sums, 1.0):
                raise ValueError(f"{name} must sum to 1 along its last axis, got {sums}")
        self.startprob_, self.transmat_ = start, trans
        self._check_emissions()
        return self._to_model()  # every parameter validated (finite, in range) by its family

    # -- inference over the pirho model --------------------------------------------------
    def _likelihoods(
        self, X: np.ndarray, missing: np.ndarray, labels=None, model=None
    ) -> Likelihoods:
        model = self._to_model() if model is None else model
        return labelled_likelihoods(model, self._pirho_observations(X, missing), labels)

    def _prepare(self, X, lengths):
        model = self._check_fitted()
        X, missing = self._validate_X(X)
        offsets = check_lengths(lengths, X.shape[0])
        return X, missing, offsets, model

    def _kernel_params(self):
        return (
            np.ascontiguousarray(self.startprob_, dtype=np.float64).copy(),
            np.ascontiguousarray(self.transmat_, dtype=np.float64).copy(),
        )

    def _init(self, X, lengths=None) -> None:
        """hmmlearn's ``_init(X, lengths)``: validate X and initialise (kept so that code
        written against hmmlearn's internals runs)."""
        self._check_hyper()
        self._initialise(*self._validate_X(X))

    def _initialise(self, X: np.ndarray, missing: np.ndarray) -> None:
        """Draw the parameters of ``init_params`` (and unset ones) from validated X, in
        hmmlearn 0.3.3's order of random numbers; warn when X has fewer rows than the model
        has free parameters (the fit is then degenerate), as hmmlearn does."""
        n = self.n_components
        random_state = random_state_of(self.random_state)
        if self._needs_init("s", "startprob_"):
            self.startprob_ = random_state.dirichlet(np.full(n, 1.0 / n))
        if self._needs_init("t", "transmat_"):
            self.transmat_ = random_state.dirichlet(np.full(n, 1.0 / n), size=n)
        self._init_emissions(X, ~missing)
        n_free = self.n_parameters()
        if X.shape[0] < n_free:
            _log.warning(
                "Fitting a model with %d free scalar parameters with only %d data points "
                "will result in a degenerate solution.", n_free, X.shape[0],
            )  # fmt: skip

    def _needs_init(self, code: str, name: str) -> bool:
        """Whether ``fit`` draws attribute ``name``: its code is in ``init_params`` (a value
        you set is then overwritten, and a warning says so, as hmmlearn's), or it is unset."""
        if code in self.init_params:
            if hasattr(self, name):
                _log.warning(
                    "%s is set, but it will be overwritten during initialisation because "
                    "init_params contains %r", name.rstrip("_") + "_", code,
                )  # fmt: skip
            return True
        return not hasattr(self, name)

    def _check_labels(self, y, n_samples: int) -> np.ndarray | None:
        if y is None:
            return None
        labels = np.asarray(y)
        if labels.shape != (n_samples,):
            raise ValueError(f"y must have shape ({n_samples},) like X's rows, got {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"y must hold integer state labels (-1 = unknown), got {labels.dtype}")
        bad = np.flatnonzero((labels < -1) | (labels >= self.n_components))
        if bad.size:
            t = int(bad[0])
            raise ValueError(
                f"y[{t}] = {int(labels[t])} is not a state in [0, {self.n_components}) or -1"
            )
        return labels.astype(np.int64)

    def _fresh_monitor(self) -> ConvergenceMonitor:
        """``monitor_`` reset for a new fit (a monitor you set, e.g. a stricter subclass,
        is kept), with the current ``tol``, ``n_iter`` and ``verbose``."""
        monitor = getattr(self, "monitor_", None)
        if not isinstance(monitor, ConvergenceMonitor) and not hasattr(monitor, "report"):
            monitor = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        monitor.tol, monitor.n_iter, monitor.verbose = self.tol, self.n_iter, self.verbose
        monitor._reset()
        self.monitor_ = monitor
        return monitor

    def _run_em(self, em_input, labels=None) -> None:
        """hmmlearn's fit loop on :func:`~pirho.hmm.fitting.em_loop.run_em`: ``n_iter`` M-steps at
        most, each after the E-step whose log-likelihood ``monitor_`` records — run_em's
        ``n_iter − 1`` scored steps, then one final M-step from the last E-step's statistics
        (hmmlearn does not score its final model)."""
        monitor = self._fresh_monitor()
        if self.n_iter == 0:
            return
        prior = self._prior()
        model = self._to_model()
        min_covar = getattr(self, "min_covar", 1e-3)  # the Gaussian families' repair floor
        result = run_em(
            model, em_input, params=self.params, prior=prior, labels=labels,
            n_iter=self.n_iter - 1, monitor=monitor, min_covar=min_covar, warn_unused=False,
        )  # fmt: skip
        final = maximise(result.model, result.statistics, self.params, prior, min_covar)
        self._set_from_model(final)
        unused = np.flatnonzero(result.statistics.trans.sum(axis=1) == 0)
        if "t" in self.params and self.n_components > 1 and unused.size:
            _log.warning(
                "state(s) %s had no expected transitions out of them (too few data for %d "
                "states?): their transmat_ rows were kept, not re-estimated",
                unused.tolist(), self.n_components,
            )  # fmt: skip

    # -- public API ----------------------------------------------------------------------
    def to_model(self):
        """The pirho model (``pirho.hmm.GaussianHMM``, …) holding this estimator's parameters,
        validated (not in hmmlearn).

        >>> from pirho.hmm.sklearn import PoissonHMM
        >>> m = PoissonHMM(1, init_params="").fit([[2], [4]])
        >>> m.to_model().rates.tolist()
        [[3.0]]
        """
        return self._check_fitted()

    def observations(self, X) -> np.ndarray:
        """X validated and converted to the pirho family's format (a missing row all NaN;
        categorical: (n_samples,) symbols, −1 = missing) — what ``to_model()``'s methods and
        :func:`pirho.hmm.fitting.em_loop.expected_statistics` read (not in hmmlearn).

        >>> from pirho.hmm.sklearn import CategoricalHMM
        >>> CategoricalHMM(2, n_features=3).observations([[0], [-1], [2]]).tolist()
        [0, -1, 2]
        """
        return self._pirho_observations(*self._validate_X(X))

    def fit_em(self, e_step, X_init=None):
        """``fit`` with an E-step supplied by the caller (not in hmmlearn): ``e_step(model)``
        returns the :class:`~pirho.hmm.fitting.em_loop.Statistics` of all the data under a pirho
        model (e.g. a map-reduce over files, as :func:`pirho.hmm.dask.fit_distributed`).
        Parameters in ``init_params`` are first drawn from ``X_init`` (a sample of the data);
        without it they must already be set. Returns self.

        >>> import numpy as np
        >>> from pirho.hmm.fitting.em_loop import expected_statistics
        >>> from pirho.hmm.sklearn import PoissonHMM
        >>> X = np.array([[0], [1], [9], [11]])
        >>> a = PoissonHMM(2, random_state=0).fit(X)
        >>> obs = PoissonHMM(2).observations(X)
        >>> b = PoissonHMM(2, random_state=0).fit_em(
        ...     lambda m: expected_statistics(m, obs, np.array([0, 4])), X_init=X)
        >>> bool(np.allclose(a.lambdas_, b.lambdas_))
        True
        """
        self._check_hyper()
        if X_init is not None:
            self._initialise(*self._validate_X(X_init))
        self._check_fitted()
        self._prior()
        self._run_em(e_step)
        return self

    def fit(self, X, lengths=None, y=None):
        """Estimate the parameters by EM (Baum–Welch).

        X (n_samples, n_features); lengths (n_sequences,) summing to n_samples; y (n_samples,)
        optional state labels, −1 = unknown: a labelled step's posterior is clamped to its
        label in every E-step (semi-supervised EM; all labelled = supervised). Parameters in
        ``init_params`` are initialised first (others keep the values you set); those in
        ``params`` are updated. At most ``n_iter`` M-steps (0: initialise only);
        ``monitor_.history`` holds the log-likelihood (of X and the labels) before each
        M-step, as hmmlearn's. Returns self.
        """
        self._check_hyper()
        X, missing = self._validate_X(X)
        offsets = check_lengths(lengths, X.shape[0])
        labels = self._check_labels(y, X.shape[0])
        self._initialise(X, missing)
        self._check()
        self._prior()  # priors are validated before any EM work, even with n_iter=0
        batch = ObservationBatch(self._pirho_observations(X, missing), offsets, True)
        self._run_em(batch, labels)
        return self

    def score(self, X, lengths=None) -> float:
        """log P(X) summed over the sequences (missing rows contribute likelihood 1)."""
        return float(self.score_per_sequence(X, lengths).sum())

    def score_per_sequence(self, X, lengths=None) -> np.ndarray:
        """(n_sequences,) log P(x_b) of each sequence (not in hmmlearn)."""
        X, missing, offsets, model = self._prepare(X, lengths)
        start, trans = self._kernel_params()
        lik = self._likelihoods(X, missing, model=model)
        return engine.sequence_log_likelihoods(start, trans, lik, offsets)

    def score_samples(self, X, lengths=None):
        """(log P(X), posteriors (n_samples, n_components)) — P(h_t = k | its sequence)."""
        X, missing, offsets, model = self._prepare(X, lengths)
        start, trans = self._kernel_params()
        lik = self._likelihoods(X, missing, model=model)
        log_prob = float(engine.sequence_log_likelihoods(start, trans, lik, offsets).sum())
        return log_prob, engine.smoothed_posterior(start, trans, lik, offsets, True)

    def predict_proba(self, X, lengths=None, lag: int | None = None) -> np.ndarray:
        """Posteriors (n_samples, n_components): smoothing P(h_t | x_1..x_T) by default;
        ``lag=L`` the fixed-lag P(h_t | x_1..x_{t+L}), ``lag=0`` the causal filter."""
        if lag is not None:
            lag = _checks.check_int("lag", lag, minimum=0)
        X, missing, offsets, model = self._prepare(X, lengths)
        start, trans = self._kernel_params()
        lik = self._likelihoods(X, missing, model=model)
        if lag is None:
            return engine.smoothed_posterior(start, trans, lik, offsets, True)
        return engine.fixed_lag_posterior(start, trans, lik, offsets, lag, True)

    def decode(self, X, lengths=None, algorithm: str | None = None):
        """(log_prob, states (n_samples,)): ``"viterbi"`` gives Σ log P(x, path) and the most
        likely paths; ``"map"`` the per-step argmax of the posterior and — as hmmlearn 0.3.3
        returns it — the sum over steps of the maximal posterior probability."""
        algorithm = _checks.check_choice(
            "algorithm", algorithm or self.algorithm, DECODER_ALGORITHMS
        )
        if algorithm == "map":
            posterior = self.predict_proba(X, lengths)
            return float(posterior.max(axis=1).sum()), posterior.argmax(axis=1)
        X, missing, offsets, model = self._prepare(X, lengths)
        start, trans = self._kernel_params()
        with np.errstate(divide="ignore"):
            log_start, log_trans = np.log(start), np.log(trans)
        path, best = engine.best_paths(
            log_start, log_trans, self._likelihoods(X, missing, model=model), offsets, True
        )
        return float(best.sum()), path

    def predict(self, X, lengths=None) -> np.ndarray:
        """The decoded states (n_samples,) by ``self.algorithm``."""
        return self.decode(X, lengths)[1]

    def sample(self, n_samples: int = 1, random_state=None, currstate: int | None = None):
        """Draw ``(X (n_samples, n_features), states (n_samples,))``, using the random numbers in
        hmmlearn 0.3.3's order, so the same seed gives the same draw as hmmlearn."""
        self._check_fitted()
        n_samples = _checks.check_positive_int("n_samples", n_samples)
        rs = random_state_of(self.random_state if random_state is None else random_state)
        trans_cdf = np.cumsum(self.transmat_, axis=1)
        if currstate is None:
            currstate = int((np.cumsum(self.startprob_) > rs.rand()).argmax())
        states = [currstate]
        draws = [self._sample_emission(currstate, rs)]
        for _ in range(n_samples - 1):
            currstate = int((trans_cdf[currstate] > rs.rand()).argmax())
            states.append(currstate)
            draws.append(self._sample_emission(currstate, rs))
        return np.atleast_2d(draws), np.array(states, dtype=int)

    def n_parameters(self) -> int:
        """Free scalar parameters, counted as hmmlearn counts them for ``aic``/``bic`` (not in
        hmmlearn's public API).

        >>> from pirho.hmm.sklearn import PoissonHMM
        >>> PoissonHMM(2, init_params="").fit([[0], [3], [1]]).n_parameters()  # 1 + 2 + 2·1
        5
        """
        n = self.n_components
        counts = {"s": n - 1, "t": n * (n - 1), **self._n_emission_params()}
        return int(sum(counts.values()))

    _n_parameters = n_parameters

    def aic(self, X, lengths=None) -> float:
        """−2 log P(X) + 2 p, p = free scalar parameters (as hmmlearn counts them)."""
        return -2 * self.score(X, lengths) + 2 * self.n_parameters()

    def bic(self, X, lengths=None) -> float:
        """−2 log P(X) + p log(n_samples)."""
        n_samples = self._validate_X(X)[0].shape[0]
        return -2 * self.score(X, lengths) + self.n_parameters() * np.log(n_samples)
