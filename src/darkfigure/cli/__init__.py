"""Command-line interface (typer). Call :func:`darkfigure.cli.main.main`."""
