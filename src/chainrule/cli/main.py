"""``chainrule``: the command-line entry point. Each sub-command lives in its own module."""
import sys

from .common import CommandError, Parser


def make_parser():
    from . import saved, show, train
    parser = Parser(prog="chainrule",
                    description="chainrule: deep learning from first principles, on NumPy.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    train.add_parser(sub)
    show.add_parsers(sub)
    saved.add_parsers(sub)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code (2 for any user error, never a traceback)."""
    from ..errors import ChainruleError
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except (CommandError, ChainruleError, ValueError, TypeError, KeyError, OSError,
            ImportError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else \
            type(error).__name__
        sys.stderr.write(f"chainrule {args.command}: error: {message}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("chainrule: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
