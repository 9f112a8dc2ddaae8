#!/usr/bin/env bash
# The main job: set up, build, and compile config/examples/llama-tiny.yaml end to end into out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
# every emitter (the cpu runtime joins when it lands)
build/llmc --plugins build/plugins compile config/examples/llama-tiny.yaml -o out --force --emit safetensors,pytorch,gguf,torchscript
build/llmc validate out
echo "run: compiled config/examples/llama-tiny.yaml into out/"
