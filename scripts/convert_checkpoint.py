#!/usr/bin/python3
"""convert_checkpoint.py: PyTorch checkpoints -> fsa weight files (docs/weights-format.md).

Works WITHOUT PyTorch (Python 3 standard library, numpy, h5py). A restricted unpickler
reads both checkpoint containers torch.save has written:
  - legacy (PyTorch < 1.6): consecutive pickles (magic number, protocol 1001, system info,
    the object, the storage keys) followed by each storage's raw bytes;
  - zip (PyTorch >= 1.6): <name>/data.pkl plus one <name>/data/<key> entry per storage.
Only containers, tensor rebuild functions and storage types are accepted; any other global
in the pickle is refused, so a checkpoint cannot run code.

Usage:
  convert_checkpoint.py IN.pth OUT.h5 [--arch NAME] [--mean M M M] [--std S S S]
                        [--input-range 0-1] [--channel-order RGB]
  convert_checkpoint.py IN.pth --list
Files named in weights/README.md are recognised by name (architecture and preprocessing);
other files need --arch. The output is written to a temporary file and renamed.
"""

import argparse
import collections
import hashlib
import io
import os
import pickle
import struct
import sys
import tempfile
import zipfile

import numpy as np

FORMAT_NAME = "fsa-weights"
FORMAT_VERSION = 1
TENSOR_GROUP = "tensors"
LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2471, 0.2435, 0.2616)
IDENTITY_MEAN, IDENTITY_STD = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)


def _known(architecture, mean, std):
    return {"architecture": architecture, "mean": mean, "std": std,
            "input_range": "0-1", "channel_order": "RGB"}


# The checkpoints of weights/README.md, by file name. The VGG encoders take RGB in [0,1]
# (their first 1x1 conv maps it to BGR x 255 minus the Caffe mean); the decoders output it.
KNOWN_CHECKPOINTS = {
    "resnet20-12fca82f.th": _known("cifar_resnet20", IMAGENET_MEAN, IMAGENET_STD),
    "resnet32-d509ac18.th": _known("cifar_resnet32", IMAGENET_MEAN, IMAGENET_STD),
    "resnet2b_adv2px.pth": _known("cifar_resnet2b", CIFAR_MEAN, CIFAR_STD),
    "resnet4b_adv2px.pth": _known("cifar_resnet4b", CIFAR_MEAN, CIFAR_STD),
}
for _cut in ("1", "2", "3"):
    KNOWN_CHECKPOINTS[f"vgg_normalised_conv{_cut}_1.pth"] = _known(
        f"vgg19_normalised_relu{_cut}_1", IDENTITY_MEAN, IDENTITY_STD)
    KNOWN_CHECKPOINTS[f"feature_invertor_conv{_cut}_1.pth"] = _known(
        f"wct_decoder_relu{_cut}_1", IDENTITY_MEAN, IDENTITY_STD)


class ConversionError(Exception):
    """A checkpoint that cannot be read or converted; the message names the file."""


# --- what the pickle may construct ---------------------------------------------------------

class StorageType:
    """Stands in for torch.FloatStorage & co.: only its element type matters."""

    DTYPES = {
        "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"),
        "HalfStorage": np.dtype("<f2"), "BFloat16Storage": np.dtype("<u2"),
        "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"),
        "ShortStorage": np.dtype("<i2"), "CharStorage": np.dtype("i1"),
        "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
    }

    def __init__(self, name):
        self.name = name
        self.dtype = self.DTYPES[name]


class Storage:
    """A flat array of `numel` elements; legacy files fill `values` after the pickle."""

    def __init__(self, storage_type, numel, values=None):
        self.storage_type = storage_type
        self.numel = numel
        self.values = values

    def array(self):
        if self.values is None:
            raise ConversionError("a tensor refers to a storage whose data is missing")
        return self.values


class StorageView:
    """A legacy view into a root storage (view_metadata = (key, offset, size))."""

    def __init__(self, root, offset, numel):
        self.root, self.offset, self.numel = root, offset, numel
        self.storage_type = root.storage_type

    def array(self):
        return self.root.array()[self.offset:self.offset + self.numel]


