#!/usr/bin/env bash
# Every pirho benchmark that has a CUDA side, in one call (well under 8 minutes on one GPU):
#   1. benchmarks/lm_vs_d2l.py --device cuda   pirho.train vs the d2l loop (bi-LSTM 2x256)
#   2. benchmarks/birnn_vs_torch.py --device cuda   BiRNN vs cuDNN's bidirectional LSTM/GRU
#   3. benchmarks/hmm_vs_hmmlearn.py --quick   the batched HMM posterior; pirho.hmm is numpy +
#      numba, so this one runs on the machine's CPUs (there is no CUDA HMM kernel)
#   4. benchmarks/crf_vs_pytorch_crf.py --device cuda, if that benchmark exists
# Each prints its ratios against the peer measured in the same run. Nothing is installed: the
# Python in $PYTHON (default: python3) must already have torch with CUDA, and pirho's
# dependencies (numba, hmmlearn for step 3). Run from the repository root:
#   PIRHO_DATA_DIR=/path/to/data bash benchmarks/gpu.sh
set -euo pipefail

PYTHON="${PYTHON:-python3}"
export PYTHONPATH="${PWD}/src${PYTHONPATH:+:${PYTHONPATH}}"
export OMP_WAIT_POLICY=PASSIVE

if ! "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu.sh: error: $PYTHON has no torch that sees a CUDA GPU; nothing was run" >&2
    exit 2
fi
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))'
nvidia-smi --query-gpu=name,memory.total,utilization.gpu --format=csv,noheader || true

step() {  # step SECONDS TITLE COMMAND...: run one benchmark under a time limit
    local limit="$1" title="$2"
    shift 2
    echo
    echo "== ${title}"
    local started=$SECONDS
    if ! timeout "$limit" "$@"; then
        echo "gpu.sh: ${title} failed or ran past ${limit} s" >&2
        status=1
    fi
    echo "(${title}: $((SECONDS - started)) s)"
}

status=0
step 150 "LM: pirho.train vs the d2l loop, CUDA" \
    "$PYTHON" benchmarks/lm_vs_d2l.py --device cuda --precision auto --epochs 20 --rounds 3
step 30 "LM: the same in float32" \
    "$PYTHON" benchmarks/lm_vs_d2l.py --device cuda --precision fp32 --epochs 20 --rounds 1
step 120 "BiRNN vs cuDNN" \
    "$PYTHON" benchmarks/birnn_vs_torch.py --device cuda --repeats 5 --steps 10 --cells lstm,gru
step 120 "HMM posterior, batched (CPU: pirho.hmm has no CUDA kernel)" \
    "$PYTHON" benchmarks/hmm_vs_hmmlearn.py --quick --max-seconds 3
if [[ -f benchmarks/crf_vs_pytorch_crf.py ]]; then
    step 60 "CRF vs pytorch-crf, CUDA" "$PYTHON" benchmarks/crf_vs_pytorch_crf.py --device cuda
fi
exit "$status"
