"""What staff read: a typed offline reason's words, typed thanks as ratings, buttons offered
and pressed in the conversation viewer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

COLUMNS = (
    ('offline_reasons', 'text', sa.Text),
    ('answer_ratings', 'typed', sa.Boolean),
    ('analytics_messages', 'buttons', sa.Text),
    ('analytics_messages', 'pressed', sa.Boolean),
    ('analytics_conversations', 'last_action', lambda: sa.String(length=64)),
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    for table, column, kind in COLUMNS:
        if table in tables and column not in {c['name'] for c in inspector.get_columns(table)}:
            op.add_column(table, sa.Column(column, kind(), nullable=True))


def downgrade() -> None:
    for table, column, _ in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
