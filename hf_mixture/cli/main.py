"""`hf-mixture SUBCOMMAND ...`: a thin shell over the library; errors print as messages, not tracebacks."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings

from hf_mixture.errors import HfMixtureError

# Subcommand name -> module in hf_mixture.cli exposing `add_arguments(parser)` and `run(args) -> int`.
SUBCOMMANDS = {
    "build": "build",
    "check": "check",
    "functions": "functions",
    "push": "push",
    "validate": "validate",
    "export": "export",
    "preview": "preview",
}
EXIT_USAGE = 2


def _parser(available: dict) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hf-mixture", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show library logs and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in available.items():
        doc = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        command = sub.add_parser(
            name, help=doc, description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def _available_subcommands() -> dict:
    found = {}
    for name, module_name in SUBCOMMANDS.items():
        try:
            found[name] = importlib.import_module(f"hf_mixture.cli.{module_name}")
        except ModuleNotFoundError as err:
            if err.name != f"hf_mixture.cli.{module_name}":
                raise
    return found


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser(_available_subcommands()).parse_args(argv)
    warnings.showwarning = _show_warning
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.handler(args) or 0)
    except (HfMixtureError, ImportError, FileNotFoundError) as err:
        if args.verbose:
            raise
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: no partial shard was left under the stage's files", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
