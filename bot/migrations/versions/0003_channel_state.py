"""Channel state shared by every Rasa server: Telegram button payloads, the Zalo token pair

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 21:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())  # see 0002: adopted databases
    if 'telegram_buttons' not in existing:
        op.create_table('telegram_buttons',
        sa.Column('key', sa.String(length=32), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key')
        )
        op.create_index('ix_telegram_buttons_sent_at', 'telegram_buttons', ['sent_at'], unique=False)
    if 'zalo_tokens' not in existing:
        op.create_table('zalo_tokens',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('record', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name')
        )


def downgrade() -> None:
    op.drop_table('zalo_tokens')
    op.drop_index('ix_telegram_buttons_sent_at', table_name='telegram_buttons')
    op.drop_table('telegram_buttons')
