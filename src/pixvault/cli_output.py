"""How the `pixvault` command prints: tables with every cell whole, errors on stderr."""

from typing import NoReturn

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

errors = Console(stderr=True)


def show_table(table: Table) -> None:
    """Print at the table's natural width, even past the terminal's (or a pipe's 80
    columns): ids and project names are copied from here, so none may be cut short."""
    console = Console()
    natural = Measurement.get(console, console.options.update_width(100_000), table).maximum
    Console(width=max(natural, console.width)).print(table)


def fail(message: str) -> NoReturn:
    """One line on stderr, exit 1."""
    errors.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)
