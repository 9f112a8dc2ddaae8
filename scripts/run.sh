#!/usr/bin/env bash
# The main job: set up, build, and compile config/examples/llama-tiny.yaml end to end into out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
# every emitter: safetensors + config.json, the PyTorch package, GGUF, TorchScript, the C CPU runtime
build/llmc --plugins build/plugins compile config/examples/llama-tiny.yaml -o out --force \
  --emit safetensors,pytorch,gguf,torchscript,cpu
build/llmc validate out
# the CPU runtime: built by llmc run on first use, 16 greedy tokens after a 4-token prompt
echo "run: out/cpu/llmc-run generates $(build/llmc run out --prompt-ids 1,2,3,4 -n 16 --threads 2)"
echo "run: compiled config/examples/llama-tiny.yaml into out/"
