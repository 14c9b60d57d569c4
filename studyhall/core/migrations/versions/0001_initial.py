"""The first version: every table of studyhall/core/schema.py.

A database made before migrations (tables created by the stores themselves) is taken up
in place: tables that exist are kept, and the columns added later by hand (sessions.owner,
lti_platforms.page_origins) are added where missing.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("answer_cache",
        sa.Column("course", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("generation", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("course", "version", "generation", "key"),
        if_not_exists=True,
    )
    op.create_table("answer_cache_stats",
        sa.Column("course", sa.Text(), nullable=False),
        sa.Column("hits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("misses", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("course"),
        if_not_exists=True,
    )
    op.create_table("api_keys",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("secret_sha256", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("courses", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.CheckConstraint("scope IN ('read', 'instruct')"),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("last_used_at", sa.Double(), nullable=True),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table("course_access",
        sa.Column("course", sa.Text(), nullable=False),
        sa.Column("visibility", sa.Text(), nullable=False),
        sa.CheckConstraint("visibility IN ('public', 'lms', 'private')"),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("course"),
        if_not_exists=True,
    )
    op.create_table("eval_jobs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("course", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report_dir", sa.Text(), nullable=True),
        sa.Column("created", sa.Double(), nullable=False),
        sa.Column("started", sa.Double(), nullable=True),
        sa.Column("finished", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table("ingest_jobs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("course", sa.Text(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("current", sa.Text(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created", sa.Double(), nullable=False),
        sa.Column("started", sa.Double(), nullable=True),
        sa.Column("finished", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table("lti_logins",
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("state_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("nonce_used", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("state"),
        sa.UniqueConstraint("nonce"),
        if_not_exists=True,
    )
    op.create_table("lti_platforms",
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("deployment_ids", sa.Text(), nullable=False),
        sa.Column("auth_login_url", sa.Text(), nullable=False),
        sa.Column("auth_token_url", sa.Text(), nullable=True),
        sa.Column("jwks_url", sa.Text(), nullable=False),
        sa.Column("context_courses", sa.Text(), nullable=False),
        sa.Column("default_course", sa.Text(), nullable=True),
        sa.Column("page_origins", sa.Text(), server_default="[]", nullable=False),
        sa.PrimaryKeyConstraint("issuer", "client_id"),
        if_not_exists=True,
    )
    op.create_table("sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("course", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table("messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.CheckConstraint("role IN ('user', 'assistant')"),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("standalone", sa.Text(), nullable=True),
        sa.Column("citations", sa.Text(), nullable=True),
        sa.Column("refused", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
        if_not_exists=True,
    )
    op.create_index("messages_session", "messages", ["session_id", "id"], unique=False,
                    if_not_exists=True)
    op.create_table("feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.CheckConstraint("rating IN (-1, 1)"),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
        if_not_exists=True,
    )
    inspector = sa.inspect(op.get_bind())
    if "owner" not in {c["name"] for c in inspector.get_columns("sessions")}:
        with op.batch_alter_table("sessions") as table:
            table.add_column(sa.Column("owner", sa.Text(), nullable=True))
    if "page_origins" not in {c["name"] for c in inspector.get_columns("lti_platforms")}:
        with op.batch_alter_table("lti_platforms") as table:
            table.add_column(sa.Column("page_origins", sa.Text(), server_default="[]",
                                       nullable=False))


def downgrade() -> None:
    for table in ("feedback", "messages", "sessions", "lti_platforms", "lti_logins",
                  "ingest_jobs", "eval_jobs", "course_access", "api_keys",
                  "answer_cache_stats", "answer_cache"):
        op.drop_table(table)
