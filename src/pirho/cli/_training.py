"""Options every training command shares: ``--device`` and ``--precision``, defined once.

They are declared as data in :data:`pirho.experiments.options.DEVICE_OPTIONS` (the lm-leak and
cloze experiments list them in their ``OPTIONS``); each training parser of the other commands
calls :func:`add_device_arguments` (one line per parser). The values are checked while
parsing, so ``--device cuda`` on a machine without a GPU stops the command with
``error: argument --device: ...`` and exit code 2 before any data is loaded. torch is imported
only when ``cuda`` is asked for, so that building the parsers stays light.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_device_arguments(parser)
>>> args = parser.parse_args(["--precision", "fp32"])
>>> args.device, args.precision
('auto', 'fp32')
"""

from __future__ import annotations

import argparse

from pirho._checks import DEVICE_CHOICES, PRECISION_CHOICES, device_option, precision_option
from pirho.cli._options import add_options
from pirho.experiments.options import DEVICE_OPTIONS

__all__ = [
    "DEVICE_CHOICES",
    "PRECISION_CHOICES",
    "add_device_arguments",
    "device_option",
    "precision_option",
]


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--device cpu|cuda|auto`` and ``--precision fp32|bf16|auto`` (both default auto)."""
    add_options(parser, DEVICE_OPTIONS)
