"""The two likeliest intents of a message not understood (analytics_messages.guesses)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:15:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if 'analytics_messages' not in inspector.get_table_names():
        return  # an adopted database without the analytics tables: they are made whole (see 0002)
    if 'guesses' not in {c['name'] for c in inspector.get_columns('analytics_messages')}:
        op.add_column('analytics_messages', sa.Column('guesses', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('analytics_messages') as batch:
        batch.drop_column('guesses')
