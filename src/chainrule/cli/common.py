"""What every sub-command shares: the user-error type, a parser whose errors are one line,
strict parsers for option values (shared by the command line, TOML configs and saved runs),
safe opening of user files, and TOML config files.

A user mistake raises :class:`CommandError` (message, optional hint); ``main`` prints it as
``chainrule <command>: error: <message>`` plus the hint on a second line, exit code 2.
"""
import argparse
import math
import os
import re
import stat
import sys


class CommandError(Exception):
    """A user mistake: printed as one line (and an optional hint line), exit code 2."""

    exit_code, label = 2, "error"

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.message, self.hint = message, hint


class Diverged(CommandError):
    """Training stopped because the loss diverged (the message says why); exit code 3."""

    exit_code = 3


class Interrupted(CommandError):
    """Ctrl-C: the message says what was saved, the hint how to go on; exit code 130."""

    exit_code, label = 130, "interrupted"


class Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


# ---------------------------------------------------------------- option values

class ValueProblem(argparse.ArgumentTypeError):
    """A bad option value; argparse prints it as ``argument --name: <message>``."""


def _describe(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def integer(low=None, high=None):
    """A parser of whole numbers in [low, high]: digits only (no '2.0', '1e3' or True)."""
    def parse(value):
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,19}\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueProblem(f"expected a whole number, got {_describe(value)}")
        _in_range(value, low, high, f"{value:,}" if abs(value) >= 10000 else str(value))
        return value
    return parse


def number(low=None, high=None, low_open=False, high_open=False):
    """A parser of finite real numbers in the range (open or closed at either end)."""
    def parse(value):
        text = value
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueProblem(f"expected a number, got {_describe(text)}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueProblem(f"expected a number, got {_describe(text)}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueProblem(f"expected a finite number, got {_describe(text)}")
        _in_range(value, low, high, f"{value:g}", low_open, high_open)
        return value
    return parse


def _in_range(value, low, high, shown, low_open=False, high_open=False):
    if low is not None and (value <= low if low_open else value < low):
        raise ValueProblem(f"must be {'greater than' if low_open else 'at least'} {low:g}, "
                           f"got {shown}")
    if high is not None and (value >= high if high_open else value > high):
        raise ValueProblem(f"must be {'less than' if high_open else 'at most'} {high:g}, "
                           f"got {shown}")


def layer_sizes(largest):
    """A parser of hidden layer sizes: '128,64' or a TOML list [128, 64]; each a positive
    whole number of at most ``largest`` (the model's total size is checked later)."""
    def parse(value):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not items:
            raise ValueProblem(f"expected comma-separated layer sizes like 128,64, got "
                               f"{_describe(value)}")
        sizes = []
        for item in items:
            text = item.strip() if isinstance(item, str) else item
            if isinstance(text, str) and re.fullmatch(r"\d{1,19}", text):
                text = int(text)
            if isinstance(text, bool) or not isinstance(text, int):
                raise ValueProblem(f"expected comma-separated whole numbers like 128,64, got "
                                   f"{_describe(value)} ({_describe(item)} is not a whole "
                                   "number)")
            if text < 1:
                raise ValueProblem(f"layer sizes must be positive, got {text} in "
                                   f"{_describe(value)}")
            if text > largest:
                raise ValueProblem(f"layer size {text:,} is larger than {largest:,}, the "
                                   "largest allowed")
            sizes.append(text)
        return sizes
    return parse


def choice(names, pattern=None, pattern_help=None):
    """A parser of one of ``names`` (or a string matching ``pattern``, e.g. images:PATH)."""
    def parse(value):
        if isinstance(value, str) and (value in names or (
                pattern is not None and re.fullmatch(pattern, value))):
            return value
        extra = f" or {pattern_help}" if pattern_help else ""
        raise ValueProblem(f"unknown value {_describe(value)}; choose one of "
                           f"{', '.join(names)}{extra}")
    return parse


def path(value):
    """A parser of a file or directory name (a non-empty string without NUL)."""
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise ValueProblem(f"expected a file or directory name, got {_describe(value)}")
    return value


def output_file(*extensions):
    """A parser of an output file name with one of ``extensions`` (".png", ...)."""
    def parse(value):
        value = path(value)
        if not value.lower().endswith(extensions):
            raise ValueProblem(f"{_describe(value)} must end in {' or '.join(extensions)}")
        return value
    return parse


def boolean(value):
    """A parser of true/false (TOML booleans; flags on the command line)."""
    if isinstance(value, bool):
        return value
    raise ValueProblem(f"expected true or false, got {_describe(value)}")


# ---------------------------------------------------------------- user files

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def open_regular_file(name, what, max_bytes=None):
    """Open ``name`` for binary reading after checking, on the open descriptor, that it is a
    regular file of at most ``max_bytes``: a FIFO, a device (/dev/zero) or a directory fails
    at once instead of hanging or reading forever. Returns ``(file, size)``."""
    if not isinstance(name, str) or "\0" in name or not name:
        raise CommandError(f"{what} {name!r} is not a valid file name")
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CommandError(f"{what} {name} does not exist") from None
    except OSError as error:
        raise CommandError(f"{what} {name} cannot be opened ({error.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = next((k for test, k in _KINDS if test(info.st_mode)), "a special file")
        raise CommandError(f"{what} {name} is {kind}, not a regular file")
    if max_bytes is not None and info.st_size > max_bytes:
        os.close(fd)
        raise CommandError(f"{what} {name} is {info.st_size / 2**20:,.1f} MiB; the limit is "
                           f"{max_bytes / 2**20:,.0f} MiB")
    return os.fdopen(fd, "rb"), info.st_size


def check_regular_file(name, what):
    """Raise CommandError unless ``name`` is a readable regular file (see
    :func:`open_regular_file`)."""
    f, _ = open_regular_file(name, what)
    f.close()


# ---------------------------------------------------------------- TOML config files

def load_config(name, parsers):
    """Options from a TOML file, each checked by its parser; keys may use - or _; unknown
    keys are an error naming them."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    f, _ = open_regular_file(name, "config file", max_bytes=2**20)
    try:
        with f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as error:
        raise CommandError(f"config file {name} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise CommandError(f"config file {name} is not UTF-8 text") from None
    except RecursionError:
        raise CommandError(f"config file {name} is nested too deeply") from None
    return checked_options(raw, parsers, f"config file {name}")


def checked_options(raw, parsers, source):
    """``raw`` (a dict from a file) with every value run through its option's parser."""
    values = {str(k).replace("-", "_"): v for k, v in raw.items()}
    unknown = sorted(k for k in values if k not in parsers)
    if unknown:
        raise CommandError(f"{source}: unknown keys {', '.join(unknown)}",
                           hint=f"allowed: {', '.join(sorted(parsers))}")
    for key, value in values.items():
        try:
            values[key] = parsers[key](value)
        except ValueProblem as problem:
            raise CommandError(f"{source}: {key}: {problem}") from None
    return values


# ---------------------------------------------------------------- memory

def memory_budget():
    """Bytes a command may plan to allocate: 80% of the machine's memory, or of the address
    space limit (``ulimit -v``) when that is lower."""
    budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY:
            budget = min(budget, limit)
    except (ImportError, OSError, ValueError):
        pass
    return int(budget * 0.8)


def gib(n_bytes):
    """'1.5 GiB' (or MiB for less than a GiB)."""
    if n_bytes < 2**30:
        return f"{n_bytes / 2**20:,.0f} MiB"
    return f"{n_bytes / 2**30:,.1f} GiB"
