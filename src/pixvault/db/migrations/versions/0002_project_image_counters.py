"""project image counters

Listing a project's images reports an exact `total`; counting 100k rows per page request costs
more than the page itself, so each project keeps its live and soft-deleted image counts, kept
exact by the same transactions that add and remove images.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch_op:
        for name in ("live_images", "deleted_images"):
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default=sa.text("0"))
            )
    op.execute(
        """
        UPDATE projects SET
          live_images = (SELECT count(*) FROM images
                         WHERE images.project_id = projects.id AND images.deleted_at IS NULL),
          deleted_images = (SELECT count(*) FROM images
                            WHERE images.project_id = projects.id
                              AND images.deleted_at IS NOT NULL)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch_op:
        batch_op.drop_column("deleted_images")
        batch_op.drop_column("live_images")
