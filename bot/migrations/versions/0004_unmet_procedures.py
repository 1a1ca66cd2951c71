"""Procedures asked about without detailed guidance (analytics_unmet), for «Thủ tục được hỏi mà chưa có»

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 15:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())  # see 0002: adopted databases
    if 'analytics_unmet' not in existing:
        op.create_table('analytics_unmet',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('sender_id', sa.String(length=255), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=True),
        sa.Column('procedure', sa.String(length=128), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id')
        )
        op.create_index('ix_analytics_unmet_day', 'analytics_unmet', ['day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_analytics_unmet_day', table_name='analytics_unmet')
    op.drop_table('analytics_unmet')
