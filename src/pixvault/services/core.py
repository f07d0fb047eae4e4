"""The core: every service wired to one database and one blob store.

API surfaces receive a `Core` and call its services; they never touch SQL, storage or pyvips.
"""

from dataclasses import dataclass

from pixvault.config import Settings
from pixvault.db import migrate
from pixvault.db.engine import Database
from pixvault.domain.models import IssuedKey, Project
from pixvault.domain.transform import Limits
from pixvault.domain.uploads import IMAGE_TYPES, SLINK_TYPES, UploadPolicy
from pixvault.imaging.pool import RenderPool
from pixvault.imaging.render import Encoders
from pixvault.services.claim import claim_store
from pixvault.services.delivery import DeliveryService
from pixvault.services.flows import FlowService
from pixvault.services.health import readiness
from pixvault.services.keys import KeyService
from pixvault.services.library import LibraryService
from pixvault.services.projects import ProjectService, split_path
from pixvault.services.quota import DerivativeQuota
from pixvault.services.ratelimit import WindowLimiter
from pixvault.services.revocations import RevocationService
from pixvault.services.tokens import TokenService
from pixvault.services.urls import PublicUrls
from pixvault.services.users import UserService
from pixvault.services.views import ViewCounter
from pixvault.storage import BlobStore, open_store

DEFAULT_ORG = "default"
DEFAULT_PROJECT = "default"


@dataclass
class Core:
    settings: Settings
    db: Database
    blobs: BlobStore
    projects: ProjectService
    keys: KeyService
    library: LibraryService
    flows: FlowService
    delivery: DeliveryService
    users: UserService
    tokens: TokenService
    views: ViewCounter
    revocations: RevocationService
    urls: PublicUrls
    native_uploads: UploadPolicy
    slink_uploads: UploadPolicy
    vault_uploads: UploadPolicy

    async def readiness(self) -> dict[str, str]:
        return await readiness(self.db, self.blobs)

    async def close(self) -> None:
        await self.views.close()
        if self.delivery.quota is not None:
            await self.delivery.quota.flush()  # the last batch of derivative rows
        await self.db.dispose()
        self.delivery.pool.close()


def build_core(settings: Settings) -> Core:
    db = Database(settings.resolved_database_url(), schema=settings.database_schema)
    blobs = BlobStore(open_store(settings.resolved_storage_url(), **settings.storage_options()))
    limits = Limits(
        max_side=settings.max_output_side,
        max_area=settings.max_output_area,
        max_source_pixels=settings.max_source_pixels,
        max_render_bytes=settings.render_memory_mb * 1024 * 1024,
    )
    projects = ProjectService(db, limits=limits, lookup_cache_seconds=settings.lookup_cache_seconds)
    library = LibraryService(
        db,
        blobs,
        max_source_pixels=settings.max_source_pixels,
        max_frames=settings.max_frames,
        spool_dir=str(settings.resolved_spool_dir()),
        lookup_cache_seconds=settings.lookup_cache_seconds,
    )
    views = ViewCounter(db)
    revocations = RevocationService(db, lookup_cache_seconds=settings.lookup_cache_seconds)
    delivery = DeliveryService(
        blobs,
        RenderPool(
            workers=settings.render_workers,
            queue=settings.render_queue,
            timeout=settings.render_timeout_seconds,
        ),
        projects,
        library,
        views,
        revocations,
        limits=limits,
        mutable_max_age=settings.mutable_max_age,
        auto_format_default=settings.auto_format_by_default,
        avif_default=settings.avif_by_default,
        encoders=Encoders(webp_effort=settings.webp_effort, avif_effort=settings.avif_effort),
        memory_bytes=settings.derivative_memory_mb * 1024 * 1024,
        cold_renders=(
            None
            if settings.cold_renders_per_minute == 0
            else WindowLimiter(
                settings.rate_limit_storage,
                "render",
                allowed=settings.cold_renders_per_minute,
                window_seconds=60,
            )
        ),
        redirect_expires=(
            settings.redirect_expires_seconds if settings.delivery_mode == "redirect" else None
        ),
        quota=DerivativeQuota(db, blobs, touch_seconds=settings.derivative_touch_seconds),
        derivative_quota=settings.derivative_quota_bytes,
    )
    users = UserService(
        db,
        WindowLimiter(
            settings.rate_limit_storage,
            "login",
            allowed=settings.login_attempts,
            window_seconds=settings.login_window_seconds,
        ),
        registration=settings.registration,
        lookup_cache_seconds=settings.lookup_cache_seconds,
    )
    library.uploaded.append(delivery.warm)
    return Core(
        settings=settings,
        db=db,
        blobs=blobs,
        projects=projects,
        keys=KeyService(db, projects, lookup_cache_seconds=settings.lookup_cache_seconds),
        library=library,
        flows=FlowService(db, library),
        delivery=delivery,
        users=users,
        tokens=TokenService(
            db, users, access_ttl=settings.jwt_access_ttl, secret=settings.jwt_secret
        ),
        views=views,
        revocations=revocations,
        urls=PublicUrls(settings.public_url),
        native_uploads=UploadPolicy(settings.max_upload_bytes, IMAGE_TYPES),
        slink_uploads=UploadPolicy(settings.slink_max_upload_bytes, SLINK_TYPES),
        vault_uploads=UploadPolicy(settings.vault_max_upload_bytes, None, strict_images=False),
    )


@dataclass(frozen=True)
class InitResult:
    project: Project
    first_key: IssuedKey | None


async def initialise(core: Core) -> InitResult:
    """Migrate, claim the blob store (or refuse another database's), then make sure the
    default project and a first secret key exist (idempotent)."""
    await migrate.upgrade(core.db)
    await claim_store(core.db, core.blobs, core.settings)
    project, _ = await core.projects.ensure(DEFAULT_ORG, DEFAULT_PROJECT)
    await core.projects.ensure(*split_path(core.settings.slink_project))
    first_key = None
    if await core.keys.count() == 0:
        first_key = await core.keys.issue("secret", project.id, label="first key")
    return InitResult(project, first_key)


async def ensure_schema_current(core: Core) -> None:
    """Refuse to run against a database this version does not understand or has not migrated."""
    await migrate.check(core.db)
