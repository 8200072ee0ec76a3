#!/usr/bin/python3
"""Times the engine's benchmarks and the same work in PyTorch on this machine, side by side,
and prints a Markdown table with the ratio (PyTorch time / engine time: above 1 means the
engine is faster). Run with Debian's python3-torch:

    cmake -S . -B build-bench -DFSA_BUILD_BENCH=ON && cmake --build build-bench -j2
    /usr/bin/python3 scripts/bench_compare.py [--bench build-bench/bench/fsa_bench] [--filter REGEX]

Both sides use the same thread count (--threads, default 2). For each row the engine and
PyTorch alternate --rounds times, so that both see the same load on a shared machine, and
the medians are reported.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F

CONV_SHAPES = {  # name: (batch, in channels, out channels, size), as bench/kernels_bench.cpp
    "vgg_conv1_1_32": (8, 3, 64, 32), "vgg_conv1_2_32": (8, 64, 64, 32), "vgg_conv2_1_32": (8, 64, 128, 16),
    "vgg_conv2_2_32": (8, 128, 128, 16), "vgg_conv3_1_32": (8, 128, 256, 8), "vgg_conv3_2_32": (8, 256, 256, 8),
    "vgg_conv4_1_32": (8, 256, 512, 4), "vgg_conv1_1_224": (4, 3, 64, 224), "vgg_conv1_2_224": (4, 64, 64, 224),
    "vgg_conv2_1_224": (4, 64, 128, 112), "vgg_conv2_2_224": (4, 128, 128, 112),
    "vgg_conv3_1_224": (4, 128, 256, 56), "vgg_conv3_2_224": (4, 256, 256, 56),
    "vgg_conv4_1_224": (4, 256, 512, 28), "resnet20_16_32": (128, 16, 16, 32),
    "resnet20_32_16": (128, 32, 32, 16), "resnet20_64_8": (128, 64, 64, 8),
}
VGG_PLAN = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256), (256, 256), (256, 512)]


def median_ms(fn, warmup=3, min_runs=5, min_seconds=1.0):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def torch_gemm(n):
    a, b = torch.rand(n, n), torch.rand(n, n)
    return lambda: a @ b


def torch_conv(shape, with_backward):
    n, c, k, h = shape
    x = torch.rand(n, c, h, h, requires_grad=with_backward)
    w = torch.rand(k, c, 3, 3, requires_grad=with_backward)
    b = torch.rand(k, requires_grad=with_backward)
    r = torch.rand(n, k, h, h)
    if not with_backward:
        return lambda: F.conv2d(x, w, b, padding=1)
    return lambda: F.conv2d(x, w, b, padding=1).backward(r)


def torch_vgg(batch, size, with_backward):
    weights = [(torch.rand(co, ci, 3, 3) * (3.0 / (9 * ci)) ** 0.5, torch.rand(co) * 0.1) for ci, co in VGG_PLAN]
    x = torch.rand(batch, 3, size, size, requires_grad=with_backward)

    def forward():
        y = x
        for i, (w, b) in enumerate(weights):
            y = F.relu(F.conv2d(y, w, b, padding=1))
            if i in (1, 3, 7):
                y = F.max_pool2d(y, 2, 2)
        return y

    if not with_backward:
        return lambda: forward()
    return lambda: forward().sum().backward()


def torch_work(name):
    """The PyTorch closure for an engine benchmark name, or None if there is no twin."""
    parts = name.split("/")
    kind, shape = parts[0], parts[-1]
    if kind == "BM_gemm":
        return torch_gemm(int(shape))
    if kind in ("BM_conv2d_forward", "BM_conv2d_forward_backward"):
        return torch_conv(CONV_SHAPES[shape], kind.endswith("backward"))
    m = re.match(r"(\d+)x(\d+)", shape)
    if kind.startswith("BM_vgg19_relu4_1") and m:
        return torch_vgg(int(m.group(1)), int(m.group(2)), kind.endswith("backward"))
    return None


def list_engine(bench, pattern):
    out = subprocess.run([bench, f"--benchmark_filter={pattern}", "--benchmark_list_tests=true"],
                         capture_output=True, text=True, check=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def run_engine(bench, name, threads, min_time):
    """Median real time in ms of one engine benchmark (3 repetitions)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([bench, "--benchmark_format=json", f"--benchmark_filter=^{re.escape(name)}$",
                          "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true",
                          f"--benchmark_min_time={min_time}"], capture_output=True, text=True, env=env, check=True)
    for entry in json.loads(out.stdout)["benchmarks"]:
        if entry.get("aggregate_name") == "median":
            unit = {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[entry["time_unit"]]
            return entry["real_time"] * unit
    raise RuntimeError(f"no median for {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default="build-bench/bench/fsa_bench")
    parser.add_argument("--filter", default=".", help="regular expression over benchmark names")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="engine and PyTorch alternate this many times per row; medians are reported")
    parser.add_argument("--min-time", type=float, default=0.3, help="seconds per timing, each side")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"| benchmark | engine ms | PyTorch {torch.__version__} ms | PyTorch/engine |")
    print("|---|---|---|---|")
    for name in list_engine(args.bench, args.filter):
        work = torch_work(name)
        if work is None:
            continue
        engine, reference = [], []
        for _ in range(args.rounds):  # alternate, so that both sides see the same machine load
            engine.append(run_engine(args.bench, name, args.threads, args.min_time))
            reference.append(median_ms(work, min_seconds=args.min_time))
        engine_ms, torch_ms = statistics.median(engine), statistics.median(reference)
        print(f"| {name} | {engine_ms:.2f} | {torch_ms:.2f} | {torch_ms / engine_ms:.2f} |", flush=True)


if __name__ == "__main__":
    main()
