"""Reading and writing the safetensors format safely.

Writing goes through the ``safetensors`` package and is atomic: a temporary file in the same
folder, flushed and fsync'ed, then renamed over the target (and the folder fsync'ed), so a
crash or kill during a save leaves the previous file whole. Reading validates the header
itself first (size, JSON, dtypes, shapes, offsets) so a truncated, corrupted, lying or
foreign file is a :class:`CheckpointError` naming the file and the problem — and nothing is
ever unpickled or executed.
"""
import json
import os
import struct
import tempfile

import numpy

from ..errors import CheckpointError

DTYPES = {"F16": numpy.float16, "F32": numpy.float32, "F64": numpy.float64,
          "I8": numpy.int8, "I16": numpy.int16, "I32": numpy.int32, "I64": numpy.int64,
          "U8": numpy.uint8, "U16": numpy.uint16, "U32": numpy.uint32, "U64": numpy.uint64,
          "BOOL": numpy.bool_}
MAX_HEADER = 100 * 2**20


def _package():
    try:
        import safetensors.numpy
    except ImportError as error:
        raise ImportError("checkpoints use safetensors: pip install 'chainrule[io]'") from error
    return safetensors.numpy


def write(path, arrays, metadata=None):
    """Atomically write ``arrays`` (name -> numpy array) with string ``metadata``."""
    # (numpy.ascontiguousarray would turn 0-d scalars into 1-d arrays)
    data = _package().save({k: numpy.require(v, requirements="C") for k, v in arrays.items()},
                           metadata=metadata)
    directory = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)
    return path


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read(path):
    """Return ``(arrays, metadata)`` from a safetensors file, or raise CheckpointError."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror})") from None
    header, data_start = _parse_header(path, raw)
    metadata = header.pop("__metadata__", None) or {}
    arrays = {}
    data = memoryview(raw)[data_start:]
    for name, entry in header.items():
        dtype = numpy.dtype(DTYPES[entry["dtype"]])
        begin, end = entry["data_offsets"]
        arrays[name] = numpy.frombuffer(data[begin:end], dtype=dtype).reshape(
            entry["shape"]).copy()
    return arrays, metadata


def _parse_header(path, raw):
    if len(raw) < 8:
        raise CheckpointError(f"{path}: truncated — {len(raw)} bytes is too short for a "
                              "safetensors file")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > MAX_HEADER or 8 + size > len(raw):
        raise CheckpointError(f"{path}: not a safetensors file, or truncated (its header "
                              f"claims {size} bytes, the file has {len(raw)})")
    try:
        header = json.loads(bytes(raw[8:8 + size]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{path}: corrupted header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupted header (not a JSON object)")
    data_length = len(raw) - 8 - size
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            if entry is not None and (not isinstance(entry, dict) or not all(
                    isinstance(v, str) for v in entry.values())):
                raise CheckpointError(f"{path}: corrupted header (__metadata__ must map "
                                      "strings to strings)")
            continue
        _check_entry(path, name, entry, data_length)
        spans.append(tuple(entry["data_offsets"]))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise CheckpointError(f"{path}: corrupted header (tensor data overlaps or leaves "
                                  f"gaps at byte {begin})")
        position = end
    if position != data_length:
        raise CheckpointError(f"{path}: truncated or padded — tensors need {position} bytes of "
                              f"data, the file holds {data_length}")
    return header, 8 + size


def _check_entry(path, name, entry, data_length):
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{path}: corrupted header entry for {name!r}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise CheckpointError(f"{path}: tensor {name!r} has unsupported dtype {dtype!r}")
    if not (isinstance(shape, list) and all(isinstance(n, int) and 0 <= n < 2**40
                                            for n in shape)):
        raise CheckpointError(f"{path}: tensor {name!r} has an invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and
            all(isinstance(n, int) for n in offsets) and 0 <= offsets[0] <= offsets[1]
            <= data_length):
        raise CheckpointError(f"{path}: tensor {name!r} has offsets {offsets!r} outside the "
                              f"{data_length} data bytes")
    expected = int(numpy.prod(shape, dtype=object)) * numpy.dtype(DTYPES[dtype]).itemsize
    if offsets[1] - offsets[0] != expected:
        raise CheckpointError(f"{path}: tensor {name!r} of shape {shape} and dtype {dtype} "
                              f"needs {expected} bytes but its offsets span "
                              f"{offsets[1] - offsets[0]}")
