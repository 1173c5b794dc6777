"""invitations of their own: one row per invited address, whether or not it has an account

Revision ID: 0010_invitations
Revises: 0009_public_index_public_text
Create Date: 2026-12-05 10:00:00

An invitation used to be an account without a password, made only for an address that had
no account yet; so the organisation page showed a pending colleague for a new address and
nothing for one that had an account elsewhere. Now every invitation is an ``invitation``
row, and the account is made when the invitation is accepted.

Accounts invited before this revision (provider accounts without a password, still active)
get an invitation row pointing at them (``user_id``), so their links keep working. The
downgrade drops the table: invitations made after this revision are lost (the accounts
made by accepting them stay).
"""
import sqlalchemy as sa
from alembic import op


revision = '0010_invitations'
down_revision = '0009_public_index_public_text'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.Enum('provider_user', 'provider_admin', 'reviewer', 'publisher',
                                  'admin', name='role', native_enum=False,
                                  create_constraint=True, length=32), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('times_sent', sa.Integer(), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("role IN ('provider_user', 'provider_admin')",
                           name=op.f('ck_invitation_invites_to_provider_roles')),
        sa.CheckConstraint('accepted_at IS NULL OR withdrawn_at IS NULL',
                           name=op.f('ck_invitation_accepted_or_withdrawn')),
        sa.ForeignKeyConstraint(['invited_by_id'], ['user.id'],
                                name=op.f('fk_invitation_invited_by_id_user')),
        sa.ForeignKeyConstraint(['provider_id'], ['provider.id'],
                                name=op.f('fk_invitation_provider_id_provider')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_invitation_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_provider_id'), ['provider_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_user_id'), ['user_id'], unique=False)

    # Pending invitations of the old kind: who invited and when the last mail went come
    # from the audit trail where it has them.
    op.execute(sa.text(
        """
        INSERT INTO invitation (provider_id, email, name, role, invited_by_id, created_at,
                                last_sent_at, times_sent, user_id)
        SELECT u.provider_id, lower(u.email), u.name, u.role,
               (SELECT a.actor_id FROM audit_event a
                 WHERE a.action = 'user.invite' AND a.object_type = 'user'
                   AND a.object_id = u.id
                 ORDER BY a.id LIMIT 1),
               u.created_at,
               COALESCE((SELECT max(a.at) FROM audit_event a
                          WHERE a.action IN ('user.invite', 'user.invite_again')
                            AND a.object_type = 'user' AND a.object_id = u.id),
                        u.created_at),
               1 + (SELECT count(*) FROM audit_event a
                     WHERE a.action = 'user.invite_again' AND a.object_type = 'user'
                       AND a.object_id = u.id),
               u.id
          FROM "user" u
         WHERE u.password_hash IS NULL
           AND u.active = :yes
           AND u.provider_id IS NOT NULL
           AND u.role IN ('provider_user', 'provider_admin')
        """
    ).bindparams(yes=True))


def downgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_user_id'))
        batch_op.drop_index(batch_op.f('ix_invitation_provider_id'))
        batch_op.drop_index(batch_op.f('ix_invitation_email'))
    op.drop_table('invitation')
