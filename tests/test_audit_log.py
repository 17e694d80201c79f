"""The audit log: a row for each audited action (who, what, from where, success or failure),
append-only in the application and (on PostgreSQL) in the database, and a hash chain that finds
the first row changed behind the application's back."""

import io
import itertools
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DatabaseError, OperationalError, connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.audit import GENESIS
from accounts.models import AuditEvent, AuditLogAppendOnly
from accounts.selectors import chain_verify
from accounts.services import audit_record, audit_record_many, user_create

from .conftest import PASSWORD
from .conftest import audit_triggers_off as _as_an_insider

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LOGIN = reverse("accounts:login")


def _latest(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


@pytest.fixture
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


@pytest.mark.django_db
class TestWhatIsRecorded:
    def test_it_records_a_successful_login_with_the_address(self, world, client):
        client.post(LOGIN, {"username": "resp_lly", "password": PASSWORD}, REMOTE_ADDR="192.168.3.21")
        event = _latest("auth.login")
        assert event.actor == world.resp_staff
        assert event.ip == "192.168.3.21"
        assert event.outcome == AuditEvent.Outcome.SUCCESS

    def test_it_records_a_failed_login_without_the_password(self, world, client):
        client.post(LOGIN, {"username": "resp_lly", "password": "Secret-Typo-1"}, REMOTE_ADDR="192.168.3.22")
        event = _latest("auth.login_failed")
        assert event.outcome == AuditEvent.Outcome.FAILURE
        assert event.actor is None
        assert event.target_id == str(world.resp_staff.pk)
        assert event.changes == {"username": "resp_lly", "reason": "password", "locked": False}
        assert event.ip == "192.168.3.22"
        assert "Secret-Typo-1" not in str(event.changes)

    def test_it_records_a_failed_login_for_an_unknown_name(self, world, client):
        client.post(LOGIN, {"username": "nobody", "password": "x"})
        event = _latest("auth.login_failed")
        assert (event.target_type, event.target_id, event.target_repr) == ("accounts.user", "", "nobody")

    def test_it_records_the_failure_that_locks_the_account(self, world, client):
        for _ in range(5):
            client.post(LOGIN, {"username": "resp_lly", "password": "wrong"})
        assert _latest("auth.login_failed").changes["locked"] is True

    def test_it_records_a_logout(self, world, client):
        client.force_login(world.office)
        client.post(reverse("accounts:logout"))
        assert _latest("auth.logout").changes == {"reason": "user"}

    def test_it_records_an_upload_and_a_download_with_the_address(self, world, client, private_media):
        client.force_login(world.resp_staff)
        client.post(
            reverse("rectification:measure_evidence_upload", args=[world.resp_measure.pk]),
            {"file": SimpleUploadedFile("清退凭证.pdf", PDF), "kind": "receipt"},
            REMOTE_ADDR="172.16.0.9",
        )
        upload = _latest("evidence.upload")
        assert upload.actor == world.resp_staff and upload.ip == "172.16.0.9"
        client.get(reverse("rectification:evidence_download", args=[upload.target_id]), REMOTE_ADDR="172.16.0.10")
        download = _latest("evidence.download")
        assert download.actor == world.resp_staff and download.ip == "172.16.0.10"

    def test_it_records_an_export(self, world, client):
        client.force_login(world.office)
        client.get(reverse("rectification:excel:ledger", args=[world.round.pk]), REMOTE_ADDR="10.20.30.40")
        event = _latest("excel.export_ledger")
        assert event.actor == world.office and event.ip == "10.20.30.40"

    def test_it_records_a_workflow_transition(self, world):
        from rectification import services

        services.measure_reassign(actor=world.office, measure=world.coop_measure, owner_unit=world.resp_unit)
        event = _latest("measure.reassign")
        assert event.actor == world.office
        # Outside a request (a command, a task) there is no address.
        assert event.ip is None

    def test_it_records_a_permission_change_with_old_and_new_roles(self, world, client):
        # Taking a role away takes effect at once (adding one waits for approval: test_admin_approval).
        client.force_login(world.secadmin)
        client.post(
            reverse("accounts:security_user_roles", args=[world.leader.pk]),
            {"roles": []},
            REMOTE_ADDR="10.0.0.99",
        )
        event = _latest("security.roles_change")
        assert event.changes["roles"][0] == ["区领导（牵头/责任领导）"]
        assert event.ip == "10.0.0.99"

    def test_it_marks_actions_named_as_failures_as_failed(self, world):
        event = audit_record(actor=world.leader, action="closeout.leader.password_failed", target=world.problem)
        assert event.outcome == AuditEvent.Outcome.FAILURE

    def test_it_takes_the_address_behind_a_trusted_proxy(self, world, client, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        client.post(
            LOGIN,
            {"username": "office", "password": PASSWORD},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="6.6.6.6, 10.8.8.8",
        )
        # The proxy appended the real client; what the client wrote itself is ignored.
        assert _latest("auth.login").ip == "10.8.8.8"

    def test_it_ignores_x_forwarded_for_without_a_proxy(self, world, client):
        client.post(
            LOGIN, {"username": "office", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="6.6.6.6"
        )
        assert _latest("auth.login").ip == "10.1.1.1"


@pytest.mark.django_db
class TestAppendOnly:
    def test_it_refuses_to_save_a_row_again(self, world):
        event = AuditEvent.objects.first()
        event.action = "changed"
        with pytest.raises(AuditLogAppendOnly):
            event.save()

    def test_it_refuses_to_delete(self, world):
        with pytest.raises(AuditLogAppendOnly):
            AuditEvent.objects.first().delete()
        with pytest.raises(AuditLogAppendOnly):
            AuditEvent.objects.all().delete()

    def test_it_refuses_bulk_changes(self, world):
        with pytest.raises(AuditLogAppendOnly):
            AuditEvent.objects.update(action="x")
        with pytest.raises(AuditLogAppendOnly):
            AuditEvent.objects.bulk_create([AuditEvent(action="x")])

    def test_it_refuses_a_row_written_around_audit_record(self, world):
        with pytest.raises(AuditLogAppendOnly):
            AuditEvent(action="x", target_type="y").save()


def _raw_update(event_id):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditevent SET target_repr = %s WHERE id = %s", ["改过的内容", event_id])


def _raw_delete(event_id):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [event_id])


def _trigger_refuses(change, event_id):
    """On PostgreSQL the append-only trigger refuses the change outright, and the chain is intact."""
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change(event_id)
        assert chain_verify()[0] is None


@pytest.mark.django_db
class TestHashChain:
    def test_it_chains_every_row_to_the_one_before(self, world):
        events = list(AuditEvent.objects.order_by("id"))
        assert events[0].prev_hash == GENESIS
        for before, after in itertools.pairwise(events):
            assert after.prev_hash == before.row_hash
        assert chain_verify() == (None, len(events))

    def test_it_finds_a_row_changed_in_the_database(self, world):
        victim = AuditEvent.objects.order_by("id")[5]
        _trigger_refuses(_raw_update, victim.id)
        with _as_an_insider():
            _raw_update(victim.id)
        broken, checked = chain_verify()
        assert broken.event_id == victim.id
        assert "内容被改动" in broken.reason
        assert checked == 5

    def test_it_finds_a_row_deleted_from_the_middle(self, world):
        victim = AuditEvent.objects.order_by("id")[3]
        following = AuditEvent.objects.filter(id__gt=victim.id).order_by("id").first()
        _trigger_refuses(_raw_delete, victim.id)
        with _as_an_insider():
            _raw_delete(victim.id)
        broken, checked = chain_verify()
        assert broken.event_id == following.id
        assert "前一条摘要不符" in broken.reason
        assert checked == 3

    def test_the_command_reports_the_first_broken_row(self, world):
        out = io.StringIO()
        call_command("verify_audit_chain", stdout=out)
        assert "哈希链完整" in out.getvalue()
        victim = AuditEvent.objects.order_by("id")[2]
        with _as_an_insider():
            _raw_update(victim.id)
        with pytest.raises(CommandError, match=f"第 {victim.id} 号记录"):
            call_command("verify_audit_chain")

    def test_it_keeps_unusual_values_verifiable(self, world):
        audit_record(
            actor=None,
            action="test.values",
            target=world.problem,
            changes={
                "big": 1e16,
                "half": 0.5,
                "tuple": (1, 2),
                "nul": "a\x00b",
                3: "int key",
                "date": world.round.feedback_date,
            },
        )
        event = AuditEvent.objects.get(action="test.values")
        assert event.changes["nul"] == "ab"
        assert chain_verify()[0] is None


@pytest.mark.django_db
class TestManyRowsAtOnce:
    def test_it_chains_the_rows_onto_the_log_in_order(self, world):
        before = AuditEvent.objects.order_by("-id").first()
        events = audit_record_many(
            actor=world.office,
            entries=[
                ("test.many", world.problem, {"n": 1}),
                ("test.many", world.resp_measure, {"n": 2, "day": world.round.feedback_date}),
            ],
        )
        stored = list(AuditEvent.objects.filter(id__gt=before.id).order_by("id"))
        assert [e.pk for e in stored] == [e.pk for e in events]
        assert stored[0].prev_hash == before.row_hash and stored[1].prev_hash == stored[0].row_hash
        assert [(e.target_type, e.target_id, e.changes) for e in stored] == [
            ("rectification.problem", str(world.problem.pk), {"n": 1}),
            ("rectification.measure", str(world.resp_measure.pk), {"n": 2, "day": "2026-09-01"}),
        ]
        assert {(e.actor, e.outcome, e.ip) for e in stored} == {(world.office, AuditEvent.Outcome.SUCCESS, None)}
        assert chain_verify() == (None, AuditEvent.objects.count())

    def test_it_writes_what_audit_record_writes(self, world):
        single = audit_record(actor=world.office, action="test.same", target=world.problem, changes={"a": [1, 2]})
        (many,) = audit_record_many(actor=world.office, entries=[("test.same", world.problem, {"a": (1, 2)})])
        fields = ("actor_id", "action", "target_type", "target_id", "target_repr", "changes", "outcome", "ip")
        assert [getattr(many, f) for f in fields] == [getattr(single, f) for f in fields]
        assert many.created_at >= single.created_at

    def test_it_writes_nothing_for_no_entries(self, world, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert audit_record_many(actor=world.office, entries=[]) == []

    def test_it_refuses_rows_that_do_not_follow_each_other(self, world):
        events = audit_record_many(
            actor=world.office, entries=[("test.x", world.problem, {}), ("test.y", world.problem, {})]
        )
        unchained = [
            AuditEvent(action=e.action, target_type=e.target_type, prev_hash=e.prev_hash, row_hash=e.row_hash)
            for e in events
        ]
        with pytest.raises(AuditLogAppendOnly):
            AuditEvent.objects.all()._chained_insert(unchained[::-1])
        # Right links, wrong hash: the content is not what was hashed.
        unchained[0].target_repr = "改过"
        with pytest.raises(AuditLogAppendOnly):
            AuditEvent.objects.all()._chained_insert(unchained[:1])


@pytest.mark.django_db(transaction=True)
class TestConcurrentWriters:
    def test_it_keeps_one_chain_when_writers_race(self):
        actor = user_create(actor=None, username="racer", full_name="并发", password=PASSWORD)
        committed = []
        refused = []

        def write(n):
            try:
                for i in range(8):
                    try:
                        with transaction.atomic():
                            audit_record(actor=actor, action="test.race", target=actor, changes={"writer": n, "i": i})
                            if n == 0:
                                # One writer appends in batches, as the ledger import does.
                                entries = [("test.race_many", actor, {"i": i, "j": j}) for j in range(3)]
                                audit_record_many(actor=actor, entries=entries)
                    except OperationalError as error:
                        refused.append(error)
                    else:
                        committed.append(n)
            finally:
                connection.close()

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if connection.vendor == "postgresql":
            # The advisory lock makes writers wait for each other: every row is written.
            assert refused == []
        else:
            # SQLite has one writer at a time; a writer that read before another's write may be
            # refused ("database is locked"), and then none of that transaction's rows is written.
            assert all("locked" in str(error) for error in refused), refused
        assert len(committed) + len(refused) == 32 and committed
        # Exactly the committed transactions' rows, on one unbroken chain.
        assert AuditEvent.objects.filter(action="test.race").count() == len(committed)
        assert AuditEvent.objects.filter(action="test.race_many").count() == 3 * committed.count(0)
        assert chain_verify() == (None, AuditEvent.objects.count())


@pytest.mark.django_db
class TestRetention:
    def test_it_keeps_the_log_at_least_six_months(self, settings):
        from accounts.checks import security_baseline_check

        assert settings.AUDIT_RETENTION_DAYS >= 180
        assert security_baseline_check(None) == []
        settings.AUDIT_RETENTION_DAYS = 90
        assert [e.id for e in security_baseline_check(None)] == ["accounts.E003"]


@pytest.mark.django_db
class TestLoginAuditThroughAnotherClient:
    def test_it_records_the_admin_site_redirect_without_a_login(self, world):
        client = Client()
        response = client.post(reverse("admin:login"), {"username": "office", "password": PASSWORD})
        assert response.status_code == 302
        assert not AuditEvent.objects.filter(action="auth.login", actor=world.office).exists()


class TestAuditDigestOfFindingsText:
    def test_it_keeps_a_digest_that_proves_which_text_was_written(self):
        from rectification.services.audit import acts_only, text_digest

        changes = acts_only(
            {"code": "1.1.1", "text": ["旧的措施内容", "新的措施内容"], "due_date": ["2026-10-01", "2026-11-01"]}
        )
        assert changes["code"] == "1.1.1" and changes["due_date"] == ["2026-10-01", "2026-11-01"]
        assert changes["text"] == [text_digest("旧的措施内容"), text_digest("新的措施内容")]
        assert text_digest("新的措施内容")["length"] == 6
