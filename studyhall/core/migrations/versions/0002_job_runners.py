"""Jobs say who runs them and when it last beat: ``worker`` and ``heartbeat`` on both job
tables, for jobs run by ``studyhall worker`` processes on other machines.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("ingest_jobs", "eval_jobs")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as table:
            table.add_column(sa.Column("worker", sa.Text(), nullable=True))
            table.add_column(sa.Column("heartbeat", sa.Double(), nullable=True))


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as table:
            table.drop_column("heartbeat")
            table.drop_column("worker")
