"""An audit log the application's insiders cannot falsify: the chain is keyed (HMAC under a key
that is not in the database) and its head is anchored outside the database, so that

- a row rewritten with the chain recomputed the old, unkeyed way,
- the newest rows deleted,
- the whole table emptied,
- the whole chain rewritten even by someone holding the key,

are each found by ``verify_audit_chain`` with the first bad position. Each attack is done here the
way the table's owner could do it behind the application's back."""

import hashlib
import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from accounts import anchoring, audit
from accounts.models import AuditEvent
from accounts.selectors import chain_verify
from accounts.services import audit_record

from .conftest import audit_triggers_off as _as_the_owner


@pytest.fixture
def anchor_file(settings, tmp_path):
    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit-anchors.jsonl"
    return settings.AUDIT_ANCHOR_FILE


def _rewrite_from(event_id, hash_function):
    """Change one row's text and recompute every hash from there on, as an insider would."""
    with _as_the_owner(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditevent SET target_repr = %s WHERE id = %s", ["改过的对象", event_id])
        previous = AuditEvent.objects.filter(id__lt=event_id).order_by("-id").values_list("row_hash", flat=True)
        previous = previous.first() or audit.GENESIS
        # Unique prev_hash: move the rows out of the way first, then write the recomputed chain.
        rows = list(AuditEvent.objects.filter(id__gte=event_id).order_by("id"))
        for row in rows:
            cursor.execute("UPDATE accounts_auditevent SET prev_hash = %s WHERE id = %s", [f"x{row.id}", row.id])
        for row in rows:
            row.prev_hash = previous
            row.row_hash = hash_function(previous, row)
            cursor.execute(
                "UPDATE accounts_auditevent SET prev_hash = %s, row_hash = %s WHERE id = %s",
                [row.prev_hash, row.row_hash, row.id],
            )
            previous = row.row_hash


def _delete_newest(count):
    newest = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True)[:count])
    with _as_the_owner(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM accounts_auditevent WHERE id IN ({','.join(map(str, newest))})")


def _empty_the_table():
    with _as_the_owner(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE accounts_auditevent")
        else:
            cursor.execute("DELETE FROM accounts_auditevent")


def _verify(*paths):
    out = io.StringIO()
    call_command("verify_audit_chain", *[f"--anchors={p}" for p in paths], stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestKeyedChain:
    def test_a_row_rewritten_with_the_chain_recomputed_unkeyed_is_found(self, world):
        victim = AuditEvent.objects.order_by("id")[4]
        _rewrite_from(victim.id, audit.legacy_row_hash)
        broken, checked = chain_verify()
        assert (broken.event_id, broken.position, checked) == (victim.id, 5, 4)
        assert "内容被改动" in broken.reason
        with pytest.raises(CommandError, match=f"第 {victim.id} 号记录"):
            _verify()

    def test_a_chain_recomputed_under_another_key_is_found(self, world):
        victim = AuditEvent.objects.order_by("id")[2]
        _rewrite_from(victim.id, lambda prev, row: audit.row_hash(prev, row, key=b"k" * 32))
        assert chain_verify()[0].event_id == victim.id

    def test_the_hash_depends_on_the_key(self, world, settings):
        event = AuditEvent.objects.order_by("id").first()
        assert audit.row_hash(event.prev_hash, event) == event.row_hash
        assert event.row_hash != audit.legacy_row_hash(event.prev_hash, event)
        settings.AUDIT_CHAIN_KEY = hashlib.sha256(b"another key").digest()
        assert chain_verify()[0].position == 1


@pytest.mark.django_db
class TestAnchors:
    def test_anchoring_appends_the_head_and_records_the_act(self, world, anchor_file):
        first = anchoring.anchor_append()
        audit_record(actor=world.office, action="test.later", target=world.problem)
        second = anchoring.anchor_append()
        lines = anchor_file.read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["rows"] for line in lines] == [first.rows, second.rows]
        assert second.rows == AuditEvent.objects.count() == first.rows + 2
        # The anchor names the last row, which is the record of the anchoring itself.
        last = AuditEvent.objects.order_by("-id").first()
        assert (second.last_id, second.row_hash, last.action) == (last.id, last.row_hash, "audit.anchor")
        assert "与 2 个锚点相符" in _verify(anchor_file)

    def test_a_deleted_tail_is_found_against_the_anchor(self, world, anchor_file):
        anchor = anchoring.anchor_append()
        _delete_newest(3)
        # The chain that is left is whole: only the anchor tells.
        assert chain_verify() == (None, anchor.rows - 3)
        with pytest.raises(CommandError) as raised:
            _verify(anchor_file)
        message = str(raised.value)
        assert f"链中第 {anchor.rows - 2} 条记录" in message
        assert f"记有 {anchor.rows} 条" in message and f"现只有 {anchor.rows - 3} 条" in message

    def test_an_emptied_table_is_found_against_the_anchor(self, world, anchor_file):
        anchor = anchoring.anchor_append()
        _empty_the_table()
        assert chain_verify() == (None, 0)
        with pytest.raises(CommandError, match=f"链中第 1 条记录.*记有 {anchor.rows} 条"):
            _verify(anchor_file)

    def test_a_whole_chain_rewritten_with_the_key_is_found_where_it_was_anchored(self, world, anchor_file):
        anchor = anchoring.anchor_append()
        first = AuditEvent.objects.order_by("id").first()
        _rewrite_from(first.id, audit.row_hash)
        # Whoever holds the key can make the rows agree with each other ...
        assert chain_verify()[0] is None
        # ... but not with the head written down outside the database.
        with pytest.raises(CommandError, match=f"链中第 {anchor.rows} 条）处：.*锚点不符"):
            _verify(anchor_file)

    def test_a_forged_or_altered_anchor_is_refused(self, world, anchor_file):
        anchoring.anchor_append()
        line = json.loads(anchor_file.read_text(encoding="utf-8"))
        line["rows"] -= 1
        anchor_file.write_text(json.dumps(line) + "\n", encoding="utf-8")
        with pytest.raises(CommandError, match="锚点文件第 1 行校验码不符"):
            _verify(anchor_file)

    def test_a_broken_chain_is_not_anchored(self, world, anchor_file):
        anchoring.anchor_append()
        before = anchor_file.read_text(encoding="utf-8")
        _delete_newest(1)
        with pytest.raises(CommandError, match="未锚定"):
            call_command("anchor_audit_chain", stdout=io.StringIO())
        assert anchor_file.read_text(encoding="utf-8") == before

    def test_without_an_anchor_the_command_says_what_it_could_not_check(self, world, anchor_file):
        assert "没有锚点" in _verify()

    def test_the_worker_anchors_every_day(self, world, anchor_file, settings):
        from accounts.tasks import anchor_audit_chain
        from config.celery import app

        schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
        assert "accounts.tasks.anchor_audit_chain" in schedule
        assert "accounts.tasks.anchor_audit_chain" in app.tasks
        assert anchor_audit_chain() == {
            "rows": AuditEvent.objects.count(),
            "last_id": AuditEvent.objects.order_by("id").last().id,
        }
        assert len(anchoring.anchors_from_file()) == 1


@pytest.mark.django_db
class TestTheAuditorsPages:
    def test_the_auditor_downloads_the_head_and_it_verifies(self, world, client, anchor_file, tmp_path):
        client.force_login(world.auditadmin)
        response = client.get(reverse("accounts:audit_anchor"))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="audit-anchor-')
        kept = tmp_path / "kept.jsonl"
        kept.write_bytes(response.content)
        (anchor,) = audit.anchors_read(response.content.decode())
        assert anchor.rows == AuditEvent.objects.filter(id__lte=anchor.last_id).count()
        # The download is itself recorded (after the anchored head).
        assert AuditEvent.objects.order_by("-id").first().action == "audit.anchor_download"
        _delete_newest(2)
        with pytest.raises(CommandError, match="记录缺失"):
            _verify(kept)

    def test_the_excel_export_carries_the_head_the_auditor_can_verify_against(self, world, client, tmp_path):
        client.force_login(world.auditadmin)
        response = client.get(reverse("accounts:audit_export"), {"format": "xlsx"})
        assert response.status_code == 200
        workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        explanation, line = [row[0] for row in workbook["链头锚点"].iter_rows(values_only=True)]
        (anchor,) = audit.anchors_read(line)
        # The head includes the export's own record, the last row when the file was made.
        export_row = AuditEvent.objects.filter(action="audit.export").get()
        assert (anchor.last_id, anchor.row_hash) == (export_row.id, export_row.row_hash)
        assert f"共 {anchor.rows} 条" in explanation
        kept = tmp_path / "from-the-export.jsonl"
        kept.write_text(line + "\n", encoding="utf-8")
        assert "与 1 个锚点相符" in _verify(kept)
        _delete_newest(1)
        with pytest.raises(CommandError, match="记录缺失"):
            _verify(kept)

    def test_the_check_button_reports_a_deleted_tail(self, world, client, anchor_file):
        anchoring.anchor_append()
        _delete_newest(2)
        client.force_login(world.auditadmin)
        response = client.post(reverse("accounts:audit_verify"), follow=True)
        text = response.content.decode()
        assert "完整性校验未通过" in text and "记录缺失" in text

    def test_the_check_button_reports_an_anchor_file_that_cannot_be_trusted(self, world, client, anchor_file):
        anchor_file.write_text("不是锚点\n", encoding="utf-8")
        client.force_login(world.auditadmin)
        response = client.post(reverse("accounts:audit_verify"), follow=True)
        assert "锚点文件不可信" in response.content.decode()
        assert AuditEvent.objects.filter(action="audit.verify").get().outcome == AuditEvent.Outcome.FAILURE

    @pytest.mark.parametrize("person", ["office", "sysadmin", "secadmin", "resp_staff", "leader", "provincial"])
    def test_no_one_else_gets_the_head(self, world, client, person):
        client.force_login(getattr(world, person))
        assert client.get(reverse("accounts:audit_anchor")).status_code == 403
        client.logout()
        assert client.get(reverse("accounts:audit_anchor")).status_code == 302


LEGACY = ("accounts", "0006_admin_approval")
KEYED = ("accounts", "0007_audit_keyed_chain")


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _migrate_to_the_latest():
    """Every app back to its newest migration: going back to accounts 0006 also unapplied the
    rectification migrations that depend on later accounts ones, which accounts' leaf alone would
    leave out (and every later test would then miss their columns)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    executor.loader.build_graph()
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def _legacy_rows(count):
    """Rows chained the way releases before the keyed chain chained them."""
    executor = MigrationExecutor(connection)
    LegacyEvent = executor.loader.project_state([LEGACY]).apps.get_model("accounts", "AuditEvent")
    from django.utils import timezone

    previous = LegacyEvent.objects.order_by("-id").values_list("row_hash", flat=True).first() or audit.GENESIS
    for number in range(count):
        event = LegacyEvent(action="legacy.act", target_type="accounts.user", target_repr=f"旧记录{number}")
        event.changes, event.outcome, event.created_at, event.prev_hash = {}, "success", timezone.now(), previous
        event.actor_id, event.ip, event.target_id = None, None, ""
        event.row_hash = audit.legacy_row_hash(previous, event)
        event.save(force_insert=True)
        previous = event.row_hash


@pytest.mark.django_db(transaction=True)
class TestUpgradeToTheKeyedChain:
    """Migration 0007 re-seals the rows of earlier releases under the key, once, if they verify."""

    def test_it_reseals_an_intact_legacy_chain_and_says_so(self):
        _migrate(LEGACY)
        try:
            _legacy_rows(4)
            _migrate(KEYED)
        finally:
            _migrate_to_the_latest()
        assert chain_verify() == (None, 5)
        rekey = AuditEvent.objects.order_by("-id").first()
        assert (rekey.action, rekey.changes["rows"], rekey.changes["scheme"]) == ("audit.rekey", 4, "HMAC-SHA256")

    def test_it_refuses_to_bless_a_broken_legacy_chain(self):
        _migrate(LEGACY)
        try:
            _legacy_rows(3)
            with connection.cursor() as cursor:
                cursor.execute("SELECT id FROM accounts_auditevent ORDER BY id LIMIT 1 OFFSET 1")
                (second,) = cursor.fetchone()
            with _as_the_owner(), connection.cursor() as cursor:
                cursor.execute("UPDATE accounts_auditevent SET target_repr = '改过' WHERE id = %s", [second])
            with pytest.raises(Exception, match=f"第 {second} 号记录（链中第 2 条）处断裂"):
                _migrate(KEYED)
        finally:
            _empty_the_table()
            _migrate_to_the_latest()
