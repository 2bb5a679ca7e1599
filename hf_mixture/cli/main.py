"""`hf-mixture SUBCOMMAND ...`: a thin shell over the library; errors print as messages, not tracebacks."""

from __future__ import annotations

import os
import signal
import sys
import threading

EXIT_INTERRUPTED = 130


def _terminate(signum, frame):
    """SIGTERM unwinds like Ctrl-C, so temporary files are removed on the way out."""
    raise KeyboardInterrupt


def _terminate_after_main(signum, frame):
    """SIGTERM once `main` has returned (the process is exiting): the interrupted status, at once."""
    os._exit(EXIT_INTERRUPTED)


# Installed before any other import, so a SIGTERM at any moment of a CLI run exits 130 (issue: a
# SIGTERM during the imports or while the process exits used to give the default 143).
if (
    threading.current_thread() is threading.main_thread()
    and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
):
    signal.signal(signal.SIGTERM, _terminate)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from hf_mixture.errors import HfMixtureError  # noqa: E402
from hf_mixture.failures import os_error_message, user_message  # noqa: E402
from hf_mixture.redact import RedactingFilter, RedactingStream, redact  # noqa: E402

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
    """Run the command line; returns the exit status (0, 2 user error, 130 interrupted, 1 a bug)."""
    ours = signal.getsignal(signal.SIGTERM) is _terminate
    try:
        args = _parser(_available_subcommands()).parse_args(argv)
        with _guarded_output(args.verbose):
            return _run(args)
    except KeyboardInterrupt:  # during the imports, or while the output is restored
        return _interrupted()
    finally:
        if ours:  # the CLI process is about to exit: a late SIGTERM still means "interrupted"
            signal.signal(signal.SIGTERM, _terminate_after_main)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args) or 0)
    except USER_ERRORS as err:
        _report(err, args.verbose, "", _user_text(err))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as err:  # noqa: BLE001 - a bug: one line, the traceback with -v
        message = user_message(err)
        if message is not None:  # network / object-store failures: the user's to fix
            _report(err, args.verbose, "", message)
            return EXIT_ERROR
        _report(err, args.verbose, f"internal error {type(err).__name__}: ")
        if not args.verbose:
            print("(run with -v for the traceback, and please report it)", file=sys.stderr)
        return EXIT_INTERNAL


def _user_text(err: BaseException) -> str:
    """Our own errors as written; a raw OSError as `<path>: <what>; <how to fix>`."""
    if isinstance(err, OSError) and not isinstance(err, HfMixtureError):
        return os_error_message(err)
    return str(err)


def _interrupted() -> int:
    print("interrupted: no partial shard was left under the stage's files", file=sys.stderr)
    return EXIT_INTERRUPTED


def _report(err: BaseException, verbose: bool, prefix: str, text: str | None = None) -> None:
    """`error: <message>` on stderr, after the traceback with -v; secrets masked in both."""
    if verbose:
        print(redact(traceback.format_exc()), file=sys.stderr, end="")
    print(f"error: {prefix}{redact(str(err) if text is None else text)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
