"""Experiment options as data: what an experiment's command line accepts, without argparse.

Each experiment module lists its options beyond the common ``--quick --seed --json --out
--no-progress`` in ``OPTIONS``, a tuple of :class:`Option`; ``pirho experiment NAME`` builds its
parser from them (:func:`pirho.cli._options.add_options`). An option's ``type`` is one of the
option types of :mod:`pirho._checks` (text → checked value, or ``ArgumentTypeError`` naming
the text), so a bad value stops the command while parsing, before any work starts.

:func:`config_options` declares the options that override the ``FULL`` / ``QUICK``
configuration (``--hidden-size`` for ``hidden_size``); :data:`DEVICE_OPTIONS` are
``--device`` and ``--precision``, which every training command shares.

>>> options = config_options({"epochs": 500}, {"epochs": 40}, {"epochs": "training epochs"})
>>> options[0].flag, options[0].name, options[0].help
('--epochs', 'epochs', 'training epochs (full 500, quick 40)')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pirho._checks import (
    DEVICE_CHOICES,
    PRECISION_CHOICES,
    device_option,
    positive_float,
    positive_int,
    precision_option,
    thread_count,
)

__all__ = ["DEVICE_OPTIONS", "Option", "config_options"]

#: What an option does with its value: keep it, set True / False (no value), or collect a list.
ACTIONS = ("store", "store_true", "store_false", "append")


@dataclass(frozen=True)
class Option:
    """One command-line option, declared as data.

    flag:      ``"--hidden-size"``.
    type:      text → value, raising ``argparse.ArgumentTypeError`` (or ValueError) that names
               the text; None keeps the text. Not for ``store_true`` / ``store_false``.
    default:   the value when the option is not given (None: the configuration's default).
    help:      one line for ``--help``.
    metavar:   the value's name in ``--help`` (``"N"``, ``"FILE"``).
    choices:   the values allowed, if only a few are.
    action:    ``"store"``, ``"store_true"``, ``"store_false"`` or ``"append"`` (repeatable).
    dest:      the keyword of ``run`` it fills; None: the flag's words joined by ``_``.
    exclusive: options sharing this name are mutually exclusive (at most one may be given).

    >>> Option("--example", dest="queries", action="append").name
    'queries'
    >>> Option("--quick", action="store_true", type=int)
    Traceback (most recent call last):
    ...
    ValueError: option --quick: a store_true option takes no value, so no type=
    """

    flag: str
    type: Callable[[str], Any] | None = None
    default: Any = None
    help: str | None = None
    metavar: str | None = None
    choices: tuple | None = None
    action: str = "store"
    dest: str | None = None
    exclusive: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.flag, str) or not self.flag.startswith("--") or len(self.flag) < 3:
            raise ValueError(f"an option's flag starts with '--', got {self.flag!r}")
        if self.action not in ACTIONS:
            raise ValueError(f"option {self.flag}: action {self.action!r} is not one of {ACTIONS}")
        if self.action in ("store_true", "store_false"):
            for field_name in ("type", "metavar", "choices"):
                if getattr(self, field_name) is not None:
                    raise ValueError(
                        f"option {self.flag}: a {self.action} option takes no value, "
                        f"so no {field_name}="
                    )
        if self.type is not None and not callable(self.type):
            raise TypeError(f"option {self.flag}: type must be callable, got {self.type!r}")

    @property
    def name(self) -> str:
        """The keyword it fills: ``dest``, else the flag without ``--``, ``-`` → ``_``."""
        return self.dest or self.flag[2:].replace("-", "_")


def config_options(
    full: Mapping[str, Any], quick: Mapping[str, Any], helps: Mapping[str, str]
) -> tuple[Option, ...]:
    """One option per configuration key in ``helps``: ``--hidden-size`` for ``hidden_size``.

    Each takes a positive number (a float when the full default is a float, else an int;
    ``threads`` at most 4 per CPU), checked while parsing, and its help shows the full and
    quick defaults. Unset options are None, which
    :func:`pirho.experiments.common.resolve_config` ignores.

    full, quick: the experiment's ``FULL`` and ``QUICK`` configurations;
    helps: key → the start of its help text, in the order ``--help`` lists them.

    >>> lr, threads = config_options({"lr": 1.0, "threads": 1}, {"lr": 2.0, "threads": 1},
    ...                              {"lr": "learning rate", "threads": "torch threads"})
    >>> lr.flag, lr.type.__name__, lr.metavar, lr.help
    ('--lr', 'positive_float', 'N', 'learning rate (full 1.0, quick 2.0)')
    >>> threads.name, threads.type.__name__, threads.help
    ('threads', 'thread_count', 'torch threads (1)')
    """
    unknown = [key for key in helps if key not in full or key not in quick]
    if unknown:
        raise ValueError(f"configuration option(s) {unknown} are not in both FULL and QUICK")
    options = []
    for key, text in helps.items():
        kind = positive_float if isinstance(full[key], float) else positive_int
        if key == "threads":
            kind = thread_count
        shown = f"full {full[key]}, quick {quick[key]}" if full[key] != quick[key] else full[key]
        options.append(
            Option("--" + key.replace("_", "-"), type=kind, metavar="N", help=f"{text} ({shown})")
        )
    return tuple(options)


#: ``--device cpu|cuda|auto`` and ``--precision fp32|bf16|auto`` (both default auto): every
#: training command's. ``--device cuda`` without a GPU is an error while parsing.
DEVICE_OPTIONS: tuple[Option, ...] = (
    Option(
        "--device",
        type=device_option,
        default="auto",
        metavar="{" + ",".join(DEVICE_CHOICES) + "}",
        help="where to train (auto: CUDA when torch sees a GPU, else the CPU)",
    ),
    Option(
        "--precision",
        type=precision_option,
        default="auto",
        metavar="{" + ",".join(PRECISION_CHOICES) + "}",
        help="bf16: bfloat16 autocast with float32 weights and loss; auto: bf16 only on "
        "hardware with native bfloat16 (a CUDA GPU that has it, an AVX-512-BF16/AMX CPU), "
        "else fp32. Evaluation is always float32",
    ),
)
