"""placeholders: a BlurHash and the average colour of each image, made at upload

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images") as batch_op:
        batch_op.add_column(sa.Column("blurhash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("dominant_color", sa.String(length=7), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("images") as batch_op:
        batch_op.drop_column("dominant_color")
        batch_op.drop_column("blurhash")
