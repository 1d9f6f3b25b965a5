"""Reading PyTorch checkpoints (files written by ``torch.save``) without PyTorch, safely.

A ``.pt`` file is a pickle whose tensors point at raw storages stored beside it: in a zip
archive (``torch.save``'s format since 1.6) or after the pickle in one stream (the legacy
format, ``_use_new_zipfile_serialization=False``). Unpickling an arbitrary pickle runs
whatever code it names, so the pickle is read by a restricted unpickler: the only globals it
resolves are an allow-list (the tensor-rebuilding functions, storage classes and dtypes of
``torch``, ``collections.OrderedDict`` and a few builtin containers), each replaced by
chainrule's own reconstruction. Any other global — ``os.system``, ``builtins.eval``, a
user's class — is a :class:`CheckpointError` naming it, raised before anything is called.

Storage offsets, strides and views sharing one storage are honoured; each loaded tensor owns
a contiguous copy of its values. bfloat16 tensors come back as bfloat16 (ml_dtypes' dtype;
widened to float32, exactly the same values, only where ml_dtypes is missing). Sizes,
offsets and strides are checked against the
storage they read, so a lying or truncated file is refused rather than read out of bounds.

>>> import torch                                                # doctest: +SKIP
>>> torch.save(torch.nn.Linear(3, 2).state_dict(), "linear.pt")  # doctest: +SKIP
>>> {name: tuple(t.shape) for name, t in load_torch("linear.pt").items()}  # doctest: +SKIP
{'weight': (2, 3), 'bias': (2,)}
"""
import io
import os
import pickle
import pickletools
import struct
import zipfile
from collections import OrderedDict

import numpy

from .. import backend
from ..errors import CheckpointError
from ..tensor import Tensor

#: torch's typed storage classes -> the dtype of their elements
STORAGE_DTYPES = {"FloatStorage": "float32", "DoubleStorage": "float64",
                  "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
                  "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
                  "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool"}
#: torch dtypes chainrule can hold (bfloat16 as ml_dtypes' bfloat16)
TORCH_DTYPES = {"float32": "float32", "float": "float32", "float64": "float64",
                "double": "float64", "float16": "float16", "half": "float16",
                "bfloat16": "bfloat16", "int64": "int64", "long": "int64", "int32": "int32",
                "int": "int32", "int16": "int16", "short": "int16", "int8": "int8",
                "uint8": "uint8", "bool": "bool", "uint16": "uint16", "uint32": "uint32",
                "uint64": "uint64"}
ITEMSIZE = {"bfloat16": 2, **{name: numpy.dtype(name).itemsize
                              for name in set(TORCH_DTYPES.values()) - {"bfloat16"}}}
#: a tensor may have more elements than its storage only by repeating them (stride 0); more
#: than this many is refused as a memory bomb
MAX_EXPANDED_ELEMENTS = 2**27
LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
LEGACY_PROTOCOL = 1001


# ---------------------------------------------------------------- what the pickle may name

class _StorageType:
    """Stands for ``torch.FloatStorage`` & co. (``dtype`` None: ``UntypedStorage``, bytes)."""

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype


class _DType:
    """Stands for a torch dtype global such as ``torch.float32``."""

    def __init__(self, name):
        self.name = name


class _TensorType:
    """Stands for ``torch.Tensor`` / ``torch.nn.Parameter`` in ``_rebuild_from_type_v2``."""


class _Storage:
    """One storage's raw little-endian bytes and the dtype its class declares."""

    def __init__(self, key, raw, dtype):
        self.key, self.raw, self.dtype = key, raw, dtype


def _ints(value, what, path):
    if not isinstance(value, (tuple, list)) or not all(type(v) is int for v in value):
        raise CheckpointError(f"{path}: a tensor's {what} is not a tuple of integers: "
                              f"{value!r:.80}")
    return tuple(value)


def _numpy_dtype(name, big_endian):
    if name == "bfloat16":
        name = "uint16"
    dtype = numpy.dtype(name)
    return dtype.newbyteorder(">") if big_endian and dtype.itemsize > 1 else dtype


