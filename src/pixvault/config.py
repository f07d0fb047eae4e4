"""One Settings object, read from `PIXVAULT_*` environment variables and a `.env` file."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIXVAULT_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    database_schema: str | None = None
    storage_url: str | None = None
    # Start even though the blob store is claimed by another pixvault database (see
    # services/claim.py); gc still removes only blobs of this database's projects.
    shared_store: bool = False
    public_url: str | None = None
    max_upload_bytes: int = Field(5 * 1024 * 1024, gt=0)
    # Where uploads past 1 MB are spooled while they stream in (DATA_DIR/spool if unset: on
    # the blob directory's filesystem a spooled upload is renamed into place, not copied).
    upload_spool_dir: Path | None = None

    def resolved_spool_dir(self) -> Path:
        path = self.upload_spool_dir or self.data_dir / "spool"
        path.mkdir(parents=True, exist_ok=True)
        return path

    host: str = "127.0.0.1"
    port: int = 8000
    # Logs on stderr: `auto` is human-readable lines on a terminal, JSON lines otherwise.
    log_format: Literal["auto", "text", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Serve /metrics on this port only (on HOST), not on PORT; unset: /metrics on PORT.
    metrics_port: int | None = Field(None, ge=1, le=65535)

    # Admission control, per process (services/admission.py): API and UI requests beyond
    # MAX_IN_FLIGHT at once, delivery URLs answered before beyond MAX_IN_FLIGHT_DELIVERY and
    # new ones (possible renders) beyond MAX_IN_FLIGHT_COLD (0: 2 per CPU) wait in line (at
    # most ADMISSION_QUEUE each, QUEUE_WAIT_SECONDS each); past that 429 + Retry-After.
    max_in_flight: int = Field(8, ge=1)
    max_in_flight_delivery: int = Field(256, ge=1)
    max_in_flight_cold: int = Field(0, ge=0)
    admission_queue: int = Field(64, ge=0)
    queue_wait_seconds: float = Field(1.0, gt=0)
    # Slow clients: the request line and headers must arrive within HEADER_TIMEOUT_SECONDS
    # of the connection (or of the first byte of a keep-alive request); a body that pauses
    # for BODY_TIMEOUT_SECONDS gets 408.
    header_timeout_seconds: float = Field(5.0, gt=0)
    body_timeout_seconds: float = Field(10.0, gt=0)

    # Users and sign-in
    registration: bool = True
    guest_uploads: bool = False
    jwt_secret: str | None = Field(None, min_length=32)
    jwt_access_ttl: int = Field(3600, ge=1)
    login_attempts: int = Field(10, ge=1)
    login_window_seconds: int = Field(300, ge=1)
    # `memory://` (per process) or `redis://HOST:PORT` shared by every process.
    rate_limit_storage: str = "memory://"
    # Cold renders (new derivatives) one client address may cause per minute; 0 is no limit.
    cold_renders_per_minute: int = Field(120, ge=0)
    # The header a trusted proxy puts the visitor's address in (e.g. x-forwarded-for,
    # cf-connecting-ip); unset: the connection's own address.
    client_ip_header: str | None = None

    # The Slink surface: every Slink route acts on this project.
    slink_project: str = "default/default"
    slink_max_upload_bytes: int = Field(15 * 1024 * 1024, gt=0)

    # The vault (imgbt) surface: any file type.
    vault_max_upload_bytes: int = Field(100 * 1024 * 1024, gt=0)

    # Delivery
    max_output_side: int = 8192
    max_output_area: int = 25_000_000
    max_source_pixels: int = 100_000_000
    max_frames: int = Field(1000, ge=1)
    mutable_max_age: int = 60
    render_workers: int = 0
    render_queue: int = 64
    # A new derivative not ready this long after it was asked for answers 503 + Retry-After
    # (the render is stopped); what one render may need in memory, by its estimate.
    render_timeout_seconds: float = Field(10.0, gt=0)
    render_memory_mb: int = Field(192, ge=16)
    # Stored derivative bytes per project (a project's derivativeQuotaBytes wins); least
    # recently used are evicted past it, 0 is no quota. Accesses are written in batches.
    derivative_quota_bytes: int = Field(10 * 1024**3, ge=0)
    derivative_touch_seconds: float = Field(60.0, ge=0)
    auto_format_by_default: bool = False
    avif_by_default: bool = True
    avif_effort: int = Field(0, ge=0, le=9)
    webp_effort: int = Field(4, ge=0, le=6)
    lookup_cache_seconds: float = Field(2.0, ge=0)
    derivative_memory_mb: int = Field(64, ge=0)
    delivery_mode: Literal["proxy", "redirect"] = "proxy"
    redirect_expires_seconds: int = Field(600, ge=60, le=7 * 24 * 3600)

    # S3 storage (`storage_url=s3://BUCKET/PREFIX`). Unset values fall back to the standard
    # AWS_* environment variables, which obstore's S3Store reads itself.
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_force_path_style: bool = False
    s3_allow_http: bool | None = None
    s3_max_retries: int = Field(3, ge=0)
    s3_timeout_seconds: float = Field(30.0, gt=0)
    s3_connect_timeout_seconds: float = Field(5.0, gt=0)

    # Garbage collection (`pixvault gc`)
    gc_grace_seconds: int = Field(3600, ge=0)
    soft_delete_retention_days: float = Field(30, ge=0)

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("sqlite://", "postgresql://", "postgres://")):
            scheme = url.partition("://")[0] or url
            raise ValueError(
                f"unsupported database {scheme!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
            )
        return url

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL, with the async driver for the chosen engine."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'pixvault.db').resolve()}"
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url

    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'blobs').resolve()}"

    def storage_options(self) -> dict[str, Any]:
        """Keyword options for `open_store`: the S3 settings that were given, nothing else,
        so obstore's own AWS_* environment fallback still applies to the rest."""
        if not self.resolved_storage_url().startswith(("s3://", "s3a://")):
            return {}
        config = {
            "endpoint": self.s3_endpoint,
            "region": self.s3_region,
            "access_key_id": self.s3_access_key_id,
            "secret_access_key": self.s3_secret_access_key,
            "virtual_hosted_style_request": False if self.s3_force_path_style else None,
        }
        client: dict[str, Any] = {
            "timeout": timedelta(seconds=self.s3_timeout_seconds),
            "connect_timeout": timedelta(seconds=self.s3_connect_timeout_seconds),
        }
        # Explicit client options replace obstore's environment ones, so honour AWS_ALLOW_HTTP.
        allow_http = self.s3_allow_http
        if allow_http is None:
            allow_http = os.environ.get("AWS_ALLOW_HTTP", "").lower() in ("1", "true", "yes")
        client["allow_http"] = allow_http
        return {
            "config": {k: v for k, v in config.items() if v is not None},
            "client_options": client,
            "retry_config": {
                "max_retries": self.s3_max_retries,
                "retry_timeout": timedelta(seconds=self.s3_timeout_seconds),
                "backoff": {
                    "init_backoff": timedelta(milliseconds=100),
                    "max_backoff": timedelta(seconds=2),
                    "base": 2,
                },
            },
        }
