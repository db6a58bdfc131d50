"""The ``darkfigure`` command line.

Every sub-command lives in its own module with a ``register(app)`` function and calls only the public
Python API.  Errors: a :class:`~darkfigure.exceptions.DarkfigureError` becomes one line
``darkfigure: error: ...`` on stderr with exit code 1; ``--debug`` shows the traceback instead; usage errors
exit with 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from .._version import __version__
from ..exceptions import DarkfigureError
from . import estimate_cmds, link_cmds, report_cmds, simulate_cmds, store_cmds

app = typer.Typer(
    name="darkfigure",
    help="darkfigure: from survivor case records to honest, reproducible, privacy-safe numbers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"darkfigure {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """darkfigure: document, store, link, estimate, release and report."""


for _module in (store_cmds, simulate_cmds, link_cmds, estimate_cmds, report_cmds):
    _module.register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and the tests)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        # standalone mode: typer/click handle usage errors (exit 2), --help and typer.Exit themselves
        # and raise SystemExit; our own errors propagate to here untouched.
        app(args=args, prog_name="darkfigure", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except DarkfigureError as exc:
        if debug:
            raise
        typer.echo(f"darkfigure: error: {_one_line(str(exc))}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("darkfigure: interrupted", err=True)
        return 130
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
