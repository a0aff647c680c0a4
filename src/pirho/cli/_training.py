"""Options every training command shares: ``--device`` and ``--precision``, defined once.

Each training parser calls :func:`add_device_arguments` (one line per parser); the values are
checked while parsing, so ``--device cuda`` on a machine without a GPU stops the command with
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

__all__ = [
    "DEVICE_CHOICES",
    "PRECISION_CHOICES",
    "add_device_arguments",
    "device_option",
    "precision_option",
]


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--device cpu|cuda|auto`` and ``--precision fp32|bf16|auto`` (both default auto)."""
    parser.add_argument(
        "--device",
        type=device_option,
        default="auto",
        metavar="{" + ",".join(DEVICE_CHOICES) + "}",
        help="where to train (auto: CUDA when torch sees a GPU, else the CPU)",
    )
    parser.add_argument(
        "--precision",
        type=precision_option,
        default="auto",
        metavar="{" + ",".join(PRECISION_CHOICES) + "}",
        help="bf16: bfloat16 autocast with float32 weights and loss; auto: bf16 only on "
        "hardware with native bfloat16 (a CUDA GPU that has it, an AVX-512-BF16/AMX CPU), "
        "else fp32. Evaluation is always float32",
    )
