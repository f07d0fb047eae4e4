"""The `pixvault` executable. `pixvault upload` only talks HTTP, so it starts without loading
the server (database drivers, migrations, pyvips): about a second sooner. Every other command
loads the full command line in `pixvault.cli`."""

import sys


def main() -> None:
    if sys.argv[1:2] == ["upload"]:
        import typer

        from pixvault.cli_upload import upload

        alone = typer.Typer()
        alone.command()(upload)
        typer.main.get_command(alone)(args=sys.argv[2:], prog_name="pixvault upload")
        return
    from pixvault.cli import app

    app()
