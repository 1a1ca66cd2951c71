"""Baseline: every table of the assistant's database (store, analytics, staff app)

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 02:31:50.752254
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('answer_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('procedure_id', sa.String(length=64), nullable=True),
    sa.Column('rating', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('delivered_events',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_table('funnel_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('procedure_id', sa.String(length=64), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=True),
    sa.Column('locality', sa.String(length=128), nullable=True),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('dossier_code', sa.String(length=32), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_funnel_events_stage_at', 'funnel_events', ['stage', 'at'], unique=False)
    op.create_table('offline_reasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('procedure_id', sa.String(length=64), nullable=True),
    sa.Column('field', sa.String(length=64), nullable=True),
    sa.Column('locality', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('dossier_code', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sender_id', 'dossier_code', name='uq_subscription_sender_code')
    )
    op.create_table('verification_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_verification_failures_sender_at', 'verification_failures', ['sender_id', 'at'], unique=False)
    op.create_table('analytics_broker_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('type_name', sa.String(length=255), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=True),
    sa.Column('intent_name', sa.String(length=255), nullable=True),
    sa.Column('action_name', sa.String(length=255), nullable=True),
    sa.Column('data', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest')
    )
    op.create_table('analytics_checkpoint',
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('last_event_id', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )
    op.create_table('analytics_conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('message_count', sa.Integer(), nullable=False),
    sa.Column('procedure', sa.String(length=128), nullable=True),
    sa.Column('locality', sa.String(length=255), nullable=True),
    sa.Column('last_user_event_id', sa.BigInteger(), nullable=True),
    sa.Column('last_user_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('awaiting_reply', sa.Boolean(), nullable=False),
    sa.Column('prompt', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sender_id')
    )
    op.create_index('ix_analytics_conversations_last_day', 'analytics_conversations', ['last_day'], unique=False)
    op.create_table('analytics_handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('procedure', sa.String(length=128), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index('ix_analytics_handoffs_day', 'analytics_handoffs', ['day'], unique=False)
    op.create_table('analytics_lookups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index('ix_analytics_lookups_day', 'analytics_lookups', ['day'], unique=False)
    op.create_table('analytics_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('actor', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('intent', sa.String(length=128), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('procedure', sa.String(length=128), nullable=True),
    sa.Column('locality', sa.String(length=255), nullable=True),
    sa.Column('fallback', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index('ix_analytics_messages_conversation', 'analytics_messages', ['conversation_id', 'event_id'], unique=False)
    op.create_index('ix_analytics_messages_day_actor', 'analytics_messages', ['day', 'actor'], unique=False)
    op.create_table('analytics_secrets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('analytics_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('target_share', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope', 'key', name='uq_analytics_targets_scope_key')
    )
    op.create_table('staff_login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_name', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_staff_login_failures_name_at', 'staff_login_failures', ['user_name', 'at'], unique=False)
    op.create_table('staff_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_name', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_staff_sessions_user', 'staff_sessions', ['user_name'], unique=False)
    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('staff_users')
    op.drop_index('ix_staff_sessions_user', table_name='staff_sessions')
    op.drop_table('staff_sessions')
    op.drop_index('ix_staff_login_failures_name_at', table_name='staff_login_failures')
    op.drop_table('staff_login_failures')
    op.drop_table('analytics_targets')
    op.drop_table('analytics_secrets')
    op.drop_index('ix_analytics_messages_day_actor', table_name='analytics_messages')
    op.drop_index('ix_analytics_messages_conversation', table_name='analytics_messages')
    op.drop_table('analytics_messages')
    op.drop_index('ix_analytics_lookups_day', table_name='analytics_lookups')
    op.drop_table('analytics_lookups')
    op.drop_index('ix_analytics_handoffs_day', table_name='analytics_handoffs')
    op.drop_table('analytics_handoffs')
    op.drop_index('ix_analytics_conversations_last_day', table_name='analytics_conversations')
    op.drop_table('analytics_conversations')
    op.drop_table('analytics_checkpoint')
    op.drop_table('analytics_broker_events')
    op.drop_index('ix_verification_failures_sender_at', table_name='verification_failures')
    op.drop_table('verification_failures')
    op.drop_table('subscriptions')
    op.drop_table('offline_reasons')
    op.drop_index('ix_funnel_events_stage_at', table_name='funnel_events')
    op.drop_table('funnel_events')
    op.drop_table('delivered_events')
    op.drop_table('answer_ratings')
