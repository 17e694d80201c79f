"""The audit log becomes binding: one chain (``prev_hash`` unique) and, on PostgreSQL, a trigger
that refuses UPDATE and DELETE, plus the function that takes the chain lock (see accounts.audit).

A migration of its own, after 0003 has chained the existing rows: PostgreSQL will not alter a
table in the same transaction that just updated its rows while foreign-key checks are pending."""

from django.db import migrations, models

from accounts.audit import CHAIN_LOCK_KEY

POSTGRESQL_CREATE = f"""
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'accounts_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER accounts_auditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only();

-- Takes the chain lock for the rest of the caller's transaction, then reads the last hash in a
-- statement of its own (a VOLATILE function takes a new snapshot per statement), so it sees every
-- row committed by the writer that held the lock before.
CREATE OR REPLACE FUNCTION accounts_auditevent_chain_head() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK_KEY});
    RETURN (SELECT row_hash FROM accounts_auditevent ORDER BY id DESC LIMIT 1);
END
$$;
"""

POSTGRESQL_DROP = """
DROP FUNCTION IF EXISTS accounts_auditevent_chain_head();
DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_auditevent_append_only();
"""


def postgresql_guards_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, params=None)


def postgresql_guards_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_security_baseline"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(editable=False, max_length=64, unique=True, verbose_name="前一条摘要"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["action", "-created_at"], name="accounts_au_action_086bbe_idx"),
        ),
        # Last: from here on the table refuses UPDATE and DELETE on PostgreSQL.
        migrations.RunPython(postgresql_guards_create, postgresql_guards_drop),
    ]
