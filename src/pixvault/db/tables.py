"""Table definitions (SQLAlchemy Core). Migrations in `db/migrations` create exactly these."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, nullable: bool = False) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


organizations = Table(
    "organizations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    _ts("created_at"),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("settings", JSON, nullable=False),
    _ts("created_at"),
    # Exact image counts for list totals, kept by the transactions that add and remove images.
    Column("live_images", BigInteger, nullable=False, server_default=text("0")),
    Column("deleted_images", BigInteger, nullable=False, server_default=text("0")),
    UniqueConstraint("org_id", "slug", name="uq_projects_org_slug"),
)

images = Table(
    "images",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("project_id", Uuid, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    # No foreign key: an upload may name a pending flow whose row is created lazily.
    Column("flow_id", Uuid, nullable=True),
    Column("source", String(16), nullable=False),
    Column("alias", String(65), nullable=True),
    Column("storage_key", String(512), nullable=False),
    Column("mime_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("focal_x", Float, nullable=True),
    Column("focal_y", Float, nullable=True),
    Column("meta", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("description", Text, nullable=True),
    Column("is_public", Boolean, nullable=False, server_default=text("true")),
    Column("views", BigInteger, nullable=False, server_default=text("0")),
    Column("filename", String(255), nullable=True),
    Column("partition", String(128), nullable=True),
    Column("collection", String(128), nullable=True),
    Column("channel", String(128), nullable=True),
    Column("owner_id", Uuid, nullable=True),
    # Shown while the image loads: a BlurHash and the average colour (#rrggbb).
    Column("blurhash", String(64), nullable=True),
    Column("dominant_color", String(7), nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("deleted_at", nullable=True),
    UniqueConstraint("project_id", "alias", name="uq_images_project_alias"),
    # UUIDv7 ids are time ordered, so (project, id) serves newest-first pages.
    Index(
        "ix_images_live",
        "project_id",
        "id",
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index("ix_images_flow", "project_id", "flow_id", "id"),
    # `?fileHash=` and `pixvault upload`'s skip-what-is-held look up live images by content.
    Index(
        "ix_images_hash",
        "project_id",
        "sha256",
        "id",
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index("ix_images_deleted", "deleted_at"),
    # A user's live images, newest first (Slink's history), and their count.
    Index(
        "ix_images_owner",
        "project_id",
        "owner_id",
        "id",
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
    # A folder path names one live image (vault assets); NULL folders never collide.
    Index(
        "uq_images_folder_path",
        "project_id",
        "partition",
        "collection",
        "channel",
        "filename",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
)

# A flow id names a flow within its project (the key is both): another project naming the
# same id gets its own flow, so a foreign id behaves exactly like an unknown one.
flows = Table(
    "flows",
    metadata,
    Column(
        "project_id",
        Uuid,
        ForeignKey("projects.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("id", Uuid, primary_key=True),
    Column("meta", JSON, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
)

flow_aliases = Table(
    "flow_aliases",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("flow_id", Uuid, primary_key=True),
    Column("alias", String(65), primary_key=True),
    Column("image_id", Uuid, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    ForeignKeyConstraint(
        ["project_id", "flow_id"],
        ["flows.project_id", "flows.id"],
        name="fk_flow_aliases_flow",
        ondelete="CASCADE",
    ),
    Index("ix_flow_aliases_image", "image_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("project_id", Uuid, ForeignKey("projects.id", ondelete="CASCADE"), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("label", String(200), nullable=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    _ts("expires_at", nullable=True),
    _ts("last_used_at", nullable=True),
    _ts("revoked_at", nullable=True),
    _ts("created_at"),
    # Keys a user creates for themselves (Slink's `sk_` keys act as that user).
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Index("ix_api_keys_user", "user_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("is_admin", Boolean, nullable=False, server_default=text("false")),
    _ts("created_at"),
    # Browser sessions issued before this moment are over (signing out ends them all).
    _ts("signed_out_at", nullable=True),
)

project_members = Table(
    "project_members",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", Uuid, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    _ts("created_at"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    _ts("created_at"),
    _ts("expires_at"),
    # Set when the token is exchanged (rotation) or revoked (logout); it never works again.
    _ts("used_at", nullable=True),
    Index("ix_refresh_tokens_user", "user_id"),
)

# Instance-wide secrets every process must share (the JWT signing key).
instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
    _ts("created_at"),
)

# Signed vault URLs revoked before they expire, and asset paths whose delivery is revoked.
url_revocations = Table(
    "url_revocations",
    metadata,
    Column("project_id", Uuid, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(8), primary_key=True),  # token | path
    Column("value", String(1100), primary_key=True),
    _ts("expires_at", nullable=True),
    _ts("created_at"),
)

# Counters that move whenever something every process memoises changes (revoked keys), so
# each process can tell its memo is stale with one primary-key read.
change_epochs = Table(
    "change_epochs",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Stored derivatives with their size and (coarse) last access, for the per-project quota's
# least-recently-used eviction (services/quota.py). The blob is the derivative; a row without
# its blob is harmless (eviction deletes both, a re-render writes both again).
derivatives = Table(
    "derivatives",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("project_id", Uuid, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("image_id", Uuid, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("size", BigInteger, nullable=False),
    _ts("last_access"),
    Index("ix_derivatives_lru", "project_id", "last_access", "size"),
)
