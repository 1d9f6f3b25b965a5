"""Reading and writing the safetensors format safely.

Writing goes through the ``safetensors`` package and is atomic: a temporary file
(``.tmp-*.safetensors``) in the same folder, locked while it is written, flushed and fsync'ed,
then renamed over the target (and the folder fsync'ed), so a crash or kill during a save leaves
the previous file whole. The temporary files a kill leaves behind are removed by
:func:`remove_stale_temp_files`, which every write runs on its folder.

Reading trusts nothing in the file. Before a byte is read, the path must be a regular file (a
FIFO, a device such as ``/dev/zero`` or a directory is refused without being opened for
reading). Then the header: its length must lie inside the file and under ``MAX_HEADER``; it
must be JSON nested at most ``MAX_DEPTH`` deep (checked before parsing, so no RecursionError)
with no duplicate keys; every tensor entry must have a known dtype, a shape of at most
``MAX_RANK`` non-negative ints, and a byte span inside the data area equal to
shape x itemsize; the spans must tile the data area exactly (no overlaps, no gaps), so the
total equals the file's size. Every failure is a :class:`CheckpointError` naming the file and
the field. Nothing is ever unpickled or executed.

Tensors are read straight into their arrays (no second copy of the file in memory), each in
its own dtype. ``BF16`` tensors are bfloat16 arrays (the ``ml_dtypes`` package's dtype, a core
dependency); only where ml_dtypes is missing are they widened to float32 arrays holding the
same values. bfloat16 arrays are written as ``BF16``.

>>> import os, tempfile, numpy
>>> path = write(os.path.join(tempfile.mkdtemp(), "a.safetensors"), {"x": numpy.arange(3.0)})
>>> arrays, metadata = read(path)
>>> arrays["x"].tolist(), metadata
([0.0, 1.0, 2.0], {})
"""
import json
import os
import stat
import struct
import tempfile
import time
from typing import NamedTuple

import numpy

from .. import backend
from ..errors import CheckpointError

try:                      # file locks tell a temporary file being written from a dead one
    import fcntl
except ImportError:       # pragma: no cover (Windows)
    fcntl = None

#: safetensors dtype name -> the NumPy dtype it is stored as (little-endian)
DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "BF16": "<u2",
          "I8": "i1", "I16": "<i2", "I32": "<i4", "I64": "<i8",
          "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}
MAX_HEADER = 100_000_000        # bytes, as the safetensors package allows
MAX_DEPTH = 64                  # nesting of JSON objects and arrays
MAX_RANK = 64                   # dimensions of one tensor
TEMP_PREFIX, TEMP_SUFFIX = ".tmp-", ".safetensors"
#: on systems without file locks, a temporary file younger than this may still be written
_UNLOCKED_TEMP_AGE = 600.0


class TensorEntry(NamedTuple):
    """One tensor of the header: where its bytes lie (relative to the data area)."""
    name: str
    dtype: str
    shape: tuple
    begin: int
    end: int


# ---------------------------------------------------------------- writing

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
    remove_stale_temp_files(directory)
    fd, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)      # released when the writer closes or dies
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


def remove_stale_temp_files(directory):
    """Delete the ``.tmp-*.safetensors`` files that killed writes left in ``directory``;
    returns their paths. A file another process is writing right now (it holds a lock on
    it) is left alone.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> open(os.path.join(folder, ".tmp-x1.safetensors"), "wb").close()
    >>> [os.path.basename(p) for p in remove_stale_temp_files(folder)]
    ['.tmp-x1.safetensors']
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in names:
        if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
            path = os.path.join(directory, name)
            if _is_abandoned(path):
                try:
                    os.unlink(path)
                    removed.append(path)
                except OSError:
                    pass
    return removed


def _is_abandoned(path):
    """True for a regular temp file that no living writer holds."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    if fcntl is None:
        return time.time() - info.st_mtime > _UNLOCKED_TEMP_AGE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


# ---------------------------------------------------------------- reading

def read(path):
    """Return ``(arrays, metadata)`` from a safetensors file, or raise CheckpointError."""
    with SafetensorsFile(path) as f:
        return f.read_arrays(), f.metadata


def read_header(path):
    """The validated header of a safetensors file, without reading any tensor data:
    ``(entries, metadata)`` with ``entries`` a dict name -> :class:`TensorEntry`."""
    with SafetensorsFile(path) as f:
        return f.entries, f.metadata


