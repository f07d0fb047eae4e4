"""One Settings object, read from `PIXVAULT_*` environment variables and a `.env` file."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIXVAULT_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    database_schema: str | None = None
    storage_url: str | None = None
    public_url: str | None = None
    max_upload_bytes: int = Field(5 * 1024 * 1024, gt=0)
    host: str = "127.0.0.1"
    port: int = 8000

    # Delivery
    max_output_side: int = 8192
    max_output_area: int = 25_000_000
    max_source_pixels: int = 100_000_000
    mutable_max_age: int = 60
    render_workers: int = 0
    render_queue: int = 64
    auto_format_by_default: bool = False

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
