#!/usr/bin/env python3
"""bench/weights: the same initialisation done with torch, for comparison with llmc.

For every parameter of an llmc ir.json: torch.empty(n).normal_(0, std) (ones / zeros for norm
weights and biases, as llmc), converted to bfloat16, bytes written to one file in order.
Prints the elapsed seconds and bytes written.
  usage: torch_init.py IR_JSON OUT_FILE [THREADS]
"""
import json
import os
import sys
import time

import torch


def main():
    ir_path, out_path = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    with open(ir_path) as f:
        params = [t for t in json.load(f)["tensors"] if t["kind"] == "param"]
    torch.manual_seed(0)
    start = time.perf_counter()
    written = 0
    with open(out_path, "wb") as f:
        for p in params:
            n = 1
            for d in p["shape"]:
                n *= d
            init = p["init"]
            if init["kind"] == "normal":
                t = torch.empty(n).normal_(0, init["std"])
            elif init["kind"] == "ones":
                t = torch.ones(n)
            else:
                t = torch.zeros(n)
            b = t.to(torch.bfloat16).view(torch.int16).numpy()
            f.write(memoryview(b))
            written += b.nbytes
    elapsed = time.perf_counter() - start
    print(f"{elapsed:.3f} {written}")


if __name__ == "__main__":
    main()