class _Rebuilder:
    """chainrule's versions of torch's tensor-rebuilding functions, checking every number."""

    def __init__(self, path, big_endian):
        self.path, self.big_endian = path, big_endian

    def tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False,
                  backward_hooks=None, metadata=None):
        if not isinstance(storage, _Storage):
            raise CheckpointError(f"{self.path}: a tensor's storage is not a storage record")
        if storage.dtype is None:
            raise CheckpointError(f"{self.path}: tensor on an untyped storage without a dtype")
        return self._build(storage, storage.dtype, storage_offset, size, stride, requires_grad)

    def tensor_v3(self, storage, storage_offset, size, stride, requires_grad, backward_hooks,
                  dtype, metadata=None):
        if not isinstance(storage, _Storage) or not isinstance(dtype, _DType):
            raise CheckpointError(f"{self.path}: malformed tensor record (_rebuild_tensor_v3)")
        return self._build(storage, dtype.name, storage_offset, size, stride, requires_grad)

    def parameter(self, data, requires_grad, backward_hooks, state=None):
        if not isinstance(data, Tensor):
            raise CheckpointError(f"{self.path}: a parameter record holds no tensor")
        if requires_grad is True and data.dtype.kind == "f":
            data.requires_grad_(True)
        return data

    def from_type(self, func, new_type, args, state):
        if not isinstance(new_type, _TensorType) or not isinstance(args, tuple) or \
                func not in (self.tensor_v2, self.tensor_v3, self.parameter):
            raise CheckpointError(f"{self.path}: malformed tensor record "
                                  "(_rebuild_from_type_v2)")
        return func(*args)

    def _build(self, storage, dtype, offset, size, stride, requires_grad):
        if dtype not in ITEMSIZE:
            raise CheckpointError(f"{self.path}: tensor dtype {dtype} is not supported")
        size, stride = _ints(size, "size", self.path), _ints(stride, "stride", self.path)
        if type(offset) is not int or len(size) != len(stride) or \
                min((offset,) + size + stride) < 0:
            raise CheckpointError(f"{self.path}: invalid tensor layout: offset {offset!r:.40}, "
                                  f"size {size}, stride {stride}")
        itemsize = ITEMSIZE[dtype]
        if len(storage.raw) % itemsize:
            raise CheckpointError(f"{self.path}: storage {storage.key} holds "
                                  f"{len(storage.raw)} bytes, not a whole number of {dtype}")
        available = len(storage.raw) // itemsize
        count = 1
        for n in size:
            count *= n
        if count == 0:
            return self._tensor(numpy.zeros(size, _numpy_dtype(dtype, False)), dtype,
                                requires_grad)
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= available:
            raise CheckpointError(f"{self.path}: tensor of size {size}, stride {stride} at "
                                  f"offset {offset} reads element {last} of storage "
                                  f"{storage.key}, which holds {available}")
        if count > available and count > MAX_EXPANDED_ELEMENTS:
            raise CheckpointError(f"{self.path}: tensor of size {size} has {count} elements "
                                  f"from a storage of {available}: refused as too large")
        flat = numpy.frombuffer(storage.raw, _numpy_dtype(dtype, self.big_endian))
        view = numpy.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                                  strides=[s * itemsize for s in stride])
        return self._tensor(view, dtype, requires_grad)

    @staticmethod
    def _tensor(view, dtype, requires_grad):
        if dtype == "bfloat16" and backend.bfloat16 is not None:    # same bits
            array = numpy.array(view, dtype="=u2", order="C").view(backend.bfloat16)
        elif dtype == "bfloat16":  # the top half of a float32: widening is exact
            array = (view.astype(numpy.uint32) << 16).view(numpy.float32)
        else:
            array = numpy.array(view, dtype=view.dtype.newbyteorder("="), order="C")
        tensor = Tensor._make(array, None)
        if requires_grad is True and backend.is_floating(array.dtype):
            tensor.requires_grad_(True)
        return tensor


