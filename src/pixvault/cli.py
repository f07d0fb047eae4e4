"""The `pixvault` command: serve, init, migrate, gc, projects, keys."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from pixvault.cli_output import errors, fail, show_table
from pixvault.cli_upload import upload
from pixvault.config import Settings
from pixvault.domain.durations import parse_duration
from pixvault.domain.errors import InvalidInput, PixvaultError
from pixvault.domain.models import ApiKey, Project

# The core, the server and the migrations are imported inside the commands that use them:
# at the top they would make every command, `--help` included, load the whole server
# (FastAPI, the web UI, SQLAlchemy, Alembic) before it says a word.
if TYPE_CHECKING:
    from pixvault.services.core import Core
    from pixvault.services.gc import GcReport
    from pixvault.services.keys import Revocation

ENVIRONMENT = (
    "Configuration comes from PIXVAULT_* environment variables (or a .env file): "
    "PIXVAULT_DATA_DIR (default ./data), PIXVAULT_DATABASE_URL (default: SQLite in the data "
    "directory), PIXVAULT_STORAGE_URL (default: DATA_DIR/blobs); README lists them all. "
    "`pixvault upload` reads PIXVAULT_SERVER and PIXVAULT_KEY."
)

app = typer.Typer(
    help="pixvault: self-hosted image hosting, management and delivery.",
    epilog=ENVIRONMENT,
)
projects_app = typer.Typer(help="Manage projects.")
keys_app = typer.Typer(help="Manage API keys.")
users_app = typer.Typer(help="Manage users (who sign in to the Slink API and the web UI).")
app.add_typer(projects_app, name="projects")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.command()(upload)
console = Console()
T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _run(work: Callable[[Core], Awaitable[T]], *, init: bool = True) -> T:
    from pixvault.services.core import build_core, initialise

    settings = _settings()

    async def main() -> T:
        core = build_core(settings)
        try:
            if init:
                await initialise(core)
            return await work(core)
        finally:
            await core.close()

    try:
        return asyncio.run(main())
    except Exception as exc:
        _fail(exc, settings.database_url)


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:
        _fail(exc, None)


def _fail(exc: Exception, database_url: str | None) -> NoReturn:
    """One or two lines on stderr and exit 1 for what an operator can fix; a bug shows."""
    from pixvault.startup import explain

    message = explain(exc, database_url)
    if message is None:
        raise exc
    fail(message)


def _emit(data: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data))
    else:
        console.print(text, soft_wrap=True)


@app.command()
def init() -> None:
    """Create the data directory, apply migrations, create the default project and first key."""
    _announce(_initialise())


def _initialise() -> Any:
    """Migrate, then make sure the default project and a first key exist."""
    from pixvault.services.core import initialise

    return _run(initialise, init=False)


def _announce(result: Any) -> None:
    console.print(f"Default project: [bold]{result.project.path}[/bold]")
    if result.first_key is not None:
        console.print(
            f"First secret API key (shown once, keep it): [bold green]{result.first_key.secret}[/]"
        )


@app.command()
def check() -> None:
    """Validate the configuration and reach every dependency; print what was found."""
    from pixvault.db import migrate as migrations
    from pixvault.services.claim import inspect_claim
    from pixvault.startup import explain

    settings = _settings()

    async def claim(core: Core, earlier: list[tuple[str, str | None]]) -> None:
        if any(problem for _, problem in earlier):
            where["claim"] = "not checked until the problems above are fixed"
            return
        found = await inspect_claim(core.db, core.blobs, settings)
        where["claim"] = found.describe(settings.resolved_storage_url())

    async def probe(core: Core) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        for name, step in (
            ("database", core.db.ping),
            ("schema", lambda: migrations.check(core.db)),
            ("storage", core.blobs.check_writable),
            ("claim", lambda: claim(core, found)),
        ):
            try:
                await step()
                found.append((name, None))
            except Exception as exc:
                message = explain(exc, settings.database_url)
                if message is None:
                    raise
                found.append((name, message))
        return found

    where = {
        "database": settings.database_url or settings.resolved_database_url(),
        "schema": "current" if settings.database_schema is None else settings.database_schema,
        "storage": settings.resolved_storage_url(),
    }
    results = _run(probe, init=False)
    for name, problem in results:
        if problem is None:
            console.print(f"[green]ok[/green]    {name}: {where[name]}", soft_wrap=True)
        else:
            errors.print(f"[red]fail[/red]  {name}: {problem}", highlight=False, soft_wrap=True)
    if any(problem for _, problem in results):
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Upgrade the database schema in place to this version."""
    from pixvault.db import migrate as migrations

    async def work(core: Core) -> str | None:
        await migrations.upgrade(core.db)
        return await migrations.current_revision(core.db)

    console.print(f"Database schema at revision {_run(work, init=False)}")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default: PIXVAULT_HOST, else 127.0.0.1)")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to bind (default: PIXVAULT_PORT, else 8000)")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Initialise if needed, then serve HTTP."""
    from pixvault import server
    from pixvault.imaging.malloc import limit_arenas
    from pixvault.observability import log_config

    limit_arenas()
    settings = _settings()
    _announce(_initialise())
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers share one port: they pool their metrics so any of them can answer /metrics.
        metrics_dir = tempfile.mkdtemp(prefix="pixvault-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        server.serve(
            settings,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_config=log_config(),
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@app.command()
def gc(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, change nothing")] = False,
    grace: Annotated[
        str | None,
        typer.Option(
            help="Keep unreferenced blobs younger than this, e.g. 1h "
            "(default: PIXVAULT_GC_GRACE_SECONDS, else 1h)"
        ),
    ] = None,
    retention: Annotated[
        str | None,
        typer.Option(
            help="Purge images soft-deleted longer ago, e.g. 30d "
            "(default: PIXVAULT_SOFT_DELETE_RETENTION_DAYS, else 30d)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Purge expired soft deletes and remove blobs that no image references."""
    settings = _settings()
    grace_period = _duration(grace, "--grace", settings.gc_grace_seconds)
    keep_deleted = _duration(retention, "--retention", settings.soft_delete_retention_days * 86400)

    async def work(core: Core) -> GcReport:
        from pixvault.services.core import ensure_schema_current
        from pixvault.services.gc import collect

        await ensure_schema_current(core)
        return await collect(core, grace=grace_period, retention=keep_deleted, dry_run=dry_run)

    report = _run(work, init=False)
    verb = "Would remove" if dry_run else "Removed"
    _emit(
        report.as_json(),
        as_json,
        f"{verb} {report.purged_images} soft-deleted images ({report.purged_bytes} bytes) and "
        f"{report.orphan_blobs} unreferenced blobs ({report.orphan_bytes} bytes); kept "
        f"{report.kept_recent} blobs younger than the grace period and {report.kept_foreign} "
        f"({report.kept_foreign_bytes} bytes) of {len(report.foreign_projects)} projects this "
        f"database does not know; {report.uploads_aborted} abandoned multipart uploads "
        f"{'would be ' if dry_run else ''}aborted",
    )


