#!/usr/bin/python3
"""Writes the PyTorch golden files in tests/data/golden/ (run with Debian's python3-torch).

Each file holds cases: an op run by PyTorch on inputs drawn from the engine's own random
stream (Philox-4x32-10, re-implemented below, so the C++ test regenerates identical inputs
from the seed instead of storing them), its outputs, and the gradients of <r, output> with
respect to the inputs for a cotangent r drawn the same way. Values are stored as JSON
numbers with 9 significant digits (exact for float32).

    /usr/bin/python3 scripts/make_golden.py [--out tests/data/golden]
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


# --- the engine's random stream (tensor/random.h) ------------------------------------
def philox4x32(counter, seed):
    """Vectorised Philox-4x32-10 over uint64 counters; returns four uint32 word arrays."""
    m0, m1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
    w0, w1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
    lo32 = np.uint64(0xFFFFFFFF)
    c0 = counter & lo32
    c1 = counter >> np.uint64(32)
    c2 = np.zeros_like(counter)
    c3 = np.zeros_like(counter)
    k0 = np.uint64(seed & 0xFFFFFFFF)
    k1 = np.uint64(seed >> 32)
    for _ in range(10):
        p0 = m0 * c0
        p1 = m1 * c2
        n0 = (p1 >> np.uint64(32)) ^ c1 ^ k0
        n2 = (p0 >> np.uint64(32)) ^ c3 ^ k1
        c1 = p1 & lo32
        c3 = p0 & lo32
        c0, c2 = n0, n2
        k0 = (k0 + w0) & lo32
        k1 = (k1 + w1) & lo32
    return c0, c1, c2, c3


def uniform(shape, seed, lo=-1.0, hi=1.0):
    """float32 tensor equal to CpuBackend::fill_uniform(x, lo, hi, seed, 0)."""
    n = int(np.prod(shape)) if len(shape) else 1
    w0, w1, _, _ = philox4x32(np.arange(n, dtype=np.uint64), seed)
    bits = ((w0 << np.uint64(21)) ^ (w1 >> np.uint64(11))) & np.uint64((1 << 53) - 1)
    u = bits.astype(np.float64) * 2.0 ** -53
    values = (lo + (hi - lo) * u).astype(np.float32)
    return torch.from_numpy(values.reshape(shape))


# --- case recording -----------------------------------------------------------------
def tensor_json(t):
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.detach().reshape(-1).tolist()]}


def spec(shape, seed, lo=-1.0, hi=1.0):
    return {"shape": list(shape), "seed": seed, "lo": lo, "hi": hi}


def run_case(name, fn, input_specs, params=None, labels=None, cotangent_seed=999):
    """Runs fn(*inputs) in PyTorch; returns the case with output and input gradients."""
    inputs = [uniform(s["shape"], s["seed"], s["lo"], s["hi"]).requires_grad_() for s in input_specs]
    args = inputs + ([torch.tensor(labels, dtype=torch.long)] if labels is not None else [])
    y = fn(*args)
    r = uniform(list(y.shape), cotangent_seed)
    (y * r).sum().backward()
    case = {"name": name, "params": params or {}, "inputs": input_specs, "cotangent_seed": cotangent_seed,
            "output": tensor_json(y), "grads": [tensor_json(x.grad) for x in inputs]}
    if labels is not None:
        case["labels"] = labels
    return case


# --- the cases ----------------------------------------------------------------------
def conv_cases():
    cases = []
    for stride, padding, k in [(1, 1, 3), (2, 0, 3), (2, 1, 3), (1, 0, 1)]:
        cases.append(run_case(
            f"conv2d_k{k}_s{stride}_p{padding}",
            lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding),
            [spec([2, 3, 9, 7], 1), spec([4, 3, k, k], 2), spec([4], 3)],
            {"stride": stride, "padding": padding}))
    return cases


def pool_cases():
    cases = []
    for k, s, p, ceil in [(2, 2, 0, False), (3, 2, 1, False), (3, 2, 0, True)]:
        params = {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil}
        cases.append(run_case(f"max_pool2d_k{k}_s{s}_p{p}_ceil{int(ceil)}",
                              lambda x: F.max_pool2d(x, k, s, p, ceil_mode=ceil),
                              [spec([2, 3, 9, 8], 10)], params))
        cases.append(run_case(f"avg_pool2d_k{k}_s{s}_p{p}_ceil{int(ceil)}",
                              lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=True),
                              [spec([2, 3, 9, 8], 11)], params))
    cases.append(run_case("reflection_pad2d_p1", lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"),
                          [spec([2, 3, 5, 4], 12)], {"pad": 1}))
    cases.append(run_case("upsample_nearest_x2", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
                          [spec([2, 3, 4, 5], 13)], {"scale": 2}))
    return cases


def legacy_tf_resize(x, out_h, out_w):
    """TF-1 resize_images bilinear (align_corners=False, half_pixel_centers=False)."""
    def axis_weights(n_in, n_out):
        src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
        lower = torch.floor(src).long()
        upper = torch.clamp(lower + 1, max=n_in - 1)
        frac = (src - lower.double()).float()
        return lower, upper, frac
    top, bottom, fy = axis_weights(x.shape[2], out_h)
    left, right, fx = axis_weights(x.shape[3], out_w)
    rows = x[:, :, top, :] * (1 - fy)[:, None] + x[:, :, bottom, :] * fy[:, None]
    return rows[:, :, :, left] * (1 - fx) + rows[:, :, :, right] * fx


def resize_cases():
    cases = []
    for (h, w) in [(11, 13), (3, 5)]:
        for mode in ["align_corners", "half_pixel"]:
            cases.append(run_case(
                f"resize_bilinear_{mode}_{h}x{w}",
                lambda x: F.interpolate(x, size=(h, w), mode="bilinear", align_corners=(mode == "align_corners")),
                [spec([2, 2, 6, 7], 20)], {"out_h": h, "out_w": w, "mode": mode}))
        cases.append(run_case(f"resize_bilinear_legacy_tf_{h}x{w}", lambda x: legacy_tf_resize(x, h, w),
                              [spec([2, 2, 6, 7], 20)], {"out_h": h, "out_w": w, "mode": "legacy_tf"}))
    cases.append(run_case("resize_bilinear_legacy_tf_8to56", lambda x: legacy_tf_resize(x, 56, 56),
                          [spec([1, 1, 8, 8], 21)], {"out_h": 56, "out_w": 56, "mode": "legacy_tf"}))
    return cases


def norm_cases():
    def adain(x):
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = torch.sqrt(x.var(dim=(2, 3), keepdim=True, unbiased=False) + 1e-5)
        return mean, std

    cases = [
        run_case("channel_mean", lambda x: adain(x)[0], [spec([2, 3, 5, 6], 30)]),
        run_case("channel_std", lambda x: adain(x)[1], [spec([2, 3, 5, 6], 30)]),
        run_case("adain", lambda c, s: (c - adain(c)[0]) / adain(c)[1] * adain(s)[1] + adain(s)[0],
                 [spec([2, 3, 5, 6], 31), spec([2, 3, 4, 4], 32, 0.0, 2.0)]),
    ]
    for training in [True, False]:
        running_mean = uniform([3], 33, -0.5, 0.5)
        running_var = uniform([3], 34, 0.5, 1.5)
        rm, rv = running_mean.clone(), running_var.clone()
        case = run_case(
            f"batch_norm_{'train' if training else 'eval'}",
            lambda x, g, b: F.batch_norm(x, rm, rv, g, b, training=training, momentum=0.1, eps=1e-5),
            [spec([4, 3, 5, 5], 35), spec([3], 36, 0.5, 1.5), spec([3], 37)],
            {"training": training, "momentum": 0.1, "eps": 1e-5,
             "running_mean": spec([3], 33, -0.5, 0.5), "running_var": spec([3], 34, 0.5, 1.5)})
        case["running_mean_after"] = tensor_json(rm)
        case["running_var_after"] = tensor_json(rv)
        cases.append(case)
    return cases


def loss_cases():
    labels = [3, 0, 9, 5, 5, 1]
    return [run_case("softmax_cross_entropy", lambda z, y: F.cross_entropy(z, y, reduction="none"),
                     [spec([6, 10], 40, -3.0, 3.0)], labels=labels)]


def optimizer_cases():
    """Three steps on a parameter with fixed gradients; records the parameter after each."""
    cases = []
    configs = [
        ("sgd_momentum_nesterov_wd", lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
         {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
        ("sgd_momentum", lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.9),
         {"lr": 0.05, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0}),
        ("adam", lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.5, 0.999), eps=1e-8),
         {"lr": 0.01, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}),
        ("adam_wd", lambda p: torch.optim.Adam([p], lr=0.001, weight_decay=0.1),
         {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1}),
    ]
    for name, make, params in configs:
        p = uniform([2, 5], 50).requires_grad_()
        opt = make(p)
        after = []
        for step in range(3):
            p.grad = uniform([2, 5], 51 + step)
            opt.step()
            after.append(tensor_json(p))
        cases.append({"name": name, "params": params, "param": spec([2, 5], 50),
                      "grad_seeds": [51, 52, 53], "after_steps": after})
    return cases


def vgg19_relu4_1(x, weights):
    """torchvision VGG-19 features up to relu4_1 (zero padding 1, max-pool 2x2)."""
    plan = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512]
    i = 0
    for item in plan:
        if item == "M":
            x = F.max_pool2d(x, 2, 2)
        else:
            x = F.relu(F.conv2d(x, weights[2 * i], weights[2 * i + 1], padding=1))
            i += 1
    return x


def vgg_case():
    plan = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256), (256, 256), (256, 512)]
    specs = [spec([1, 3, 32, 32], 60, 0.0, 1.0)]
    for i, (cin, cout) in enumerate(plan):
        bound = (6.0 / (9 * cin)) ** 0.5  # Kaiming-uniform scale keeps activations O(1)
        specs += [spec([cout, cin, 3, 3], 61 + 2 * i, -bound, bound), spec([cout], 62 + 2 * i, -0.1, 0.1)]
    inputs = [uniform(s["shape"], s["seed"], s["lo"], s["hi"]).requires_grad_() for s in specs]
    y = vgg19_relu4_1(inputs[0], inputs[1:])
    r = uniform(list(y.shape), 999)
    (y * r).sum().backward()
    return {"name": "vgg19_relu4_1_torchvision_layout", "inputs": specs, "cotangent_seed": 999,
            "output": tensor_json(y), "input_grad": tensor_json(inputs[0].grad),
            "conv1_1_weight_grad": tensor_json(inputs[1].grad),
            "weight_grad_sums": [float(t.grad.double().sum()) for t in inputs[1::2]],
            "weight_grad_norms": [float(t.grad.double().norm()) for t in inputs[1::2]]}


def parameter_values(name, shape, seed):
    """The deterministic random value of a model parameter or buffer; tests/models_test.cpp
    applies the same rule (seed = 1000 + position of the name in sorted order)."""
    if name.endswith("running_var"):
        return uniform(shape, seed, 0.5, 1.5)
    if name.endswith("running_mean") or (len(shape) == 1 and name.endswith("bias")):
        return uniform(shape, seed, -0.1, 0.1)
    if len(shape) == 1:
        return uniform(shape, seed, 0.5, 1.5)
    bound = (3.0 / float(np.prod(shape[1:]))) ** 0.5
    return uniform(shape, seed, -bound, bound)


def model_case(name, model, input_shape):
    import torchvision  # noqa: F401  (Debian python3-torchvision)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    values = {k: parameter_values(k, list(state[k].shape), 1000 + i) for i, k in enumerate(sorted(state))}
    model.load_state_dict(values, strict=False)
    model.eval()
    x = uniform(input_shape, 70, 0.0, 1.0)
    with torch.no_grad():
        y = model(x)
    return {"name": name, "input": spec(input_shape, 70, 0.0, 1.0), "output": tensor_json(y),
            "parameter_count": len(state)}


def model_cases():
    import torchvision
    return [model_case("torchvision_resnet50", torchvision.models.resnet50(), [2, 3, 64, 64]),
            model_case("torchvision_resnet18", torchvision.models.resnet18(), [2, 3, 64, 64]),
            model_case("torchvision_vgg19_features_to_relu4_1", torchvision.models.vgg19().features[:21], [1, 3, 32, 32])]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "golden"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    files = {"conv2d": conv_cases(), "spatial": pool_cases() + resize_cases(), "normalization": norm_cases(),
             "losses": loss_cases(), "optimizers": optimizer_cases(), "vgg19": [vgg_case()], "models": model_cases()}
    for name, cases in files.items():
        path = os.path.join(args.out, name + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump({"generator": "scripts/make_golden.py", "torch": torch.__version__, "cases": cases}, f)
        os.replace(path + ".tmp", path)
        print(f"{path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
