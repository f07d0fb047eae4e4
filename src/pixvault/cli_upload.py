"""`pixvault upload`: many files to a (remote) server over HTTP, through `pixvault.client`.

Each file is hashed first; a file whose SHA-256 the project already holds (or that repeats
one earlier in the same run) is skipped, not uploaded again. 429 and 5xx answers are retried
by the client with backoff, honouring `Retry-After`.
"""

import json
import re
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from pixvault.cli_output import errors, fail, show_table
from pixvault.client import (
    NO_FLOW,
    ApiError,
    Client,
    PixvaultClientError,
    RetryPolicy,
    ServerUnreachable,
    Unauthorized,
    file_sha256,
)

DEFAULT_SERVER = "http://127.0.0.1:8000"
_NOT_ALIAS = re.compile(r"[^A-Za-z0-9_-]+")

Status = Literal["uploaded", "skipped", "failed"]


@dataclass
class Outcome:
    path: Path
    status: Status
    image_id: str | None = None
    detail: str = ""


def alias_from_name(path: Path) -> str | None:
    """`@` and the file name without its extension, every run of other characters than
    letters, digits, `_` and `-` made one `-` (`My cat.jpg` → `@My-cat`), at most 64."""
    name = _NOT_ALIAS.sub("-", path.stem).lstrip("_-")[:64].rstrip("-")
    return f"@{name}" if name else None