class TensorRef:
    """A tensor as torch._utils._rebuild_tensor* describes it: storage, offset, size, stride."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    def to_numpy(self):
        flat = self.storage.array()
        if self.storage.storage_type.name == "BFloat16Storage":
            flat = (flat.astype(np.uint32) << 16).view(np.float32)
        if 0 in self.size:
            return np.zeros(self.size, dtype=flat.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if self.offset < 0 or last >= len(flat):
            raise ConversionError(f"tensor {self.size} with stride {self.stride} at offset "
                                  f"{self.offset} overruns its storage of {len(flat)} elements")
        strides = [s * flat.itemsize for s in self.stride]
        view = np.lib.stride_tricks.as_strided(flat[self.offset:], shape=self.size,
                                               strides=strides, writeable=False)
        return np.array(view, copy=True)  # contiguous, row-major


def _rebuild_tensor(storage, storage_offset, size, stride):
    return TensorRef(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


def _rebuild_parameter_with_state(data, requires_grad=False, backward_hooks=None, state=None):
    return data


SAFE_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Builds containers, numbers, strings and TensorRefs; refuses every other global."""

    def __init__(self, file, load_storage=None):
        super().__init__(file)
        self._load_storage = load_storage

    def find_class(self, module, name):
        if (module, name) in SAFE_GLOBALS:
            return SAFE_GLOBALS[(module, name)]
        if module == "torch" and name in StorageType.DTYPES:
            return StorageType(name)
        raise pickle.UnpicklingError(f"refusing global {module}.{name}: only state dicts of "
                                     "tensors can be converted")

    def persistent_load(self, pid):
        if self._load_storage is None or not isinstance(pid, tuple) or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return self._load_storage(pid)


# --- the two containers ----------------------------------------------------------------------