def _duration(text: str | None, option: str, default_seconds: float) -> timedelta:
    if text is None:
        return timedelta(seconds=default_seconds)
    try:
        return parse_duration(text)
    except PixvaultError as exc:
        raise typer.BadParameter(exc.message, param_hint=option) from None


@projects_app.command("create")
def projects_create(
    path: Annotated[str, typer.Argument(help="ORG/PROJECT")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create a project (the organisation is created if missing)."""
    from pixvault.services.projects import split_path

    project = _run(lambda core: core.projects.create(*split_path(path)))
    data = {
        "id": str(project.id),
        "org": project.org_slug,
        "slug": project.slug,
        "vaultId": project.vault_id,
    }
    _emit(data, as_json, f"Created project {project.path} ({project.id})")


@projects_app.command("list")
def projects_list(as_json: JsonFlag = False) -> None:
    """List projects."""
    found = _run(lambda core: core.projects.list())
    if as_json:
        typer.echo(json.dumps([_project_json(p) for p in found]))
        return
    table = Table("id", "project", "vault id")
    for project in found:
        table.add_row(str(project.id), project.path, project.vault_id)
    show_table(table)


def _project_json(project: Project) -> dict[str, Any]:
    return {
        "id": str(project.id),
        "org": project.org_slug,
        "slug": project.slug,
        "path": project.path,
        "vaultId": project.vault_id,
    }


@keys_app.command("create")
def keys_create(
    project: Annotated[str | None, typer.Option(help="ORG/PROJECT")] = None,
    kind: Annotated[str, typer.Option(help="secret | public | master")] = "secret",
    label: Annotated[str | None, typer.Option(help="A name to recognise the key by")] = None,
    user: Annotated[
        str | None,
        typer.Option(help="EMAIL: a key of this user's own, in their first project"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create an API key; its secret is printed once."""

    async def work(core: Core) -> Any:
        owner = None if user is None else await core.users.by_email(user)
        project_id = None if project is None else (await core.projects.by_path(project)).id
        if owner is not None:
            if not owner.project_ids:
                raise InvalidInput(f"User {owner.email} belongs to no project", param="user")
            project_id = project_id or owner.project_ids[0]
        return await core.keys.issue(
            kind, project_id, label=label, user_id=None if owner is None else owner.id
        )

    issued = _run(work)
    data = {
        "id": str(issued.key.id),
        "key": issued.secret,
        "kind": issued.key.kind,
        "projectId": None if issued.key.project_id is None else str(issued.key.project_id),
    }
    if issued.key.user_id is not None:
        data["userId"] = str(issued.key.user_id)
    _emit(data, as_json, f"Created {kind} key {issued.key.id}: [bold green]{issued.secret}[/]")


@keys_app.command("list")
def keys_list(
    project: Annotated[
        str | None, typer.Option(help="ORG/PROJECT (default: every project's keys)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List keys (prefixes only; secrets are never stored)."""

    async def work(core: Core) -> tuple[list[ApiKey], dict[Any, str]]:
        project_id = None if project is None else (await core.projects.by_path(project)).id
        paths = {p.id: p.path for p in await core.projects.list()}
        return await core.keys.list(project_id), paths

    found, paths = _run(work)
    if as_json:
        typer.echo(json.dumps([_key_json(k, paths) for k in found]))
        return
    table = Table("id", "kind", "prefix", "project", "label", "revoked")
    for key in found:
        table.add_row(
            str(key.id), key.kind, key.prefix, paths.get(key.project_id, "-"), key.label or "",
            "yes" if key.revoked_at else "",
        )  # fmt: skip
    show_table(table)


def _key_json(key: ApiKey, paths: dict[Any, str]) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "id": str(key.id),
        "kind": key.kind,
        "prefix": key.prefix,
        "projectId": None if key.project_id is None else str(key.project_id),
        "project": paths.get(key.project_id),
        "userId": None if key.user_id is None else str(key.user_id),
        "label": key.label,
        "createdAt": when(key.created_at),
        "expiresAt": when(key.expires_at),
        "lastUsedAt": when(key.last_used_at),
        "revokedAt": when(key.revoked_at),
    }


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[
        str, typer.Argument(help="The key's id, or enough of its start to name one key")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key; requests using it get 401 from now on. Revoking a revoked key changes
    nothing, says so, and exits 0."""

    async def work(core: Core) -> Revocation:
        return await core.keys.revocation((await core.keys.find(key_id)).id)

    done = _run(work)
    key = done.key
    revoked_at = None if key.revoked_at is None else key.revoked_at.isoformat()
    data = {"id": str(key.id), "revokedAt": revoked_at, "alreadyRevoked": done.already}
    text = f"Revoked key {key.id}"
    if done.already:
        text = f"Key {key.id} was already revoked (at {key.revoked_at:%Y-%m-%d %H:%M:%S %Z})"
    _emit(data, as_json, text)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in email")],
    password: Annotated[str, typer.Option(help="Password (6 characters or more)")],
    username: Annotated[str | None, typer.Option(help="Defaults to the email's local part")] = None,
    display_name: Annotated[str | None, typer.Option(help="Defaults to the username")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="An administrator")] = False,
    project: Annotated[
        str | None, typer.Option(help="ORG/PROJECT the user belongs to (default: the Slink one)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create a user (registration settings do not apply here)."""

    async def work(core: Core) -> Any:
        home = await core.projects.by_path(project or core.settings.slink_project)
        return await core.users.create(
            email, password, home, username=username, display_name=display_name, admin=admin
        )

    user = _run(work)
    data = {
        "id": str(user.id),
        "email": user.email,
        "username": user.username,
        "displayName": user.display_name,
        "projectId": str(user.project_ids[0]),
    }
    _emit(data, as_json, f"Created user {user.email} ({user.id})")


@users_app.command("list")
def users_list(as_json: JsonFlag = False) -> None:
    """List users."""

    async def work(core: Core) -> tuple[list[Any], dict[Any, str]]:
        return await core.users.list(), {p.id: p.path for p in await core.projects.list()}

    found, paths = _run(work)
    if as_json:
        rows = [
            {
                "id": str(u.id),
                "email": u.email,
                "username": u.username,
                "displayName": u.display_name,
                "admin": u.is_admin,
                "projectIds": [str(p) for p in u.project_ids],
                "projects": [paths.get(p) for p in u.project_ids],
            }
            for u in found
        ]
        typer.echo(json.dumps(rows))
        return
    table = Table("id", "email", "username", "display name", "admin", "projects")
    for u in found:
        projects = ", ".join(paths.get(p, str(p)) for p in u.project_ids)
        admin = "yes" if u.is_admin else ""
        table.add_row(str(u.id), u.email, u.username, u.display_name, admin, projects)
    show_table(table)


@users_app.command("delete")
def users_delete(email: Annotated[str, typer.Argument(help="The user's email")]) -> None:
    """Delete a user with their keys and sessions; their images stay, owned by no one."""

    async def work(core: Core) -> Any:
        user = await core.users.by_email(email)
        await core.users.delete(user.id)
        return user

    user = _run(work)
    console.print(f"Deleted user {user.email} ({user.id})")


# `export` and `import` live in their own module, which reaches `_run` and `_emit` here.
from pixvault.cli_transfer import register as _register_transfer  # noqa: E402

_register_transfer(app)
