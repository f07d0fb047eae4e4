"""folder paths: one image per (project, partition, collection, channel, filename)

The vault surface addresses an asset by its folder path; this index makes that lookup one
index probe and makes a duplicate live path impossible even under concurrent uploads. Images
without folders (partition NULL) never collide: NULLs are distinct in unique indexes on
both SQLite and PostgreSQL. Soft-deleted images free their path (a partial index).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_images_folder_path",
        "images",
        ["project_id", "partition", "collection", "channel", "filename"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_images_folder_path", table_name="images")
