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

DEVICE_CHOICES = ("cpu", "cuda", "auto")
PRECISION_CHOICES = ("fp32", "bf16", "auto")

__all__ = ["add_device_arguments", "device_option", "precision_option"]


def _one_of(text: str, choices: tuple[str, ...]) -> str:
    if text not in choices:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}, got {text!r}")
    return text


def device_option(text: str) -> str:
    """``--device`` value: cpu, cuda or auto; cuda only where torch sees a GPU.

    >>> device_option("cpu")
    'cpu'
    """
    if _one_of(text, DEVICE_CHOICES) == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(
                f"'cuda' asked for, but torch {torch.__version__} sees no CUDA GPU here; "
                "use --device cpu or auto"
            )
    return text


def precision_option(text: str) -> str:
    """``--precision`` value: fp32, bf16 or auto.

    >>> precision_option("bf16")
    'bf16'
    """
    return _one_of(text, PRECISION_CHOICES)


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--device cpu|cuda|auto`` and ``--precision fp32|bf16|auto`` (both default auto)."""
    parser.add_argument(
        "--device",
        type=device_option,
        default="auto",
        metavar="{cpu,cuda,auto}",
        help="where to train (auto: CUDA when torch sees a GPU, else the CPU)",
    )
    parser.add_argument(
        "--precision",
        type=precision_option,
        default="auto",
        metavar="{fp32,bf16,auto}",
        help="bf16: bfloat16 autocast with float32 weights and loss; auto: bf16 only on "
        "hardware with native bfloat16 (a CUDA GPU that has it, an AVX-512-BF16/AMX CPU), "
        "else fp32. Evaluation is always float32",
    )
