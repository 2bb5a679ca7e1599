"""`hf-mixture SUBCOMMAND ...`: a thin shell over the library; errors print as messages, not tracebacks."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import traceback
import warnings
from collections.abc import Iterator

from hf_mixture.errors import HfMixtureError
from hf_mixture.redact import RedactingFilter, RedactingStream, redact

# Subcommand name -> module in hf_mixture.cli exposing `add_arguments(parser)` and `run(args) -> int`.
SUBCOMMANDS = {
    "build": "build",
    "check": "check",
    "plan": "plan",
    "functions": "functions",
    "push": "push",
    "validate": "validate",
    "export": "export",
    "preview": "preview",
}
EXIT_ERROR = 2
EXIT_USAGE = EXIT_ERROR  # kept for callers of the first version
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
# Errors that are the user's to fix: shown as one message. Anything else is a bug: one line and a hint.
USER_ERRORS = (HfMixtureError, ImportError, OSError, argparse.ArgumentTypeError)


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


def _terminate(signum, frame):
    """SIGTERM unwinds like Ctrl-C, so temporary files are removed on the way out."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def _guarded_output(verbose: bool) -> Iterator[None]:
    """Secrets masked in everything printed or logged; warnings as one line; SIGTERM as Ctrl-C."""
    saved = sys.stdout, sys.stderr, warnings.showwarning
    sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    warnings.showwarning = _show_warning
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    masking = RedactingFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(masking)
    previous = _install_sigterm()
    try:
        yield
    finally:
        sys.stdout, sys.stderr, warnings.showwarning = saved
        for handler in logging.getLogger().handlers:
            handler.removeFilter(masking)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _install_sigterm():
    try:
        return signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (e.g. main() called from a worker thread)
        return None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser(_available_subcommands()).parse_args(argv)
    with _guarded_output(args.verbose):
        try:
            return int(args.handler(args) or 0)
        except USER_ERRORS as err:
            _report(err, args.verbose, "")
            return EXIT_ERROR
        except KeyboardInterrupt:
            print("interrupted: no partial shard was left under the stage's files", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as err:  # noqa: BLE001 - a bug: one line, the traceback with -v
            _report(err, args.verbose, f"internal error {type(err).__name__}: ")
            if not args.verbose:
                print("(run with -v for the traceback, and please report it)", file=sys.stderr)
            return EXIT_INTERNAL


def _report(err: BaseException, verbose: bool, prefix: str) -> None:
    """`error: <message>` on stderr, after the traceback with -v; secrets masked in both."""
    if verbose:
        print(redact(traceback.format_exc()), file=sys.stderr, end="")
    print(f"error: {prefix}{redact(str(err))}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
