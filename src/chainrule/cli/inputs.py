"""Reading the samples ``chainrule predict`` is given, trusting nothing: .npy and .csv files
(and, for models trained on images, image files or a folder of them).

Before any data is read the file must be a regular file (a FIFO or /dev/zero fails at once)
within a size limit; a .npy header is checked (no pickles, a real numeric dtype, at least one
dimension and one sample, a data size that matches the file); every value must be a finite
real number (NaN, inf, 1e400, complex numbers are refused, naming the row).
"""
import math
import os
import warnings

import numpy

from .common import CommandError, open_regular_file

MAX_NPY_BYTES = 2**30
MAX_CSV_BYTES = 2**27
NUMERIC_KINDS = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats"}


def read_samples(name, raw_shape):
    """The samples in a .npy or .csv file as float32 of shape ``(n, *raw_shape)`` (flattened
    ``(n, features)`` rows are accepted too; the preprocessing reshapes them)."""
    lower = name.lower()
    if lower.endswith(".npy"):
        x, row = _read_npy(name), (lambda i: f"the sample at index {i}")
    elif lower.endswith(".csv"):
        x, lines = _read_csv(name)
        row = (lambda i: f"line {lines[i]}")
    else:
        raise CommandError(f"--input {name}: use a .npy or .csv file (one sample per row)")
    x = _as_samples(x, raw_shape, name)
    return _finite_float32(x, name, row)


# ---------------------------------------------------------------- .npy

def _read_npy(name):
    f, size = open_regular_file(name, "--input", MAX_NPY_BYTES)
    with f:
        try:
            version = numpy.lib.format.read_magic(f)
            shape, fortran_order, dtype = _npy_header(f, version)
        except (ValueError, SyntaxError, TypeError, OverflowError):
            raise CommandError(f"--input {name} is not a .npy file (its header cannot be "
                               "read)") from None
        _check_npy_header(name, shape, dtype)
        expected = math.prod(shape) * dtype.itemsize
        offset = f.tell()
        if size - offset != expected:
            raise CommandError(f"--input {name}: its header says {shape} {dtype} ({expected:,} "
                               f"bytes of data) but the file holds {size - offset:,} bytes "
                               "(truncated or corrupted)")
        data = numpy.frombuffer(f.read(expected), dtype=dtype)
    return data.reshape(shape, order="F" if fortran_order else "C")


def _npy_header(f, version):
    if version == (1, 0):
        return numpy.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return numpy.lib.format.read_array_header_2_0(f)
    raise ValueError(f"unsupported .npy version {version}")


def _check_npy_header(name, shape, dtype):
    if dtype.hasobject:
        raise CommandError(f"--input {name} holds Python objects (it would need unpickling); "
                           "only plain numeric arrays are read")
    if dtype.kind == "c":
        raise CommandError(f"--input {name} holds complex numbers ({dtype}); predict needs "
                           "real numbers")
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None:
        raise CommandError(f"--input {name} holds {dtype} values; predict needs real numbers "
                           "(floats or integers)")
    if len(shape) == 0:
        raise CommandError(f"--input {name} holds a single number (a 0-d array); give one "
                           "sample per row, shape (n, features)")
    if 0 in shape:
        raise CommandError(f"--input {name} is empty (shape {shape}); give at least one "
                           "sample")


# ---------------------------------------------------------------- .csv

def _read_csv(name):
    """(values of shape (rows, columns), the file's line number of each row)."""
    f, _ = open_regular_file(name, "--input", MAX_CSV_BYTES)
    with f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CommandError(f"--input {name} is not UTF-8 text") from None
    rows = [(number, line.split(",")) for number, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]
    if rows and all(_is_name(field) for field in rows[0][1]):
        rows = rows[1:]                                   # a header line of column names
    if not rows:
        raise CommandError(f"--input {name} holds no rows of numbers")
    width, first = len(rows[0][1]), rows[0][0]
    values = []
    for number, fields in rows:
        if len(fields) != width:
            raise CommandError(f"--input {name}: line {number} has {len(fields)} values but "
                               f"line {first} has {width}")
        values.append([_real(field, name, number, column)
                       for column, field in enumerate(fields, 1)])
    return numpy.array(values, dtype=numpy.float64), [number for number, _ in rows]


def _is_name(field):
    text = field.strip()
    if not text:
        return False
    try:
        complex(text.replace(" ", ""))
        return False
    except ValueError:
        return True


def _real(field, name, line, column):
    try:
        return float(field)
    except ValueError:
        pass
    text = field.strip()
    try:
        complex(text.replace(" ", ""))
        what = "a complex number; predict needs real numbers"
    except ValueError:
        what = "not a number"
    raise CommandError(f"--input {name}: line {line}, column {column}: {text[:40]!r} is {what}")


# ---------------------------------------------------------------- shape and values

def _as_samples(x, raw_shape, name):
    features = math.prod(raw_shape)
    if x.ndim == 1:
        if raw_shape == (1,):
            return x.reshape(-1, 1)                       # n samples of one feature
        if x.size == features:
            return x.reshape(1, -1)                       # one sample
        raise CommandError(f"--input {name}: a 1-d array of {x.size} values is neither one "
                           f"sample of {features} features nor samples of one feature")
    return x


def _finite_float32(x, name, row):
    with numpy.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        as_float32 = x.astype(numpy.float32)
        finite = numpy.isfinite(as_float32.reshape(len(x), -1)).all(axis=1)
        if finite.all():
            return as_float32
        i = int(numpy.argmin(finite))
        sample = numpy.asarray(x[i], dtype=numpy.float64).ravel()
        bad = float(sample[~numpy.isfinite(sample.astype(numpy.float32))][0])
    if math.isnan(bad):
        what = "NaN"
    elif math.isinf(bad):
        what = "an infinite value (or one beyond every float, like 1e400)"
    else:
        what = f"{bad:g}, beyond float32's range"
    raise CommandError(f"--input {name}: {row(i)} holds {what}; predict needs finite real "
                       "numbers")


def check_output_path(name, option):
    """An output file may be written there: not a directory, and its folder exists."""
    folder = os.path.dirname(os.path.abspath(name))
    if os.path.isdir(name):
        raise CommandError(f"{option} {name} is a directory; give a file name")
    if not os.path.isdir(folder):
        raise CommandError(f"{option} {name}: the folder {folder} does not exist")
