"""What every sub-command shares: one-line errors with exit code 2, TOML configs, options."""
import argparse
import sys

from ..errors import ConfigError


class CommandError(Exception):
    """A user mistake on the command line: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def load_config(path, allowed):
    """Options from a TOML file; keys may use - or _; unknown keys are an error naming them."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    values = {str(k).replace("-", "_"): v for k, v in raw.items()}
    unknown = sorted(k for k in values if k not in allowed)
    if unknown:
        raise ConfigError(f"config file {path}: unknown keys {', '.join(unknown)}; allowed: "
                          f"{', '.join(sorted(allowed))}")
    return values


def merge_options(args, defaults, config_path_attr="config"):
    """Command line beats config file beats defaults. Argparse defaults must be None."""
    path = getattr(args, config_path_attr, None)
    config = load_config(path, set(defaults)) if path else {}
    for key, default in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, config.get(key, default))
    return args


def int_list(text):
    """'128,128,128' -> [128, 128, 128]."""
    if isinstance(text, (list, tuple)):
        return [int(v) for v in text]
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return values
