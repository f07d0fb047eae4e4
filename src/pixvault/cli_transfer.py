"""`pixvault export DIR` and `pixvault import DIR`: move an instance or one project between
databases and blob stores (see `services/transfer.py` for the dump's layout)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

if TYPE_CHECKING:  # the core is loaded by the command that runs (see cli.py)
    from pixvault.services.transfer import Progress as Told

_PHASES = {
    "export": "copying originals",
    "verify": "verifying originals",
    "import": "writing originals",
}


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
    app.command("import")(import_command)


def export_command(
    directory: Annotated[Path, typer.Argument(help="A new or empty directory to write")],
    project: Annotated[
        str | None, typer.Option(help="ORG/PROJECT: dump only this project (default: all)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Dump the instance (or one project) as JSON-lines rows, originals and a hash manifest."""
    from pixvault.services.transfer import export_dump

    cli = _cli()
    with _progress() as told:
        report = cli._run(lambda core: export_dump(core, directory, project, told), init=False)
    rows = sum(report.rows.values())
    cli._emit(
        report.as_json(),
        as_json,
        f"Exported {report.scope}: {rows} rows and {report.blobs} originals "
        f"({report.blob_bytes} bytes) into {directory}",
    )


def import_command(
    directory: Annotated[Path, typer.Argument(help="A directory written by `pixvault export`")],
    check: Annotated[
        bool, typer.Option("--check", help="Only verify the dump's files; touch no database")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Verify a dump, then load it into this instance's database and blob store. Rows already
    there with the same data are skipped; other data under the same ids is refused."""
    from pixvault.services.transfer import import_dump, verify_dump

    cli = _cli()
    if check:
        try:
            with _progress() as told:
                manifest = verify_dump(directory, told)
        except Exception as exc:
            cli._fail(exc, None)
        counts = {name: entry.get("lines") for name, entry in manifest["files"].items()}
        cli._emit(
            {"directory": str(directory), "valid": True, "files": counts},
            as_json,
            f"{directory}: every file matches the manifest ({len(counts)} files, "
            f"{manifest['blobs']['count']} originals)",
        )
        return

    with _progress() as told:
        report = cli._run(lambda core: import_dump(core, directory, told), init=False)
    added, present = sum(report.added.values()), sum(report.present.values())
    cli._emit(
        report.as_json(),
        as_json,
        f"Imported {report.scope} from {directory}: {added} rows added, {present} already "
        f"present; {report.blobs_written} originals written, {report.blobs_present} already "
        "present",
    )


@contextmanager
def _progress() -> Iterator[Told]:
    """A bar per phase on a terminal's stderr (nothing when it is not a terminal), so stdout
    stays clean for --json."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda phase, done, total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def told(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES[phase], total=total)
            bar.update(tasks[phase], completed=done)

        yield told


def _cli() -> Any:
    # cli.py imports this module to register the commands, so its helpers are reached late.
    from pixvault import cli

    return cli