class SafetensorsFile:
    """An open safetensors file whose header has been checked; read its tensors with
    :meth:`read_arrays`. Use it as a context manager.

    >>> import os, tempfile, numpy
    >>> path = write(os.path.join(tempfile.mkdtemp(), "b.safetensors"), {"x": numpy.ones(2)})
    >>> with SafetensorsFile(path) as f:
    ...     f.entries["x"].shape, f.read_arrays(["x"])["x"].tolist()
    ((2,), [1.0, 1.0])
    """

    def __init__(self, path):
        self.path = str(path)
        self._file = _open_regular_file(self.path)
        try:
            self.size = os.fstat(self._file.fileno()).st_size
            self.entries, self.metadata, self.data_start = self._read_header()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._file.close()

    def _read_header(self):
        path = self.path
        if self.size < 8:
            raise CheckpointError(f"{path}: truncated — {self.size} bytes is too short for a "
                                  "safetensors file")
        (length,) = struct.unpack("<Q", self._read_exactly(0, 8))
        if length > MAX_HEADER or 8 + length > self.size:
            raise CheckpointError(f"{path}: not a safetensors file, or truncated (its header "
                                  f"claims {length} bytes, the file has {self.size}; at most "
                                  f"{MAX_HEADER} are allowed)")
        raw = self._read_exactly(8, length)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError(f"{path}: corrupted header (not UTF-8 text)") from None
        if not text.startswith("{"):
            raise CheckpointError(f"{path}: corrupted header (it must be a JSON object)")
        header = parse_json(text, f"{path}: header")
        entries, metadata = _check_header(path, header, self.size - 8 - length)
        return entries, metadata, 8 + length

    def _read_exactly(self, offset, count):
        self._file.seek(offset)
        data = self._file.read(count)
        if len(data) != count:
            raise CheckpointError(f"{self.path}: truncated while being read (wanted {count} "
                                  f"bytes at byte {offset}, got {len(data)})")
        return data

    def read_arrays(self, names=None):
        """name -> numpy array for ``names`` (default: every tensor), in file order."""
        wanted = self.entries if names is None else {n: self.entries[n] for n in names}
        arrays = {}
        for entry in sorted(wanted.values(), key=lambda e: (e.begin, e.end)):
            arrays[entry.name] = self._read_tensor(entry)
        return {name: arrays[name] for name in wanted}

    def _read_tensor(self, entry):
        array = numpy.empty(entry.shape, dtype=numpy.dtype(DTYPES[entry.dtype]))
        if array.nbytes:
            buffer = memoryview(array.reshape(-1).view(numpy.uint8))
            self._file.seek(self.data_start + entry.begin)
            filled = 0
            while filled < len(buffer):
                count = self._file.readinto(buffer[filled:])
                if not count:
                    raise CheckpointError(f"{self.path}: truncated while being read (tensor "
                                          f"{entry.name!r})")
                filled += count
        if entry.dtype == "BF16" and backend.bfloat16 is not None:
            return array.astype("=u2", copy=False).view(backend.bfloat16)    # same bits
        if entry.dtype == "BF16":           # the high half of a float32: same values
            array = (array.astype(numpy.uint32) << 16).view(numpy.float32)
        return array.astype(array.dtype.newbyteorder("="), copy=False)


