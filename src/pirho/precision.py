"""Where and in what precision a model trains: ``device`` and ``precision`` resolved once.

``resolve_device("auto")`` is CUDA when torch sees a GPU, else the CPU; asking for ``"cuda"``
without one is a ValueError, never a silent fallback. ``resolve_precision("auto", device)`` is
bfloat16 only where the hardware computes it natively (a CUDA device that supports it, or a CPU
with the AVX-512 BF16 or AMX-BF16 instructions) and float32 elsewhere: emulated bfloat16 is
slower than float32, and a bf16 run must earn its place by speed.

Mixed precision here means autocast: the weights, the optimiser state, the loss and the
softmax stay float32 (the "master" copy); matrix products and the recurrent kernels run in
bfloat16 inside :func:`autocast`. Evaluation (perplexities, accuracies) always runs in float32.

On a CPU without native bfloat16 (AVX2 only, say) oneDNN has no bfloat16 LSTM at all
(``torch.lstm`` under CPU autocast fails with "could not create a primitive descriptor"), and
emulated bfloat16 matrix products are several times slower than float32 (a 1120 × 512 → 28
``Linear`` forward+backward: 3.5× slower, measured on an AVX2 EPYC). So there the recurrent
kernels run in float32 inside the autocast region (:func:`fp32_recurrence`); an explicit
``precision="bf16"`` still works but only the feed-forward parts run in bfloat16.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import torch

from pirho._checks import check_choice

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "autocast",
    "cpu_has_native_bf16",
    "fp32_recurrence",
    "resolve_device",
    "resolve_precision",
]

DEVICES = ("cpu", "cuda", "auto")
PRECISIONS = ("fp32", "bf16", "auto")

# CPU flags (Linux /proc/cpuinfo names) under which oneDNN runs bfloat16 natively.
_NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")

PRECISION_ENV = "PIRHO_PRECISION"
"""Environment variable that fixes what ``precision="auto"`` resolves to (fp32 or bf16)."""


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when this CPU has bfloat16 instructions (AVX-512 BF16 or AMX-BF16).

    Reads ``/proc/cpuinfo``; elsewhere (macOS, Windows) answers False, so ``auto`` stays fp32.

    >>> isinstance(cpu_has_native_bf16(), bool)
    True
    """
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return any(flag in flags for flag in _NATIVE_BF16_FLAGS)
    return False


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"cpu" | "cuda" | "auto"`` (or a torch.device) → the torch.device to train on.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        name = device.type
    else:
        name = check_choice("device", device, DEVICES)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' but torch sees no CUDA GPU (this torch build: "
            f"{torch.__version__}); use device='cpu' or 'auto'"
        )
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be a CPU or CUDA device, got {device!r}")
    return device if isinstance(device, torch.device) else torch.device(name)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"fp32" | "bf16" | "auto"`` → ``"fp32"`` or ``"bf16"`` for ``device``.

    ``auto`` is bf16 only with native hardware support (see the module docstring), unless
    the environment variable ``PIRHO_PRECISION`` (``fp32`` or ``bf16``) says what ``auto``
    means: the docs check sets ``PIRHO_PRECISION=fp32`` so that documented numbers are the
    same on every CPU. Asking for bf16 explicitly is allowed everywhere (it may be slow on
    emulating CPUs).

    >>> resolve_precision("fp32", torch.device("cpu"))
    'fp32'
    """
    check_choice("precision", precision, PRECISIONS)
    if precision != "auto":
        return precision
    forced = os.environ.get(PRECISION_ENV)
    if forced:
        return check_choice(f"${PRECISION_ENV}", forced, ("fp32", "bf16"))
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """Autocast to bfloat16 inside the block when ``precision == "bf16"``; a no-op for fp32.

    >>> with autocast("bf16", torch.device("cpu")):
    ...     y = torch.nn.Linear(4, 2)(torch.ones(3, 4))
    >>> y.dtype
    torch.bfloat16
    """
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
        yield


@contextlib.contextmanager
def fp32_recurrence(x: torch.Tensor) -> Iterator[None]:
    """Run a recurrent kernel over ``x`` in float32 when bfloat16 autocast is on for a CPU
    without native bfloat16 (oneDNN has no emulated bfloat16 LSTM); otherwise a no-op.

    x: the kernel's float32 input (T, B, I); only its device is read.

    >>> lstm = torch.nn.LSTM(3, 4)
    >>> x = torch.zeros(5, 2, 3)
    >>> with autocast("bf16", x.device), fp32_recurrence(x):
    ...     out, _ = lstm(x)
    >>> out.dtype if not cpu_has_native_bf16() else torch.float32
    torch.float32
    """
    if x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and not cpu_has_native_bf16():
        with torch.autocast(device_type="cpu", enabled=False):
            yield
        return
    yield
