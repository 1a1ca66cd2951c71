"""Dossier lookups locked per dossier code across senders and channels, not only per sender

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 20:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An embedded database adopted by `migrate` (stamped at 0001) may already hold the new
    # tables, created directly by a newer version: create only what is missing.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if 'lookup_failures' not in existing:
        _create_failures()
    if 'lookup_locks' not in existing:
        _create_locks()
    if 'verification_failures' in existing:
        # Failures counted only per sender, without the code: a lock lasts 15 minutes, so
        # nothing of value is lost.
        op.drop_index('ix_verification_failures_sender_at', table_name='verification_failures')
        op.drop_table('verification_failures')


def _create_failures() -> None:
    op.create_table('lookup_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('dossier_code', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('forgiven', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_lookup_failures_sender_at', 'lookup_failures', ['sender_id', 'at'], unique=False)
    op.create_index('ix_lookup_failures_code_at', 'lookup_failures', ['dossier_code', 'at'], unique=False)


def _create_locks() -> None:
    op.create_table('lookup_locks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_lookup_locks_scope_key_until', 'lookup_locks', ['scope', 'key', 'until'], unique=False)


def downgrade() -> None:
    op.create_table('verification_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_verification_failures_sender_at', 'verification_failures', ['sender_id', 'at'], unique=False)
    op.drop_index('ix_lookup_locks_scope_key_until', table_name='lookup_locks')
    op.drop_table('lookup_locks')
    op.drop_index('ix_lookup_failures_code_at', table_name='lookup_failures')
    op.drop_index('ix_lookup_failures_sender_at', table_name='lookup_failures')
    op.drop_table('lookup_failures')