def _open_regular_file(path):
    """Open ``path`` for reading only if it is a regular file: a FIFO would block, a device
    such as /dev/zero never ends, a directory has no bytes. Checked by stat before opening,
    and again on the opened descriptor (the path may have been swapped in between)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror})") from None
    _check_regular(path, info)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) |
                     getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        _check_regular(path, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb", buffering=0)


def _check_regular(path, info):
    if stat.S_ISREG(info.st_mode):
        return
    kind = ("a directory" if stat.S_ISDIR(info.st_mode) else
            "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else
            "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
            "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
    raise CheckpointError(f"{path}: is {kind}, not a checkpoint file")


# ---------------------------------------------------------------- JSON with limits

class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


_CHUNK = 1 << 20
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))


def nesting_depth(text):
    """How deeply JSON ``text`` nests objects and arrays (brackets inside strings do not
    count): escapes dropped, then everything but quotes and brackets — each a linear pass
    in C — and the depth counted over what is left, in chunks, outside the strings.

    >>> nesting_depth('{"a": [1, [2]], "b": "[[[", "c": "\\\\"}')
    3
    """
    # an escaped backslash first, so that in \\" the quote is seen to end the string
    text = text.replace("\\\\", "").replace('\\"', "")
    structure = text.encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE)
    inside = depth = deepest = 0
    for start in range(0, len(structure), _CHUNK):
        chunk = numpy.frombuffer(structure[start:start + _CHUNK], dtype=numpy.uint8)
        in_string = (numpy.cumsum(chunk == ord('"'), dtype=numpy.int64) + inside) & 1
        outside = in_string == 0
        opening = ((chunk == ord("[")) | (chunk == ord("{"))) & outside
        closing = ((chunk == ord("]")) | (chunk == ord("}"))) & outside
        running = depth + numpy.cumsum(opening.astype(numpy.int64) - closing)
        deepest = max(deepest, int(running.max()))
        depth, inside = int(running[-1]), int(in_string[-1])
    return deepest


def parse_json(text, where, max_depth=MAX_DEPTH):
    """``json.loads`` for untrusted text: nesting depth at most ``max_depth`` (checked
    first, so parsing cannot recurse too deep), no duplicate keys in any object; any failure
    is a CheckpointError starting with ``where``.

    >>> parse_json('{"a": 1}', "x")
    {'a': 1}
    >>> parse_json('{"a": 1, "a": 2}', "x")
    Traceback (most recent call last):
    ...
    chainrule.errors.CheckpointError: x: the key 'a' appears twice
    """
    if not isinstance(text, str):
        raise CheckpointError(f"{where}: expected JSON text, got {type(text).__name__}")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise CheckpointError(f"{where}: JSON nested {depth} levels deep (at most "
                              f"{max_depth} are allowed)")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as duplicate:
        raise CheckpointError(f"{where}: the key {duplicate.args[0]!r} appears twice") from None
    except (ValueError, RecursionError) as error:     # ValueError: JSONDecodeError, int size
        raise CheckpointError(f"{where}: not valid JSON ({error})") from None


# ---------------------------------------------------------------- the header's fields

def _check_header(path, header, data_length):
    """Entries and metadata of a parsed header, every field checked."""
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupted header (not a JSON object)")
    metadata = header.get("__metadata__")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict) or not all(isinstance(v, str)
                                                   for v in metadata.values()):
        raise CheckpointError(f"{path}: corrupted header field '__metadata__' (it must map "
                              "strings to strings)")
    entries = {name: _check_entry(path, name, entry, data_length)
               for name, entry in header.items() if name != "__metadata__"}
    _check_spans(path, entries, data_length)
    return entries, metadata


def _check_entry(path, name, entry, data_length):
    where = f"{path}: tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise CheckpointError(f"{where}: corrupted header entry (needs exactly dtype, shape "
                              f"and data_offsets; found {found})")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise CheckpointError(f"{where}: unsupported dtype {_short(dtype)} (known: "
                              f"{', '.join(DTYPES)})")
    if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(
            _is_int(n) and n >= 0 for n in shape):
        raise CheckpointError(f"{where}: invalid shape {_short(shape)} (a list of at most "
                              f"{MAX_RANK} non-negative integers)")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(n) for n in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_length):
        raise CheckpointError(f"{where}: data_offsets {_short(offsets)} lie outside the "
                              f"{data_length} data bytes")
    itemsize = numpy.dtype(DTYPES[dtype]).itemsize
    expected = itemsize
    for n in shape:
        expected *= n
    if offsets[1] - offsets[0] != expected:
        raise CheckpointError(f"{where}: shape {shape} of dtype {dtype} needs {expected} bytes "
                              f"but its data_offsets span {offsets[1] - offsets[0]}")
    addressable = itemsize
    for n in shape:
        addressable *= max(n, 1)
    if addressable >= 2**62:                    # empty, but NumPy could not index it
        raise CheckpointError(f"{where}: shape {shape} is too large for an array")
    return TensorEntry(name, dtype, tuple(shape), offsets[0], offsets[1])


def _check_spans(path, entries, data_length):
    """The tensors' byte spans must tile the data area: no overlap, no gap, nothing after."""
    position = 0
    for entry in sorted(entries.values(), key=lambda e: (e.begin, e.end)):
        if entry.begin != position:
            problem = "overlaps another tensor" if entry.begin < position else "leaves a gap"
            raise CheckpointError(f"{path}: tensor {entry.name!r}: data_offsets "
                                  f"[{entry.begin}, {entry.end}] {problem} (the previous "
                                  f"tensor ends at byte {position})")
        position = entry.end
    if position != data_length:
        raise CheckpointError(f"{path}: truncated or padded — the tensors need {position} "
                              f"bytes of data, the file holds {data_length}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
