#!/usr/bin/python3
"""Times the engine's benchmarks and the same work in PyTorch on this machine, side by side,
and prints a Markdown table with the ratio (PyTorch time / engine time: above 1 means the
engine is faster). Run with Debian's python3-torch:

    cmake -S . -B build-bench -DFSA_BUILD_BENCH=ON && cmake --build build-bench -j2
    /usr/bin/python3 scripts/bench_compare.py [--bench build-bench/bench/fsa_bench] [--filter REGEX]

Both sides use the same thread count (--threads, default 2). For each row the engine and
PyTorch alternate --rounds times, so that both see the same load on a shared machine, and
the medians are reported.

--device cuda (on a GPU machine, with a CUDA build of the benchmarks) times the /cuda/ rows
against PyTorch on the same GPU. Both sides then compute convolutions in full float32:
the engine asks cuDNN for FMA math, and PyTorch's TF32 is switched off (--tf32 lets PyTorch
use it, for reference).
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

CONV_SHAPES = {  # name: (batch, in channels, out channels, size[, stride]), as bench/kernels_bench.cpp
    "vgg_conv1_1_32": (8, 3, 64, 32), "vgg_conv1_2_32": (8, 64, 64, 32), "vgg_conv2_1_32": (8, 64, 128, 16),
    "vgg_conv2_2_32": (8, 128, 128, 16), "vgg_conv3_1_32": (8, 128, 256, 8), "vgg_conv3_2_32": (8, 256, 256, 8),
    "vgg_conv4_1_32": (8, 256, 512, 4), "vgg_conv1_1_224": (4, 3, 64, 224), "vgg_conv1_2_224": (4, 64, 64, 224),
    "vgg_conv2_1_224": (4, 64, 128, 112), "vgg_conv2_2_224": (4, 128, 128, 112),
    "vgg_conv3_1_224": (4, 128, 256, 56), "vgg_conv3_2_224": (4, 256, 256, 56),
    "vgg_conv4_1_224": (4, 256, 512, 28), "resnet20_16_32": (128, 16, 16, 32),
    "resnet20_32_16": (128, 32, 32, 16), "resnet20_64_8": (128, 64, 64, 8),
    "resnet20_16_32_s2": (128, 16, 32, 32, 2), "resnet20_32_16_s2": (128, 32, 64, 16, 2),
}
VGG_PLAN = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256), (256, 256), (256, 512)]


def synchronize():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def median_ms(fn, warmup=3, min_runs=5, min_seconds=1.0):
    for _ in range(warmup):
        fn()
    synchronize()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def torch_gemm(n):
    a, b = torch.rand(n, n), torch.rand(n, n)
    return lambda: a @ b


def torch_conv(shape, with_backward):
    n, c, k, h = shape[:4]
    stride = shape[4] if len(shape) > 4 else 1
    x = torch.rand(n, c, h, h, requires_grad=with_backward)
    w = torch.rand(k, c, 3, 3, requires_grad=with_backward)
    b = torch.rand(k, requires_grad=with_backward)
    r = torch.rand(n, k, h // stride, h // stride)
    if not with_backward:
        return lambda: F.conv2d(x, w, b, stride=stride, padding=1)
    return lambda: F.conv2d(x, w, b, stride=stride, padding=1).backward(r)


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


VGG_STAGES = [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512]]


def he(shape):
    fan_in = shape[1] * shape[2] * shape[3]
    return (torch.rand(*shape) * 2 - 1) * (6.0 / fan_in) ** 0.5


def conv_layer(c_in, c_out, k):
    return he((c_out, c_in, k, k)), torch.rand(c_out) * 0.1


def vgg_normalised(cut):
    """The AdaIN/WCT encoder as models/vgg19.cpp builds it, as a function of x."""
    stem = conv_layer(3, 3, 1)
    stages = []
    c_in = 3
    for stage in range(1, cut + 1):
        widths = VGG_STAGES[stage - 1][:1] if stage == cut else VGG_STAGES[stage - 1]
        convs = []
        for c_out in widths:
            convs.append(conv_layer(c_in, c_out, 3))
            c_in = c_out
        stages.append(convs)

    def forward(x):
        y = F.conv2d(x, *stem)
        for index, convs in enumerate(stages):
            if index > 0:
                y = F.max_pool2d(y, 2, 2, ceil_mode=True)
            for w, b in convs:
                y = F.relu(F.conv2d(F.pad(y, (1, 1, 1, 1), mode="reflect"), w, b))
        return y
    return forward


def wct_decoder_relu2_1():
    """models/decoder.cpp for relu2_1: 128->64, upsample, 64->64, 64->3, reflection padded."""
    layers = [conv_layer(128, 64, 3), conv_layer(64, 64, 3), conv_layer(64, 3, 3)]

    def forward(x):
        y = F.relu(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), *layers[0]))
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        y = F.relu(F.conv2d(F.pad(y, (1, 1, 1, 1), mode="reflect"), *layers[1]))
        return F.conv2d(F.pad(y, (1, 1, 1, 1), mode="reflect"), *layers[2])
    return forward


class BasicBlock(torch.nn.Module):
    """He et al.'s CIFAR block with the option-A shortcut (models/resnet_blocks.cpp)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(c_out)
        self.conv2 = torch.nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(c_out)
        self.pad = (c_out - c_in) // 2 if stride != 1 or c_in != c_out else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(y + shortcut)


