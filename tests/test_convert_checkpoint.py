#!/usr/bin/python3
"""test_convert_checkpoint.py: checks scripts/convert_checkpoint.py (run by ctest).

Converts every checkpoint of $FSA_ASSETS/weights (default <repo>/../shared/weights) through
the command line and checks the output against an independent read: exact values against
torch.load where PyTorch is importable, otherwise names and shapes against the tables below
(derived from the architectures in weights/README.md). Without assets those tests are
skipped and the script exits 77, which ctest reports as "skipped".
"""

import collections
import importlib.util
import os
import pickle
import subprocess
import sys
import tempfile
import unittest
import zipfile

import h5py
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONVERTER = os.path.join(REPO, "scripts", "convert_checkpoint.py")
ASSETS = os.environ.get("FSA_ASSETS") or os.path.join(REPO, "..", "shared")
WEIGHTS = os.path.join(ASSETS, "weights")

try:
    import torch
except ImportError:
    torch = None


def load_converter_module():
    spec = importlib.util.spec_from_file_location("convert_checkpoint", CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


converter = load_converter_module()


# --- expected names and shapes, from the architectures ------------------------------------

def batch_norm(shapes, prefix, channels):
    for field in ("weight", "bias", "running_mean", "running_var"):
        shapes[f"{prefix}.{field}"] = (channels,)


def akamaster_resnet(blocks_per_stage):
    """ResNet-6n+2 (16/32/64 channels, BatchNorm, parameter-free option-A shortcuts)."""
    shapes = collections.OrderedDict({"conv1.weight": (16, 3, 3, 3)})
    batch_norm(shapes, "bn1", 16)
    in_planes = 16
    for stage, planes in enumerate((16, 32, 64), start=1):
        for block in range(blocks_per_stage):
            prefix = f"layer{stage}.{block}"
            shapes[f"{prefix}.conv1.weight"] = (planes, in_planes, 3, 3)
            batch_norm(shapes, f"{prefix}.bn1", planes)
            shapes[f"{prefix}.conv2.weight"] = (planes, planes, 3, 3)
            batch_norm(shapes, f"{prefix}.bn2", planes)
            in_planes = planes
    shapes["linear.weight"] = (10, 64)
    shapes["linear.bias"] = (10,)
    return shapes


def conv_with_bias(shapes, prefix, out_channels, in_channels, kernel):
    shapes[f"{prefix}.weight"] = (out_channels, in_channels, kernel, kernel)
    shapes[f"{prefix}.bias"] = (out_channels,)


def vnncomp_resnet(stem_channels, stage_channels, flat_features):
    """ResNet-2B/4B: conv stem, stages of 2 blocks (the first with a 1x1 conv shortcut)."""
    shapes = collections.OrderedDict()
    conv_with_bias(shapes, "conv1", stem_channels, 3, 3)
    in_planes = stem_channels
    for stage, planes in enumerate(stage_channels, start=1):
        for block in range(2):
            prefix = f"layer{stage}.{block}"
            conv_with_bias(shapes, f"{prefix}.conv1", planes, in_planes, 3)
            conv_with_bias(shapes, f"{prefix}.conv2", planes, planes, 3)
            if block == 0:
                conv_with_bias(shapes, f"{prefix}.shortcut.0", planes, in_planes, 1)
            in_planes = planes
    shapes["linear1.weight"] = (100, flat_features)
    shapes["linear1.bias"] = (100,)
    shapes["linear2.weight"] = (10, 100)
    shapes["linear2.bias"] = (10,)
    return shapes


def sequential_convs(layers):
    """nn.Sequential convs given as (index, out, in, kernel)."""
    shapes = collections.OrderedDict()
    for index, out_channels, in_channels, kernel in layers:
        conv_with_bias(shapes, str(index), out_channels, in_channels, kernel)
    return shapes


VGG_ENCODER = [(0, 3, 3, 1), (2, 64, 3, 3), (5, 64, 64, 3), (9, 128, 64, 3), (12, 128, 128, 3),
               (16, 256, 128, 3)]
WCT_DECODERS = {
    "1": [(1, 3, 64, 3)],
    "2": [(1, 64, 128, 3), (5, 64, 64, 3), (8, 3, 64, 3)],
    "3": [(1, 128, 256, 3), (5, 128, 128, 3), (8, 64, 128, 3), (12, 64, 64, 3), (15, 3, 64, 3)],
}

# relative path -> (architecture, mean, expected names and shapes)
CHECKPOINTS = {
    "cifar10/resnet20-12fca82f.th": ("cifar_resnet20", (0.485, 0.456, 0.406), akamaster_resnet(3)),
    "cifar10/resnet32-d509ac18.th": ("cifar_resnet32", (0.485, 0.456, 0.406), akamaster_resnet(5)),
    "cifar10/resnet2b_adv2px.pth": ("cifar_resnet2b", (0.4914, 0.4822, 0.4465),
                                    vnncomp_resnet(8, (16,), 1024)),
    "cifar10/resnet4b_adv2px.pth": ("cifar_resnet4b", (0.4914, 0.4822, 0.4465),
                                    vnncomp_resnet(16, (32, 32), 512)),
}
for _cut, _count in (("1", 2), ("2", 4), ("3", 6)):
    CHECKPOINTS[f"vgg19-normalised/vgg_normalised_conv{_cut}_1.pth"] = (
        f"vgg19_normalised_relu{_cut}_1", (0.0, 0.0, 0.0), sequential_convs(VGG_ENCODER[:_count]))
    CHECKPOINTS[f"vgg19-normalised/feature_invertor_conv{_cut}_1.pth"] = (
        f"wct_decoder_relu{_cut}_1", (0.0, 0.0, 0.0), sequential_convs(WCT_DECODERS[_cut]))


def run_converter(*args):
    return subprocess.run([sys.executable, CONVERTER, *args], capture_output=True, text=True)


def torch_state_dict(path):
    """The reference read: torch.load, unwrapped and with "module." stripped."""
    checkpoint = torch.load(path, map_location="cpu")
    state = checkpoint.get("state_dict", checkpoint)
    return {name.replace("module.", "", 1) if name.startswith("module.") else name: tensor
            for name, tensor in state.items() if not name.endswith("num_batches_tracked")}


class ConvertRealCheckpoints(unittest.TestCase):
    """One test per checkpoint of weights/README.md."""

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.folder.cleanup()

    def check_checkpoint(self, relative):
        source = os.path.join(WEIGHTS, relative)
        if not os.path.exists(source):
            self.skipTest(f"asset {source} is absent")
        architecture, mean, expected = CHECKPOINTS[relative]
        output = os.path.join(self.folder.name, "converted.h5")
        result = run_converter(source, output)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(os.listdir(self.folder.name), ["converted.h5"])  # no temporary left

        with h5py.File(output, "r") as file:
            self.assertEqual(file.attrs["format"], "fsa-weights")
            self.assertEqual(int(file.attrs["format_version"]), 1)
            self.assertEqual(file.attrs["architecture"], architecture)
            self.assertEqual(file.attrs["input_range"], "0-1")
            self.assertEqual(file.attrs["channel_order"], "RGB")
            np.testing.assert_array_equal(file.attrs["mean"], np.array(mean))
            self.assertTrue(file.attrs["source"].startswith(os.path.basename(relative) + " sha256:"))
            self.assertEqual(len(file.attrs["source"].split("sha256:")[1]), 64)
            converted = {name: dataset[()] for name, dataset in file["tensors"].items()}

        self.assertEqual(sorted(converted), sorted(expected))
        for name, shape in expected.items():
            self.assertEqual(converted[name].shape, shape, name)
            self.assertEqual(converted[name].dtype, np.float32, name)
        if torch is not None:
            reference = torch_state_dict(source)
            self.assertEqual(sorted(reference), sorted(converted))
            for name, tensor in reference.items():
                np.testing.assert_array_equal(converted[name], tensor.numpy(), err_msg=name)

        listing = run_converter(source, "--list")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertEqual([line.split(" ")[0] for line in listing.stdout.splitlines()],
                         list(expected))


for _relative in CHECKPOINTS:
    _test_name = "test_" + os.path.splitext(os.path.basename(_relative))[0].replace("-", "_")
    setattr(ConvertRealCheckpoints, _test_name,
            lambda self, relative=_relative: self.check_checkpoint(relative))


class ConverterRobustness(unittest.TestCase):
    """Synthetic checkpoints: no assets needed."""

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.folder.cleanup()

    def path(self, name):
        return os.path.join(self.folder.name, name)

    def test_refuses_arbitrary_globals(self):
        class Exploit:
            def __reduce__(self):
                return (os.system, ("echo should-not-run",))

        checkpoint = self.path("exploit.pth")
        with zipfile.ZipFile(checkpoint, "w") as archive:
            archive.writestr("archive/data.pkl", pickle.dumps({"w": Exploit()}, protocol=2))
        with self.assertRaises(converter.ConversionError) as caught:
            converter.load_checkpoint(checkpoint)
        self.assertIn("refusing global", str(caught.exception))
        self.assertIn(checkpoint, str(caught.exception))

    def test_truncated_legacy_file_names_the_file(self):
        checkpoint = self.path("truncated.pth")
        with open(checkpoint, "wb") as file:
            file.write(pickle.dumps(converter.LEGACY_MAGIC_NUMBER, protocol=2))
            file.write(pickle.dumps(converter.LEGACY_PROTOCOL_VERSION, protocol=2))
        result = run_converter(checkpoint, self.path("out.h5"), "--arch", "x", "--mean", "0", "0",
                               "0", "--std", "1", "1", "1")
        self.assertEqual(result.returncode, 1)
        self.assertIn(checkpoint, result.stderr)
        self.assertFalse(os.path.exists(self.path("out.h5")))

    def test_unknown_file_needs_arch(self):
        checkpoint = self.path("unknown.pth")
        with open(checkpoint, "wb") as file:
            file.write(b"not a checkpoint")
        result = run_converter(checkpoint, self.path("out.h5"))
        self.assertEqual(result.returncode, 1)
        self.assertIn(checkpoint, result.stderr)

    @unittest.skipIf(torch is None, "PyTorch is not installed")
    def test_both_containers_views_prefixes_and_buffers_match_torch(self):
        base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
        state = collections.OrderedDict([
            ("module.conv.weight", torch.randn(5, 3, 3, 3)),
            ("module.transposed", base.t()),  # non-contiguous view of a shared storage
            ("module.slice", base[1:3, 2:5]),  # storage offset
            ("module.bn.num_batches_tracked", torch.tensor(7)),
            ("module.double", torch.randn(2, 2, dtype=torch.float64)),
            ("module.scalar", torch.tensor(3.5)),
        ])
        for legacy in (False, True):
            checkpoint = self.path(f"synthetic-{legacy}.pth")
            torch.save({"state_dict": state, "epoch": 3}, checkpoint,
                       _use_new_zipfile_serialization=not legacy)
            output = self.path(f"synthetic-{legacy}.h5")
            result = run_converter(checkpoint, output, "--arch", "test", "--mean", "0.5", "0.5",
                                   "0.5", "--std", "0.25", "0.25", "0.25", "--channel-order", "BGR")
            self.assertEqual(result.returncode, 0, result.stderr)
            with h5py.File(output, "r") as file:
                self.assertEqual(file.attrs["channel_order"], "BGR")
                np.testing.assert_array_equal(file.attrs["std"], [0.25, 0.25, 0.25])
                converted = {name: dataset[()] for name, dataset in file["tensors"].items()}
            self.assertEqual(sorted(converted),
                             ["conv.weight", "double", "scalar", "slice", "transposed"])
            for name in converted:
                expected = state["module." + name].to(torch.float32).numpy()
                np.testing.assert_array_equal(converted[name], expected, err_msg=name)


def main():
    result = unittest.main(exit=False, verbosity=2).result
    if not result.wasSuccessful():
        return 1
    return 0 if os.path.isdir(WEIGHTS) else 77


if __name__ == "__main__":
    sys.exit(main())
