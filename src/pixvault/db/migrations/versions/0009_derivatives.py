"""derivatives: each stored derivative's size and last access, for the per-project quota

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "derivatives",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("image_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("last_access", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_derivatives_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name="fk_derivatives_image_id_images",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name="pk_derivatives"),
    )
    # Oldest first per project, with the size, so the quota's sum and eviction read one index.
    op.create_index("ix_derivatives_lru", "derivatives", ["project_id", "last_access", "size"])


def downgrade() -> None:
    op.drop_index("ix_derivatives_lru", table_name="derivatives")
    op.drop_table("derivatives")
