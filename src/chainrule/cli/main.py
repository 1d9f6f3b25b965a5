"""``chainrule``: the command-line entry point, and its one error path.

Each group of sub-commands lives in a module of ``chainrule.cli`` with an
``add_parsers(subparsers)`` function; listing the module in ``COMMAND_MODULES`` registers it.

Exit codes: 0 done; 2 a user mistake (bad option, file, key or value), printed as one line
``chainrule <command>: error: <what is wrong>`` and maybe a hint line; 3 training diverged;
130 interrupted (Ctrl-C); 1 an internal bug, printed with its traceback so it can be found.
"""
import importlib
import os
import sys
import traceback

from .common import CommandError, Parser

#: the modules of chainrule.cli that define sub-commands (each has add_parsers(subparsers))
COMMAND_MODULES = ("train", "show", "saved", "sheet", "descent", "convert", "generate")


def make_parser():
    from .. import __version__
    parser = Parser(prog="chainrule",
                    description="chainrule: deep learning from first principles, on NumPy.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").add_parsers(sub)
    parser.commands = sub.choices            # name -> the sub-command's parser
    return parser


def main(argv=None):
    """Run the command line; returns the exit code (see the module's docstring)."""
    parser = make_parser()
    args, unknown = parser.parse_known_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if unknown:                      # name the sub-command: "chainrule train: error: ..."
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    code = _run(args, f"chainrule {args.command}")
    if code == 2 and getattr(args, "distributed", False):
        _end_distributed_job(code)           # (a divergence or Ctrl-C reaches every rank)
    return code


def _run(args, prog):
    from ..errors import ChainruleError
    try:
        return args.run(args) or 0
    except CommandError as error:           # Interrupted (130) and Diverged (3) too
        return _report(prog, f"{error.label}: {error.message}", error.hint, error.exit_code)
    except ChainruleError as error:
        return _report(prog, f"error: {_one_line(error)}", None, 2)
    except ImportError as error:
        if "pip install" not in str(error):
            raise
        return _report(prog, f"error: {_one_line(error)}", None, 2)
    except BrokenPipeError:                    # e.g. chainrule predict ... | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:
        return _report(prog, f"error: {_os_message(error)}", None, 2)
    except MemoryError:
        return _report(prog, "error: out of memory", "use smaller layers, a smaller "
                       "--batch-size or a smaller input file", 2)
    except KeyboardInterrupt:
        return _report(prog, "interrupted", None, 130)
    except Exception:  # noqa: BLE001 - a bug: show it so it can be found and fixed
        traceback.print_exc()
        sys.stderr.write(f"{prog}: internal error (a bug in chainrule, not in your input): "
                         "please report it with the traceback above\n")
        return 1


def _report(prog, message, hint, code):
    sys.stdout.flush()
    sys.stderr.write(f"{prog}: {message}\n")
    if hint:
        sys.stderr.write(f"  {hint}\n")
    sys.stderr.flush()
    return code


def _one_line(error):
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _os_message(error):
    """'runs/x/metrics.json: permission denied' from an OSError (names the file)."""
    reason = (error.strerror or str(error) or type(error).__name__).lower()
    if error.filename is not None:
        return f"{error.filename}: {reason}"
    return reason


def _end_distributed_job(code):
    """A rank that stops with a handled error takes the whole MPI job down with it, so no
    other rank is left waiting forever in a collective."""
    from .. import distributed
    if distributed.is_distributed():
        abort = getattr(distributed, "abort", None)
        if abort is not None:
            abort(code)
        else:
            distributed.init().comm.Abort(code)


if __name__ == "__main__":
    sys.exit(main())
