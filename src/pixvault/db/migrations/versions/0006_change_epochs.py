"""change epochs: a counter per memoised kind of row, moved by every change to it

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_epochs",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_epochs")),
    )
    op.execute("INSERT INTO change_epochs (name, value) VALUES ('keys', 0)")


def downgrade() -> None:
    op.drop_table("change_epochs")