def collect(paths: Iterable[Path], recursive: bool) -> list[Path]:
    """The files named, and those in the directories named (their subdirectories too with
    `recursive`); hidden files inside directories are left out. Each file once, in order."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            walk = path.rglob("*") if recursive else path.iterdir()
            inside = sorted(p for p in walk if p.is_file() and not _hidden(p.relative_to(path)))
            found.update(dict.fromkeys(inside))
        elif path.is_file():
            found[path] = None
        else:
            raise typer.BadParameter(f"{path} does not exist", param_hint="PATH")
    return list(found)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def held_hashes(client: Client, files: int) -> dict[str, str] | None:
    """The project's content hashes (SHA-256 → image id), when listing them all takes fewer
    requests than asking once per file; None: ask per file (`?fileHash=`). The first request
    doubles as the check of the URL and the key."""
    first = client.list(limit=1)
    if first.total == 0:
        return {}
    if -(-first.total // 100) >= files:  # list pages of 100 against one lookup per file
        return None
    return {image.sha256: image.id for image in client.iter_images()}


class _Run:
    """One upload run: the client, the bars, and the hashes claimed so far in this run."""

    def __init__(
        self,
        client: Client,
        progress: Progress,
        files: int,
        held: dict[str, str] | None,
        alias: bool,
        flow: str | None,
    ):
        self.client = client
        self.files = files
        self.held = held
        self.progress = progress
        self.alias = alias
        self.flow = flow
        self._claimed: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._finished = 0

    def one(self, path: Path, overall: TaskID) -> Outcome:
        size = path.stat().st_size
        bar = self.progress.add_task(path.name, total=size or 1)
        try:
            return self._send(path, bar)
        except PixvaultClientError as exc:
            return Outcome(path, "failed", detail=str(exc))
        except OSError as exc:
            return Outcome(path, "failed", detail=f"cannot read the file: {exc.strerror or exc}")
        finally:
            self.progress.remove_task(bar)
            with self._lock:
                self._finished += 1
                done = f"[bold]total[/bold] {self._finished}/{self.files} files"
            self.progress.update(overall, advance=size, description=done)

    def _send(self, path: Path, bar: TaskID) -> Outcome:
        digest = file_sha256(path)
        with self._lock:
            first = self._claimed.setdefault(digest, path)
        if first != path:
            return Outcome(path, "skipped", detail=f"same content as {first}")
        if self.held is not None:
            held_id = self.held.get(digest)
        else:
            image = self.client.find_by_hash(digest)
            held_id = None if image is None else image.id
        if held_id is not None:
            return Outcome(path, "skipped", held_id, "already in the project")
        image = self.client.upload(
            path,
            alias=alias_from_name(path) if self.alias else None,
            flow_id=self.flow,
            progress=lambda sent: self.progress.update(bar, completed=sent),
        )
        return Outcome(path, "uploaded", image.id, image.alias or "")


def upload(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files, or directories of files", metavar="PATH...", show_default=False
        ),
    ],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Descend into subdirectories")
    ] = False,
    alias_from_name_: Annotated[
        bool,
        typer.Option(
            "--alias-from-name",
            help="Give each image the alias @NAME from its file name (`My cat.jpg` → @My-cat)",
        ),
    ] = False,
    flow: Annotated[
        str | None,
        typer.Option(help="Add every image to this flow (a UUID; `null`: to no flow)"),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1, max=32, help="Files uploaded at once", envvar="PIXVAULT_UPLOAD_CONCURRENCY"
        ),
    ] = 4,
    retries: Annotated[
        int,
        typer.Option(
            min=0,
            help="Retries of a request answered 429 or 5xx (waits double from 0.5 s)",
            envvar="PIXVAULT_UPLOAD_RETRIES",
        ),
    ] = 4,
    server: Annotated[
        str, typer.Option(help="The pixvault server's base URL", envvar="PIXVAULT_SERVER")
    ] = DEFAULT_SERVER,
    key: Annotated[
        str,
        typer.Option(
            help="A secret (sk_) API key of the project to upload to",
            envvar="PIXVAULT_KEY",
            show_default=False,
        ),
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Upload files over HTTP to a pixvault server, skipping those the project already holds."""
    if not key:
        raise typer.BadParameter("give an API key with --key or PIXVAULT_KEY", param_hint="--key")
    if flow not in (None, NO_FLOW):
        try:
            uuid.UUID(flow)
        except ValueError:
            raise typer.BadParameter(
                f"{flow!r} is not a UUID (or null)", param_hint="--flow"
            ) from None
    files = collect(paths, recursive)
    policy = RetryPolicy(attempts=retries + 1)
    progress = _bars()

    def note(exc: BaseException, wait: float) -> None:
        message = f"[yellow]retrying in {wait:.1f}s[/yellow] after {exc}"
        progress.console.print(message, highlight=False)

    try:
        client = Client(server, key, retry=policy, on_retry=note)
        held = held_hashes(client, len(files))  # also: one clear error for a wrong URL or key
    except Unauthorized as exc:
        fail(f"{server} refused the key: {exc.message} (check --key / PIXVAULT_KEY)")
    except ServerUnreachable as exc:
        fail(f"{exc.message} (check --server / PIXVAULT_SERVER)")
    except ApiError as exc:
        fail(f"{server}: {exc}")
    with client, progress:
        total = sum(f.stat().st_size for f in files)
        overall = progress.add_task(f"[bold]total[/bold] 0/{len(files)} files", total=total)
        run = _Run(client, progress, len(files), held, alias_from_name_, flow)
        pool = ThreadPoolExecutor(concurrency)
        try:
            outcomes = list(pool.map(lambda f: run.one(f, overall), files))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)  # the files in flight still finish
            errors.print("interrupted: run the same command again to send the rest")
            raise typer.Exit(130) from None
        pool.shutdown()
    _summarise(outcomes, as_json)
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


def _bars() -> Progress:
    return Progress(
        TextColumn("{task.description}", table_column=None),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=errors,  # bars on stderr: stdout keeps the summary (and --json) clean
        transient=True,
        disable=not errors.is_terminal,  # no bars in logs; retry notes still print
    )


def _summarise(outcomes: list[Outcome], as_json: bool) -> None:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("uploaded", "skipped", "failed")}
    if as_json:
        rows = [
            {"path": str(o.path), "status": o.status, "id": o.image_id, "detail": o.detail}
            for o in outcomes
        ]
        typer.echo(json.dumps({"files": rows, **counts}))
        return
    table = Table("file", "result", "image id", "detail")
    colour = {"uploaded": "green", "skipped": "yellow", "failed": "red"}
    for o in outcomes:
        status = f"[{colour[o.status]}]{o.status}[/]"
        table.add_row(str(o.path), status, o.image_id or "", o.detail)
    show_table(table)
    Console().print(
        f"{counts['uploaded']} uploaded, {counts['skipped']} skipped (content already held), "
        f"{counts['failed']} failed",
        highlight=False,
    )
