"""flows keyed by (project_id, id): a flow id names a flow within its project, so another
project naming the same id gets its own flow and cannot see or take over this one

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_COLUMNS = "project_id, id, meta, created_at, updated_at"


def _flows(name: str, key: list[str]) -> None:
    op.create_table(
        name,
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f(f"fk_{name}_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f(f"pk_{name}")),
    )


def _aside(table: str, select: str) -> None:
    """Copy a table's rows to `{table}_0010` (put back by `_restore`), then drop it."""
    op.execute(f"CREATE TABLE {table}_0010 AS {select}")
    op.drop_table(table)


def _restore(table: str, columns: str, where: str = "") -> None:
    op.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}_0010 {where}")
    op.execute(f"DROP TABLE {table}_0010")


def _aliases(key: list[str], flow_key: list[str], flow_name: str) -> None:
    op.create_table(
        "flow_aliases",
        *(sa.Column(name, sa.Uuid(), nullable=False) for name in key[:-1]),
        sa.Column("alias", sa.String(length=65), nullable=False),
        sa.Column("image_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            key[:-1], [f"flows.{c}" for c in flow_key], name=flow_name, ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_flow_aliases_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_flow_aliases")),
    )
    op.create_index("ix_flow_aliases_image", "flow_aliases", ["image_id"])


def upgrade() -> None:
    op.drop_index("ix_flow_aliases_image", table_name="flow_aliases")
    _aside(
        "flow_aliases",
        "SELECT f.project_id AS project_id, a.flow_id AS flow_id, a.alias AS alias, "
        "a.image_id AS image_id FROM flow_aliases a JOIN flows f ON f.id = a.flow_id",
    )
    op.drop_index("ix_flows_project", table_name="flows")
    _aside("flows", f"SELECT {_COLUMNS} FROM flows")
    _flows("flows", ["project_id", "id"])
    _restore("flows", _COLUMNS)
    _aliases(["project_id", "flow_id", "alias"], ["project_id", "id"], "fk_flow_aliases_flow")
    _restore("flow_aliases", "project_id, flow_id, alias, image_id")


def downgrade() -> None:
    """Back to one global id space: where projects share a flow id, the oldest row keeps it."""
    op.drop_index("ix_flow_aliases_image", table_name="flow_aliases")
    _aside("flow_aliases", "SELECT project_id, flow_id, alias, image_id FROM flow_aliases")
    _aside("flows", f"SELECT {_COLUMNS} FROM flows")
    _flows("flows", ["id"])
    op.create_index("ix_flows_project", "flows", ["project_id", "id"])
    _restore(
        "flows",
        _COLUMNS,
        "AS f WHERE NOT EXISTS (SELECT 1 FROM flows_0010 AS g WHERE g.id = f.id AND "
        "(g.created_at < f.created_at OR (g.created_at = f.created_at AND "
        "g.project_id < f.project_id)))",
    )
    _aliases(["flow_id", "alias"], ["id"], op.f("fk_flow_aliases_flow_id_flows"))
    _restore(
        "flow_aliases",
        "flow_id, alias, image_id",
        "AS a WHERE EXISTS (SELECT 1 FROM flows AS f WHERE f.id = a.flow_id AND "
        "f.project_id = a.project_id)",
    )