def _latin1_bytes(text, encoding=None):
    """``_codecs.encode``: how protocol-2 pickles spell a bytes object."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", None):
        raise CheckpointError("refusing _codecs.encode with anything but latin1 text")
    return text.encode("latin1")


def _allowed_globals(rebuild):
    allowed = {
        ("collections", "OrderedDict"): OrderedDict,
        ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
        ("builtins", "complex"): complex, ("builtins", "slice"): slice,
        ("builtins", "bytearray"): bytearray, ("_codecs", "encode"): _latin1_bytes,
        ("torch._utils", "_rebuild_tensor_v2"): rebuild.tensor_v2,
        ("torch._utils", "_rebuild_tensor_v3"): rebuild.tensor_v3,
        ("torch._utils", "_rebuild_parameter"): rebuild.parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): rebuild.parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): rebuild.from_type,
        ("torch", "Tensor"): _TensorType(), ("torch.nn.parameter", "Parameter"): _TensorType(),
        ("torch", "UntypedStorage"): _StorageType("UntypedStorage", None),
        ("torch.storage", "UntypedStorage"): _StorageType("UntypedStorage", None),
    }
    for name, dtype in STORAGE_DTYPES.items():
        allowed[("torch", name)] = _StorageType(name, dtype)
    for name, dtype in TORCH_DTYPES.items():
        allowed[("torch", name)] = _DType(dtype)
    return allowed


# ---------------------------------------------------------------- the restricted unpickler

class _RestrictedUnpickler(pickle._Unpickler):
    """Python's own unpickler (the pure-Python one, whose opcodes can be overridden) with
    ``find_class`` limited to the allow-list and ``BUILD`` limited to plain state on an
    OrderedDict (a state_dict's ``_metadata``), so no pickled object can run code."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, stream, path, storages, rebuild):
        super().__init__(stream, fix_imports=True, encoding="utf-8")
        self.path, self.storages = path, storages
        self.allowed = _allowed_globals(rebuild)

    def find_class(self, module, name):
        if module == "__builtin__":
            module = "builtins"
        if (module, name) not in self.allowed:
            hint = "; a whole pickled model? save model.state_dict() instead" \
                if module.startswith(("torch.nn.", "__main__")) else ""
            raise CheckpointError(f"{self.path}: refusing to load global {module}.{name}: "
                                  "load_torch rebuilds only tensors, storages and plain "
                                  "containers (a pickle naming anything else could run "
                                  f"code){hint}")
        return self.allowed[(module, name)]

    def persistent_load(self, pid):
        return self.storages(pid)

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is not OrderedDict or not isinstance(state, dict) or \
                not all(isinstance(k, str) for k in state):
            raise CheckpointError(f"{self.path}: refusing to set the state of a "
                                  f"{type(inst).__name__} (pickle BUILD)")
        inst.__dict__.update(state)

    dispatch[pickle.BUILD[0]] = load_build


def _unpickle(stream, path, storages, rebuild):
    """One pickle from ``stream`` (left positioned after it) through the restricted unpickler;
    ``storages(pid)`` resolves storage references (None: the pickle may hold none)."""
    def no_storages(pid):
        raise CheckpointError(f"{path}: unexpected storage reference in a header pickle")
    try:
        return _RestrictedUnpickler(stream, path, storages or no_storages,
                                    rebuild or _Rebuilder(path, False)).load()
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(f"{path}: the pickle nests too deeply") from None
    except Exception as error:  # noqa: BLE001 - a broken pickle raises many kinds
        raise CheckpointError(f"{path}: not a readable PyTorch pickle "
                              f"({type(error).__name__}: {error})") from None


def _storage_record(pid, path, legacy):
    """Check a persistent id ``('storage', type, key, location, numel[, view])``."""
    if not isinstance(pid, tuple) or len(pid) != (6 if legacy else 5) or pid[0] != "storage":
        raise CheckpointError(f"{path}: unexpected persistent id {pid!r:.80}")
    storage_type, key, numel = pid[1], pid[2], pid[4]
    if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or \
            type(numel) is not int or numel < 0:
        raise CheckpointError(f"{path}: malformed storage record {pid!r:.80}")
    if legacy and pid[5] is not None:
        raise CheckpointError(f"{path}: storage views of the pre-1.0 format are not supported")
    nbytes = numel * (ITEMSIZE[storage_type.dtype] if storage_type.dtype else 1)
    return storage_type, key, nbytes


# ---------------------------------------------------------------- the zip format

def _zip_prefix(names, path):
    pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise CheckpointError(f"{path}: a zip file, but not one written by torch.save "
                              "(no single <archive>/data.pkl)")
    return pickles[0][:-len("data.pkl")]


def _read_entry(archive, name, expected, path):
    """Read one zip entry, refusing sizes that do not match or would inflate unboundedly."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise CheckpointError(f"{path}: missing record {name}") from None
    if expected is not None and info.file_size != expected:
        raise CheckpointError(f"{path}: record {name} holds {info.file_size} bytes, the "
                              f"pickle says {expected}")
    if info.compress_type != zipfile.ZIP_STORED and \
            info.file_size > 1024 * info.compress_size + 2**20:
        raise CheckpointError(f"{path}: record {name} would inflate to {info.file_size} bytes "
                              f"from {info.compress_size}: refused")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError) as error:
        raise CheckpointError(f"{path}: record {name} is corrupted or truncated "
                              f"({error})") from None


def _load_zip(file, path):
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable zip file, truncated or corrupted "
                              f"({error})") from None
    with archive:
        names = archive.namelist()
        prefix = _zip_prefix(names, path)
        byteorder = b"little"
        if prefix + "byteorder" in names:
            byteorder = _read_entry(archive, prefix + "byteorder", None, path).strip()
        if byteorder not in (b"little", b"big"):
            raise CheckpointError(f"{path}: unknown byte order {byteorder[:20]!r}")
        loaded = {}

        def storages(pid):
            storage_type, key, nbytes = _storage_record(pid, path, legacy=False)
            if key not in loaded:
                raw = _read_entry(archive, f"{prefix}data/{key}", nbytes, path)
                loaded[key] = _Storage(key, raw, storage_type.dtype)
            elif len(loaded[key].raw) != nbytes:
                raise CheckpointError(f"{path}: storage {key} is declared with two sizes")
            return loaded[key]

        data = _read_entry(archive, prefix + "data.pkl", None, path)
        return _unpickle(io.BytesIO(data), path, storages,
                         _Rebuilder(path, byteorder == b"big"))


# ---------------------------------------------------------------- the legacy format

class _ScanRebuilder(_Rebuilder):
    """First pass over a legacy pickle: learn which storages it uses, build nothing."""

    def _build(self, storage, dtype, offset, size, stride, requires_grad):
        return None

    def parameter(self, data, requires_grad, backward_hooks, state=None):
        return None


def _load_legacy(data, path):
    """Pickles in one stream: magic, protocol, system info, the object, the storage keys,
    then each storage as an int64 element count and its bytes. The object's pickle comes
    before the bytes its tensors need, so it is read twice: once to learn the storages'
    types, once, after reading their bytes, to rebuild the tensors."""
    stream = io.BytesIO(data)
    for expected in (LEGACY_MAGIC, LEGACY_PROTOCOL):
        if _unpickle(stream, path, None, None) != expected:
            raise CheckpointError(f"{path}: not a file written by torch.save (unknown header)")
    system = _unpickle(stream, path, None, None)
    big_endian = isinstance(system, dict) and system.get("little_endian", True) is False
    declared = {}

    def scan(pid):
        storage_type, key, nbytes = _storage_record(pid, path, legacy=True)
        if declared.setdefault(key, (storage_type, nbytes))[1] != nbytes:
            raise CheckpointError(f"{path}: storage {key} is declared with two sizes")
        return _Storage(key, b"", storage_type.dtype)

    start = stream.tell()
    _unpickle(stream, path, scan, _ScanRebuilder(path, big_endian))
    keys = _unpickle(stream, path, None, None)
    if not isinstance(keys, list) or set(keys) != set(declared):
        raise CheckpointError(f"{path}: the storage list does not match the tensors")
    loaded = {}
    for key in keys:
        storage_type, nbytes = declared[key]
        itemsize = ITEMSIZE[storage_type.dtype] if storage_type.dtype else 1
        head = stream.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: truncated before storage {key}")
        count = struct.unpack(">q" if big_endian else "<q", head)[0]
        if count * itemsize != nbytes:
            raise CheckpointError(f"{path}: storage {key} holds {count} elements, the pickle "
                                  f"says {nbytes // itemsize}")
        raw = stream.read(nbytes)
        if len(raw) < nbytes:
            raise CheckpointError(f"{path}: truncated inside storage {key}")
        loaded[key] = _Storage(key, raw, storage_type.dtype)
    stream.seek(start)
    return _unpickle(stream, path, lambda pid: loaded[_storage_record(pid, path, True)[1]],
                     _Rebuilder(path, big_endian))


# ---------------------------------------------------------------- entry point

def load_torch(path):
    """Load a file written by ``torch.save`` (zip or legacy format) without PyTorch.

    Tensors come back as chainrule Tensors (bfloat16 as bfloat16), inside the same dicts,
    OrderedDicts, lists and tuples; a model's state_dict loads straight into the chainrule
    twin with PyTorch's names. Anything but tensors and plain containers — a pickled class,
    a function, code — is refused with a CheckpointError naming it; nothing is executed.

    A pickle that names anything else is refused before it can run:

    >>> import os, pickle, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "evil.pt")
    >>> with open(path, "wb") as f:
    ...     pickle.dump(print, f, protocol=2)
    >>> load_torch(path)
    Traceback (most recent call last):
    ...
    chainrule.errors.CheckpointError: ...evil.pt: refusing to load global builtins.print: ...
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file") from None
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return _load_zip(io.BytesIO(data), path)
    if len(data) > 262 and data[257:262] == b"ustar":
        raise CheckpointError(f"{path}: the pre-1.0 tar format of torch.save is not "
                              "supported; load and re-save it with a recent PyTorch")
    if not _starts_with_a_pickle(data):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (neither torch.save's zip "
                              "nor its legacy pickle format)")
    return _load_legacy(data, path)


def _starts_with_a_pickle(data):
    """Whether ``data`` begins with a well-formed pickle (parsed, never run)."""
    try:
        for opcode, _, _ in pickletools.genops(io.BytesIO(data)):
            if opcode.name == "STOP":
                return True
    except Exception:  # noqa: BLE001 - whatever genops raises, it is not a pickle
        return False
    return False