def _load_legacy(file):
    """PyTorch < 1.6: pickles of magic, protocol, sys info, object, storage keys; then data."""
    if RestrictedUnpickler(file).load() != LEGACY_MAGIC_NUMBER:
        raise ConversionError("not a PyTorch checkpoint (wrong magic number)")
    protocol = RestrictedUnpickler(file).load()
    if protocol != LEGACY_PROTOCOL_VERSION:
        raise ConversionError(f"unsupported legacy protocol version {protocol}")
    system_info = RestrictedUnpickler(file).load()
    if not system_info.get("little_endian", True):
        raise ConversionError("big-endian legacy checkpoints are not supported")

    storages = {}

    def load_storage(pid):
        _, storage_type, key, _location, numel, view_metadata = pid
        root = storages.setdefault(key, Storage(storage_type, numel))
        if view_metadata is None:
            return root
        _view_key, offset, view_numel = view_metadata
        return StorageView(root, offset, view_numel)

    result = RestrictedUnpickler(file, load_storage).load()
    storage_keys = RestrictedUnpickler(file).load()
    for key in storage_keys:
        storage = storages[key]
        header = file.read(8)
        if len(header) != 8:
            raise ConversionError(f"file ends before the data of storage {key}")
        (numel,) = struct.unpack("<q", header)
        if numel != storage.numel:
            raise ConversionError(f"storage {key} holds {numel} elements, the pickle says "
                                  f"{storage.numel}")
        dtype = storage.storage_type.dtype
        raw = file.read(numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise ConversionError(f"file ends inside the data of storage {key}")
        storage.values = np.frombuffer(raw, dtype=dtype)
    return result


def _load_zip(path):
    """PyTorch >= 1.6: a zip with <name>/data.pkl and <name>/data/<storage key>."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ConversionError("zip file without exactly one <name>/data.pkl entry")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = archive.read(prefix + "byteorder").decode().strip()
        storages = {}

        def load_storage(pid):
            _, storage_type, key, _location, numel = pid[:5]
            if key not in storages:
                dtype = storage_type.dtype.newbyteorder("<" if byteorder == "little" else ">")
                values = np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=dtype)
                if len(values) != numel:
                    raise ConversionError(f"storage {key} holds {len(values)} elements, the "
                                          f"pickle says {numel}")
                storages[key] = Storage(storage_type, numel, values.astype(storage_type.dtype))
            return storages[key]

        return RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), load_storage).load()


def load_checkpoint(path):
    """The unpickled object, with TensorRefs in place of tensors."""
    try:
        if zipfile.is_zipfile(path):
            return _load_zip(path)
        with open(path, "rb") as file:
            return _load_legacy(file)
    except ConversionError as error:
        raise ConversionError(f"{path}: {error}") from None
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, KeyError, ValueError,
            TypeError, struct.error) as error:
        raise ConversionError(f"{path}: cannot read as a PyTorch checkpoint: "
                              f"{type(error).__name__}: {error}") from None


# --- state dict -> named float32 arrays ----------------------------------------------------

def extract_state_dict(checkpoint, path):
    """Name -> TensorRef: unwraps {"state_dict": ...} and strips DataParallel "module."."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict):
        raise ConversionError(f"{path}: expected a state dict, found {type(checkpoint).__name__}")
    state = collections.OrderedDict()
    for name, value in checkpoint.items():
        if not isinstance(value, TensorRef):
            raise ConversionError(f"{path}: state dict entry {name!r} is a "
                                  f"{type(value).__name__}, not a tensor")
        while name.startswith("module."):
            name = name[len("module."):]
        if name in state:
            raise ConversionError(f"{path}: two entries are named {name!r} after stripping "
                                  "'module.'")
        state[name] = value
    return state


def to_float32_tensors(state, path):
    """Name -> float32 C-contiguous array; BatchNorm's integer step counter is dropped."""
    tensors = collections.OrderedDict()
    for name, ref in state.items():
        values = ref.to_numpy()
        if values.dtype.kind == "f":
            tensors[name] = np.ascontiguousarray(values, dtype="<f4")
        elif name.endswith("num_batches_tracked"):
            continue  # a training counter, not a parameter
        else:
            raise ConversionError(f"{path}: tensor {name!r} has integer type {values.dtype}; "
                                  "the weight format holds float32 only")
    return tensors


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_weight_file(path, tensors, attributes):
    """Writes to a temporary file in the target's folder, then renames it over `path`."""
    import h5py  # imported here so that --list works without h5py

    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.tmp-", dir=folder)
    os.close(handle)
    try:
        with h5py.File(temporary, "w") as file:
            file.attrs["format"] = FORMAT_NAME
            file.attrs["format_version"] = np.int64(FORMAT_VERSION)
            for key in ("architecture", "source", "input_range", "channel_order"):
                file.attrs[key] = attributes[key]
            for key in ("mean", "std"):
                file.attrs[key] = np.asarray(attributes[key], dtype=np.float64)
            group = file.create_group(TENSOR_GROUP)
            for name, values in tensors.items():
                group.create_dataset(name, data=values)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from others
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def attributes_for(path, args):
    """Architecture and preprocessing: command-line values override the known-file table."""
    known = KNOWN_CHECKPOINTS.get(os.path.basename(path), {})
    attributes = {
        "architecture": args.arch or known.get("architecture"),
        "mean": args.mean or known.get("mean"),
        "std": args.std or known.get("std"),
        "input_range": args.input_range or known.get("input_range", "0-1"),
        "channel_order": args.channel_order or known.get("channel_order", "RGB"),
        "source": f"{os.path.basename(path)} sha256:{sha256_of(path)}",
    }
    if not attributes["architecture"]:
        raise ConversionError(f"{path}: unknown checkpoint, pass --arch (and --mean/--std)")
    if attributes["mean"] is None or attributes["std"] is None:
        raise ConversionError(f"{path}: unknown checkpoint, pass --mean and --std")
    return attributes


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="PyTorch checkpoint (.pth, .th, .pt)")
    parser.add_argument("output", nargs="?", help="fsa weight file to write (.h5)")
    parser.add_argument("--arch", help="architecture name, e.g. cifar_resnet20")
    parser.add_argument("--mean", type=float, nargs=3, help="per-channel input mean")
    parser.add_argument("--std", type=float, nargs=3, help="per-channel input std")
    parser.add_argument("--input-range", help='input pixel range (default "0-1")')
    parser.add_argument("--channel-order", choices=("RGB", "BGR"), help="default RGB")
    parser.add_argument("--list", action="store_true", help="print names and shapes only")
    args = parser.parse_args(argv)
    if not args.list and args.output is None:
        parser.error("OUT is required unless --list is given")
    return args


def main(argv=None):
    args = parse_arguments(argv)
    try:
        state = extract_state_dict(load_checkpoint(args.input), args.input)
        tensors = to_float32_tensors(state, args.input)
        if args.list:
            for name, values in tensors.items():
                print(f"{name} {tuple(values.shape)}")
            return 0
        attributes = attributes_for(args.input, args)
        write_weight_file(args.output, tensors, attributes)
        print(f"wrote {args.output}: {len(tensors)} tensors, {attributes['architecture']}")
        return 0
    except (ConversionError, OSError) as error:
        print(f"convert_checkpoint.py: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