class ResNet20(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(16)
        blocks, c_in = [], 16
        for stage, width in enumerate([16, 32, 64]):
            for block in range(3):
                blocks.append(BasicBlock(c_in, width, 2 if stage > 0 and block == 0 else 1))
                c_in = width
        self.blocks = torch.nn.Sequential(*blocks)
        self.linear = torch.nn.Linear(64, 10)

    def forward(self, x):
        y = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.linear(F.adaptive_avg_pool2d(y, 1).flatten(1))


def labels_for(batch):
    return torch.arange(batch) % 10


def torch_model_step(forward, input_shape, with_backward):
    x = torch.rand(*input_shape, requires_grad=with_backward)
    if not with_backward:
        return lambda: forward(x)
    return lambda: forward(x).sum().backward()


def torch_resnet20_train_step(batch):
    model = ResNet20().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x, labels = torch.rand(batch, 3, 32, 32), labels_for(batch)

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), labels).backward()
        optimizer.step()
    return step


def torch_fa_iteration(batch):
    """networks_bench.cpp's fa_iteration: encoder, perturbation, decoder, ResNet-20, re-encoder."""
    encoder, decoder = vgg_normalised(2), wct_decoder_relu2_1()
    classifier = ResNet20().eval()
    for p in classifier.parameters():
        p.requires_grad_(False)
    x, labels = torch.rand(batch, 3, 32, 32), labels_for(batch)
    tau_s = torch.zeros(batch, 128, 1, 1, requires_grad=True)
    tau_m = torch.zeros(batch, 128, 1, 1, requires_grad=True)
    optimizer = torch.optim.Adam([tau_s, tau_m], lr=0.01, betas=(0.5, 0.999))

    def step():
        optimizer.zero_grad()
        b = encoder(x)
        mu = b.mean((2, 3), keepdim=True)
        perturbed = torch.exp(tau_s) * (b - mu) + torch.exp(tau_m) * mu
        decoded = decoder(perturbed).clamp(0, 1)
        content = (encoder(decoded) - perturbed).pow(2).mean((2, 3)).sum()
        logits = classifier(decoded)
        true = logits.gather(1, labels[:, None])[:, 0]
        other = logits.masked_fill(F.one_hot(labels, 10).bool(), float("-inf")).max(1).values
        hinge = (true - other + 1).clamp(min=0).sum()
        (content + 32000 * hinge).backward()
        optimizer.step()
    return step


def torch_batch_norm_training(batch, channels, size):
    """kernels_bench.cpp's batch_norm_training: batch statistics, normalisation, backward."""
    x = torch.rand(batch, channels, size, size, requires_grad=True)
    dy = torch.rand(batch, channels, size, size)
    gamma = torch.rand(channels, requires_grad=True)
    beta = torch.rand(channels, requires_grad=True)

    def step():
        F.batch_norm(x, None, None, gamma, beta, training=True).backward(dy)
        x.grad = gamma.grad = beta.grad = None  # the engine's kernels write fresh gradients
    return step


def torch_work(name):
    """The PyTorch closure for an engine benchmark name, or None if there is no twin."""
    parts = name.split("/")
    kind, shape = parts[0], parts[-1]
    m = re.match(r"(\d+)x(\d+)", shape)
    if kind == "BM_gemm":
        return torch_gemm(int(shape))
    if kind in ("BM_conv2d_forward", "BM_conv2d_forward_backward"):
        return torch_conv(CONV_SHAPES[shape], kind.endswith("backward"))
    if kind == "BM_batch_norm_training":
        return torch_batch_norm_training(*(int(v) for v in shape.split("x")))
    if kind.startswith("BM_vgg19_relu4_1") and m:
        return torch_vgg(int(m.group(1)), int(m.group(2)), kind.endswith("backward"))
    vgg = re.match(r"BM_vgg19_normalised_relu(\d)_1_", kind)
    if vgg and m:
        batch, size = int(m.group(1)), int(m.group(2))
        return torch_model_step(vgg_normalised(int(vgg.group(1))), (batch, 3, size, size), kind.endswith("backward"))
    if kind.startswith("BM_wct_decoder_relu2_1") and m:
        return torch_model_step(wct_decoder_relu2_1(), (int(m.group(1)), 128, int(m.group(2)) // 2,
                                                         int(m.group(2)) // 2), kind.endswith("backward"))
    if kind == "BM_resnet20_train_step":
        return torch_resnet20_train_step(int(shape))
    if kind in ("BM_fa_iteration", "BM_fa_iteration_graph") and m:  # PyTorch: eager
        return torch_fa_iteration(int(m.group(1)))
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
                          f"--benchmark_min_warmup_time={min_time}",
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
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="rows of this device (/cpu/ or /cuda/ in the name); PyTorch runs there too")
    parser.add_argument("--tf32", action="store_true", help="cuda: let PyTorch use TF32 (the engine never does)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "cuda":
        torch.set_default_device("cuda")  # every tensor and module below is created on the GPU
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name()}, PyTorch TF32 {'on' if args.tf32 else 'off'}")
    print(f"| benchmark | engine ms | PyTorch {torch.__version__} ms | PyTorch/engine |")
    print("|---|---|---|---|")
    for name in list_engine(args.bench, args.filter):
        if f"/{args.device}/" not in name:
            continue
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
