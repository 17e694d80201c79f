"""The audit chain becomes keyed (HMAC-SHA256 under settings.AUDIT_CHAIN_KEY), and TRUNCATE joins
UPDATE and DELETE among what the table refuses.

Existing rows were chained with plain SHA-256, which anyone who can write the table can recompute.
They are re-sealed here, once, under the key, but only after the old chain has been checked whole:
a chain already broken is never blessed with valid MACs (the migration stops and says where). A
row ``audit.rekey`` then records how many rows were re-sealed and the old chain's head.

On PostgreSQL this runs as the owner role (``manage.py migrate`` with DATABASE_OWNER_URL), which
alone may switch the append-only trigger off for the re-sealing. TRUNCATE is refused unless the
table's owner itself (not a member of its role) explicitly asks for it in its own session (``SET zhenggai.audit_truncate =
'allowed'``), which the test suite does to empty its scratch database between tests; the
application role owns nothing and can neither ask nor switch the trigger off.
"""

from django.db import migrations
from django.utils import timezone

from accounts.audit import CHAIN_LOCK_KEY, GENESIS, legacy_row_hash, row_hash

TRIGGER = "accounts_auditevent_append_only"

POSTGRESQL_GUARDS = """
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_setting('zhenggai.audit_truncate', true) = 'allowed'
       AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'accounts_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER accounts_auditevent_no_truncate
    BEFORE TRUNCATE ON accounts_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_auditevent_append_only();
"""

POSTGRESQL_GUARDS_DROP = "DROP TRIGGER IF EXISTS accounts_auditevent_no_truncate ON accounts_auditevent;"


class BrokenLegacyChain(RuntimeError):
    pass


def reseal_with_key(apps, schema_editor):
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    postgresql = schema_editor.connection.vendor == "postgresql"
    with schema_editor.connection.cursor() as cursor:
        if postgresql:
            # No writer may append while the chain is re-sealed; then pending foreign-key checks
            # run now, as PostgreSQL alters no table with checks still pending.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    events = list(AuditEvent.objects.order_by("id"))
    previous = GENESIS
    for position, event in enumerate(events, start=1):
        if event.prev_hash != previous or event.row_hash != legacy_row_hash(previous, event):
            raise BrokenLegacyChain(
                f"审计日志哈希链在第 {event.id} 号记录（链中第 {position} 条）处断裂，不能改为带密钥的链。"
                "请先用升级前的版本执行 manage.py verify_audit_chain 查明原因（见 docs/OPERATIONS.md）。"
            )
        previous = event.row_hash
    if not events:
        return
    old_head = previous
    if postgresql:
        schema_editor.execute(f"ALTER TABLE accounts_auditevent DISABLE TRIGGER {TRIGGER}")
    previous = GENESIS
    for event in events:
        event.prev_hash = previous
        event.row_hash = row_hash(previous, event)
        # Through the old values first: prev_hash is unique, and the new values are all new.
        AuditEvent.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, row_hash=event.row_hash)
        previous = event.row_hash
    if postgresql:
        schema_editor.execute(f"ALTER TABLE accounts_auditevent ENABLE TRIGGER {TRIGGER}")
    record = AuditEvent(
        actor=None,
        action="audit.rekey",
        target_type="accounts.auditevent",
        target_id="",
        target_repr="审计日志哈希链改为带密钥",
        changes={"rows": len(events), "old_head": old_head, "scheme": "HMAC-SHA256"},
        outcome="success",
        ip=None,
        created_at=timezone.now(),
        prev_hash=previous,
    )
    record.row_hash = row_hash(previous, record)
    record.save(force_insert=True)


def guards_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_GUARDS, params=None)


def guards_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_GUARDS_DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0006_admin_approval"),
    ]

    operations = [
        # Not reversible: the keyed MACs cannot be turned back into the old hashes without
        # rewriting history again.
        migrations.RunPython(reseal_with_key, migrations.RunPython.noop),
        migrations.RunPython(guards_create, guards_drop),
    ]
