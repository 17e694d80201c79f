"""The navigation badges and the office dashboard are served from a per-process cache kept under
generations (``rectification.counters``): never stale, and a page pays one small query for them.

Every write below goes through the services, as a request or the worker does it, and commits
(``committed``: the after-commit callbacks run, which is where the generations move). After each
kind of write, every person's badges and the dashboard's figures as served equal a from-scratch
count of the lists they link to, while the cache held the values from before the write.
"""

import datetime
import re
import secrets
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import constants as message_constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.db.models import Model
from django.test import Client, RequestFactory
from django.test.html import parse_html
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from rectification import access, counters, selectors, services
from rectification.context_processors import bell
from rectification.dashboard import office_dashboard, office_dashboard_served, stuck_with_reviewers_count
from rectification.lights import LIGHTS
from rectification.models import CloseOutRequest, Generation, Measure, Notification
from rectification.services.ledger_import import ledger_import
from rectification.services.maintenance import leader_items_reassign
from rectification.services.reporting import report_latest
from rectification.templatetags.ledger import worklist_rows
from rectification.workdays import iso_week_of

from .conftest import PASSWORD, measure_finished, week_report_data
from .test_closeout import _apply
from .test_excel_imports import ledger_file, measure_row, plan_for, problem_row
from .test_query_budgets import _measures, _pending_request

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday of ISO week 2026-W48.
TUESDAY = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
YEAR, WEEK = 2026, 48
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OBSERVERS = [
    "leader",
    "other_leader",
    "lead_staff",
    "resp_staff",
    "resp_head",
    "coop_staff",
    "outsider",
    "office",
    "track_office",
    "supervision",
]


@pytest.fixture
def frozen():
    # Ticking: each submission is its own notice (their keys carry the moment).
    with time_machine.travel(TUESDAY, tick=True):
        yield


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a write as its transaction commits it: the after-commit callbacks (the generations' bumps)
    run too. Called once with nothing, it commits what the fixtures wrote."""

    def run(write=lambda: counters.touch([counters.ACCESS])):
        with django_capture_on_commit_callbacks(execute=True):
            return write()

    return run


def served(user):
    """The badges a page shows this person, through the context processor (the cache's path)."""
    request = RequestFactory().get("/")
    request.user = user
    context = bell(request)
    menu = {entry["name"]: entry["badge"]() for entry in context["menu"] if entry["badge"]}
    return {
        "unread": context["unread_count"](),
        "pending": context["pending_count"]() if context["shows_pending"] else None,
        "claims": menu.get("unit_claims"),
        "notices": menu.get("notice_list"),
    }


def fresh(user):
    """The same numbers from scratch: the lengths of the lists the badges link to, and a raw count."""
    unit_staff = access.is_unit_staff(user)
    return {
        "unread": Notification.objects.filter(recipient=user, read_at__isnull=True).count() if user.is_active else 0,
        "pending": len(selectors.closeouts_pending_for(user)) if access.reviews_anything(user) else None,
        "claims": len(selectors.unit_claims(user=user, unit=user.unit)) if unit_staff else None,
        "notices": len(selectors.notices_for(user=user, state="open")[0])
        if unit_staff or access.is_office(user)
        else None,
    }


def _plain(value):
    """Model rows as their field values, so a cached row with old values differs from a fresh one."""
    if isinstance(value, Model):
        return (type(value).__name__, tuple(f.value_from_object(value) for f in value._meta.concrete_fields))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


FILTERS = ({}, {"unit": "resp_unit"}, {"overdue": True})


def _filters(world, filters):
    return {key: getattr(world, value).pk if key == "unit" else value for key, value in filters.items()}


def dashboard_served(world):
    office = User.objects.get(pk=world.office.pk)
    today = timezone.localdate()
    return [
        _plain(
            office_dashboard_served(user=office, inspection_round=world.round, today=today, filters=_filters(world, f))
        )
        for f in FILTERS
    ]


def dashboard_fresh(world):
    office = User.objects.get(pk=world.office.pk)
    today = timezone.localdate()
    return [
        _plain(
            {
                **office_dashboard(user=office, inspection_round=world.round, today=today, filters=_filters(world, f)),
                "stuck_reviews": stuck_with_reviewers_count(user=office, inspection_round=world.round, today=today),
            }
        )
        for f in FILTERS
    ]


WORKLIST_OBSERVERS = ["resp_staff", "resp_head", "lead_staff", "coop_staff"]
# The hidden CSRF field differs per request; everything else of a page is compared.
CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def _page(response):
    return parse_html(CSRF_VALUE.sub(r"\1\2", response.content.decode()))


def worklist_clients(world):
    """Each unit's staff signed in once: a new sign-in is a new page (the person's row changed)."""
    clients = {}
    for name in WORKLIST_OBSERVERS:
        clients[name] = Client()
        clients[name].force_login(getattr(world, name))
    return clients


def _worklists(clients):
    shown = {}
    for name, client in clients.items():
        response = client.get(reverse("rectification:worklist"))
        # No longer a unit's staff (the roles changed): no worklist.
        shown[name] = None if response.status_code == 404 else _page(response)
    return shown


def worklist_served(clients):
    """The whole worklist page each unit's staff is shown (kept per person and day): its rows, its
    light counts, the returned reports, the menu's counts and the bell."""
    return _worklists(clients)


def worklist_fresh(world, clients):
    """The same pages written with every cache of this process emptied, whose rows are those written
    from scratch from the selector."""
    counters.forget()
    pages = _worklists(clients)
    today = timezone.localdate()
    iso_year, iso_week = iso_week_of(today)
    for name, page in pages.items():
        person = User.objects.get(pk=getattr(world, name).pk)
        if page is None:
            assert not access.is_unit_staff(person), name
            continue
        measures = selectors.unit_worklist(
            user=person, unit=person.unit, today=today, iso_year=iso_year, iso_week=iso_week
        )
        rows = worklist_rows(
            measures,
            several_rounds=len({m.problem.round_id for m in measures}) > 1,
            measure_url=reverse("rectification:measure_detail", args=[0])[:-2],
            today=today,
        )
        if measures:
            assert page.count(parse_html(rows)) == 1, name
        for light in LIGHTS:
            chip = parse_html(
                f'<span class="light-chip {light.code}"><i class="light {light.code}"></i>'
                f"{light.label} {sum(m.light.code == light.code for m in measures)}</span>"
            )
            assert page.count(chip) == 1, (name, light.code)
    return pages


def everything_served(world, clients):
    people = {name: User.objects.get(pk=getattr(world, name).pk) for name in OBSERVERS}
    return (
        {name: served(person) for name, person in people.items()},
        dashboard_served(world),
        worklist_served(clients),
    )


def everything_fresh(world, clients):
    people = {name: User.objects.get(pk=getattr(world, name).pk) for name in OBSERVERS}
    return (
        {name: fresh(person) for name, person in people.items()},
        dashboard_fresh(world),
        worklist_fresh(world, clients),
    )


def _evidence(world, measure):
    return services.evidence_upload(
        actor=world.resp_staff, measure=measure, uploaded=SimpleUploadedFile("清退凭证.pdf", PDF), kind="receipt"
    )


def _latest_request(world):
    return CloseOutRequest.objects.filter(measure=world.resp_measure).latest("created_at", "id")


@pytest.mark.django_db
class TestNoStaleValue:
    def test_every_kind_of_write_shows_at_once_in_the_badges_and_the_dashboard(
        self, world, frozen, committed, settings, tmp_path
    ):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        reported = committed(lambda: world.make_problem("9.1", measures=[world.resp_unit]).measures.get())
        unclaimed = committed(
            lambda: world.make_problem("9.2", measures=[world.resp_unit], claimed=False).measures.get()
        )
        finished = committed(
            lambda: measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
        )
        evidence = committed(lambda: _evidence(world, finished))
        committed()

        def report_submitted(progress, percent):
            def write():
                report = report_latest(reported, YEAR, WEEK)
                services.report_save(
                    actor=world.resp_staff,
                    measure=reported,
                    iso_year=YEAR,
                    iso_week=WEEK,
                    data=week_report_data(progress, percent=percent),
                    lock_version=report.lock_version if report else None,
                )
                services.report_submit(
                    actor=world.resp_staff,
                    unit=world.resp_unit,
                    iso_year=YEAR,
                    iso_week=WEEK,
                    measure_ids=[reported.pk],
                )

            return write

        def decide(actor, approve, **extra):
            return lambda: services.closeout_decide(
                actor=getattr(world, actor), request=_latest_request(world), approve=approve, **extra
            )

        office_decision = {
            "no_accountability_reason": "系制度执行偏差，已批评教育。",
            "no_rules_reason": "已有制度规定，无需新建。",
        }
        ledger = ledger_file(
            tmp_path,
            [problem_row(问题编号="2.1", 方面="方面一")],
            [measure_row(问题编号="2.1", 措施编号="2.1.1")],
        )
        writes = [
            (
                "notification created",
                lambda: services.notify(
                    recipient=world.resp_staff, kind="dispatch", text="请按时报送。", dedup_key="test:counters"
                ),
            ),
            ("notification read", lambda: services.notifications_mark_read(actor=world.resp_staff)),
            (
                "claimed",
                lambda: services.measure_claim(
                    actor=world.resp_staff, measure=unclaimed, handler_name="张三", handler_phone="13800000000"
                ),
            ),
            ("report submitted", report_submitted("清理了一半。", 50)),
            (
                "report returned",
                lambda: services.report_return(
                    actor=world.resp_head,
                    unit=world.resp_unit,
                    iso_year=YEAR,
                    iso_week=WEEK,
                    reason="佐证不足",
                    measure_ids=[reported.pk],
                ),
            ),
            ("report submitted again", report_submitted("已完成清理。", 60)),
            (
                "report confirmed",
                lambda: services.report_review(
                    actor=world.resp_head,
                    unit=world.resp_unit,
                    iso_year=YEAR,
                    iso_week=WEEK,
                    decisions={reported.pk: ("confirm", "")},
                ),
            ),
            ("close-out applied", lambda: _apply(world, evidence)),
            ("close-out approved by the lead unit", decide("lead_staff", True, comment="材料齐全")),
            (
                "problem re-assigned to another leader",
                lambda: services.problem_assign(
                    actor=world.office,
                    problem=world.problem,
                    lead_official=world.other_leader,
                    lead_unit=world.lead_unit,
                    responsible_leaders=[],
                    responsible_units=[world.resp_unit],
                ),
            ),
            (
                "leader hand-over",
                lambda: leader_items_reassign(
                    actor=world.office,
                    inspection_round=world.round,
                    old_leader=world.other_leader,
                    new_leader=world.leader,
                ),
            ),
            ("close-out rejected by the leader", decide("leader", False, comment="佐证不足", password=PASSWORD)),
            ("close-out applied again", lambda: _apply(world, evidence)),
            ("approved by the lead unit", decide("lead_staff", True)),
            ("approved by the leader", decide("leader", True, password=PASSWORD)),
            ("approved by the office", decide("office", True, **office_decision)),
            (
                "reopened",
                lambda: services.closeout_reopen(
                    actor=world.office, request=_latest_request(world), reason="回头看发现仍有未清退资金"
                ),
            ),
            (
                "permissions changed",
                lambda: accounts_services.user_roles_set(actor=world.secadmin, user=world.lead_staff, roles=[]),
            ),
            ("ledger imported", lambda: ledger_import(actor=world.office, plan=plan_for(world, ledger))),
            (
                "the weekly cycle's dispatch",
                lambda: services.step_run(services.cycle_for(world.round, YEAR, WEEK), "dispatch", force=True),
            ),
        ]
        clients = committed(lambda: worklist_clients(world))
        for name, write in writes:
            before = everything_served(world, clients)
            committed(write)
            after = everything_served(world, clients)
            assert after == everything_fresh(world, clients), name
            assert after != before, f"{name} changed nothing shown: the check proves nothing"

    def test_a_write_not_yet_committed_is_counted_but_never_cached(self, world, frozen, committed):
        committed()
        leader = User.objects.get(pk=world.leader.pk)
        assert served(leader)["pending"] == 0
        request = _pending_request(world, world.resp_measure)
        # The same transaction sees its own row, and caches nothing a rollback could leave behind.
        assert served(leader)["pending"] == 1
        CloseOutRequest.objects.filter(pk=request.pk).update(state=CloseOutRequest.State.PENDING_OFFICE)
        assert served(leader)["pending"] == 0

    def test_a_bulk_update_past_the_services_is_seen_too(self, world, frozen, committed):
        committed()
        resp_staff = User.objects.get(pk=world.resp_staff.pk)
        assert served(resp_staff)["claims"] == 0
        committed(lambda: Measure.objects.filter(pk=world.resp_measure.pk).update(claim_state="pending"))
        assert served(resp_staff)["claims"] == fresh(resp_staff)["claims"] == 1


@pytest.mark.django_db
class TestScopes:
    def _generations(self):
        return dict(Generation.objects.values_list("scope", "value"))

    def test_a_confirmed_weekly_report_leaves_the_close_out_and_claims_badges_cached(self, world, frozen, committed):
        committed()
        before = self._generations()
        committed(lambda: measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head))
        after = self._generations()
        assert after[counters.WORK] != before[counters.WORK]
        for scope in (counters.CLOSEOUT, counters.CLAIMS, counters.ACCESS):
            assert after.get(scope) == before.get(scope), scope

    def test_a_notice_for_one_person_leaves_everyone_elses_unread_count_cached(self, world, frozen, committed):
        committed()
        before = self._generations()
        committed(
            lambda: services.notify(recipient=world.resp_staff, kind="dispatch", text="请按时报送。", dedup_key="t:1")
        )
        after = self._generations()
        assert after[counters.user_scope(world.resp_staff.pk)] != before.get(counters.user_scope(world.resp_staff.pk))
        assert after.get(counters.user_scope(world.resp_head.pk)) == before.get(counters.user_scope(world.resp_head.pk))
        assert after.get(counters.NOTIFY) == before.get(counters.NOTIFY)

    @pytest.mark.parametrize(
        "sql, scopes",
        [
            ('SELECT "id" FROM "rectification_measure"', set()),
            ('UPDATE "rectification_measure" SET "percent" = %s WHERE "id" = %s', {counters.WORK}),
            (
                'UPDATE "rectification_measure" SET "claim_state" = %s WHERE "id" = %s',
                {counters.WORK, counters.CLAIMS},
            ),
            (
                'UPDATE "rectification_measure" SET "owner_unit_id" = %s',
                {counters.WORK, counters.CLAIMS, counters.NOTICES, counters.CLOSEOUT},
            ),
            ('INSERT INTO "rectification_closeoutrequest" ("x") VALUES (%s)', {counters.WORK, counters.CLOSEOUT}),
            ('DELETE FROM "rectification_supervisionnotice" WHERE 1', {counters.WORK, counters.NOTICES}),
            ('UPDATE "accounts_user" SET "last_login" = %s WHERE "id" = %s', set()),
            # Signing in with a second factor changes nothing anyone is shown.
            ('UPDATE "accounts_user" SET "totp_last_step" = %s WHERE "id" = %s', set()),
            ('UPDATE "accounts_user" SET "is_active" = %s WHERE "id" = %s', {counters.ACCESS, counters.WORK}),
            ('UPDATE "rectification_notification" SET "escalated_at" = %s', set()),
            ('UPDATE "rectification_notification" SET "read_at" = %s', {counters.NOTIFY}),
            ('INSERT INTO "rectification_outboxmessage" ("x") VALUES (%s)', set()),
            # SQLite's bulk_create(ignore_conflicts=True); a write it cannot read changes everything.
            (
                'INSERT OR IGNORE INTO "rectification_supervisionnotice" ("x") VALUES (%s)',
                {counters.WORK, counters.NOTICES},
            ),
            ("UPDATE ONLY rectification_measure SET x = 1", set(counters.ALL_SCOPES)),
            ('TRUNCATE "rectification_measure"', set(counters.ALL_SCOPES)),
            # A subquery's columns are read, not set; a CASE of bulk_update sets its column only.
            (
                'UPDATE "rectification_measure" SET "percent" = (SELECT U0."x" FROM "t" U0 WHERE U0."owner_unit_id" = %s)'
                ' WHERE "rectification_measure"."claim_state" = %s',
                {counters.WORK},
            ),
            (
                'UPDATE "rectification_measure" SET "percent" = CASE WHEN ("rectification_measure"."id" = %s) THEN %s'
                ' ELSE NULL END, "claim_state" = %s WHERE "rectification_measure"."id" IN (%s)',
                {counters.WORK, counters.CLAIMS},
            ),
        ],
    )
    def test_it_reads_the_scopes_off_the_statement(self, sql, scopes):
        assert counters.scopes_written(sql) == scopes


# The help page, drawn with the full menu and its badges: the session, the person, their roles (and a
# unit's staff their permissions for the menu), then the badges' generations in one query. Cold, the
# counts follow (the leader's pending probe and full count, the unread count; a liaison's menu
# counts too); warm, nothing follows, whatever the number of requests waiting.
HELP_COLD = {"leader": 7, "resp_staff": 8}
HELP_WARM = {"leader": 4, "resp_staff": 5}


@pytest.mark.django_db
class TestQueryBudget:
    @pytest.mark.parametrize("actor", ["leader", "resp_staff"])
    def test_the_badges_cost_the_same_for_1_and_21_requests_waiting(
        self, world, client, frozen, committed, django_assert_num_queries, actor
    ):
        committed(lambda: _pending_request(world, world.resp_measure))
        client.force_login(getattr(world, actor))
        url = reverse("rectification:help_index")
        client.get(url)
        committed()
        for waiting, unclaimed in ((1, 0), (21, 20)):
            with django_assert_num_queries(HELP_COLD[actor]):
                response = client.get(url)
            with django_assert_num_queries(HELP_WARM[actor]):
                response = client.get(url)
            person = User.objects.get(pk=getattr(world, actor).pk)
            assert served(person) == fresh(person)
            if actor == "leader":
                assert response.context["pending_count"]() == waiting
            else:
                assert {e["name"]: e["badge"] for e in response.context["menu"]}["unit_claims"]() == unclaimed

            def more():
                for measure in _measures(world, world.problem, world.resp_unit, 20, claimed=False):
                    _pending_request(world, measure)

            if waiting == 1:
                committed(more)


# The dashboard: a repeat load with no write in between reads the generations and draws the page
# from the figures cached (the units and leaders of the filter forms are still read).
DASHBOARD_WARM = 9


@pytest.mark.django_db
class TestDashboardServedFromTheCache:
    def test_a_repeat_load_does_not_recompute_and_a_write_does(
        self, world, client, frozen, committed, django_assert_num_queries
    ):
        committed()
        client.force_login(world.office)
        url = reverse("rectification:dashboard")
        for size in (2, 22):
            cold = client.get(url)
            with django_assert_num_queries(DASHBOARD_WARM):
                warm = client.get(url)
            assert warm.context["d"]["measures"]["total"] == cold.context["d"]["measures"]["total"] == size
            assert dashboard_served(world) == dashboard_fresh(world)
            if size == 2:
                committed(lambda: _measures(world, world.problem, world.resp_unit, 20))


@pytest.mark.django_db(transaction=True)
class TestRealCommits:
    """Without the test's surrounding transaction: each write commits for real, or rolls back."""

    def test_a_committed_write_moves_the_generation_and_a_rolled_back_one_leaves_nothing_cached(self, world):
        resp_staff = User.objects.get(pk=world.resp_staff.pk)
        before = served(resp_staff)["unread"]
        services.notify(recipient=resp_staff, kind="dispatch", text="请按时报送。", dedup_key="t:commit")
        assert served(resp_staff)["unread"] == fresh(resp_staff)["unread"] == before + 1

        class Undone(Exception):
            pass

        seen = []

        def undone():
            with transaction.atomic():
                services.notify(recipient=resp_staff, kind="dispatch", text="撤回的通知。", dedup_key="t:rollback")
                # Its own transaction counts the new row, and keeps it out of the cache.
                seen.append(served(resp_staff)["unread"])
                raise Undone

        with pytest.raises(Undone):
            undone()
        assert seen == [before + 2]
        assert served(resp_staff)["unread"] == fresh(resp_staff)["unread"] == before + 1


class TestMigrate:
    def test_migrate_changes_every_shared_generation_once_it_has_finished(self, db):
        """A server that kept figures from before an upgrade must not serve them after it: the
        writes of ``migrate`` are not followed one by one (its first ones come before the table of
        generations exists), so every shared scope moves when it ends."""
        counters.bump(counters.ALL_SCOPES)
        before = dict(Generation.objects.values_list("scope", "value"))
        call_command("migrate", verbosity=0)
        after = dict(Generation.objects.values_list("scope", "value"))
        assert all(after[scope] != before[scope] for scope in counters.ALL_SCOPES)
        assert counters._state.migrating is False


REDIS_PAGES = "redis://127.0.0.1:6379/12"


def _shared_pages(settings, location, prefix):
    settings.CACHES = {
        **settings.CACHES,
        counters.SHARED_PAGES: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            # A prefix of this run's own: nothing another run left is ever read.
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }


@pytest.mark.django_db
class TestWholePageKept:
    """A liaison's repeat visit to the worklist is the page kept from the first, with this request's
    CSRF token; a message waiting, another person or a write gives a page written anew."""

    def _signed_in(self, world, committed, name="resp_staff", **client_options):
        committed()  # what the fixtures wrote
        client = Client(**client_options)
        committed(lambda: client.force_login(getattr(world, name)))
        return client

    def test_a_repeat_visit_costs_four_queries_and_shows_the_same_page(
        self, world, frozen, committed, django_assert_num_queries
    ):
        client = self._signed_in(world, committed)
        first = client.get(reverse("rectification:worklist"))
        assert first.context is not None  # written
        # The session, the person, the provincial gate's roles, the generations: nothing of the page.
        with django_assert_num_queries(4):
            again = client.get(reverse("rectification:worklist"))
        assert again.context is None  # kept, not written
        assert _page(again) == _page(first)
        assert world.resp_unit.name in again.content.decode()

    def test_each_person_is_shown_their_own_page(self, world, frozen, committed):
        mine = self._signed_in(world, committed, "resp_staff")
        theirs = self._signed_in(world, committed, "lead_staff")
        mine.get(reverse("rectification:worklist"))
        page = theirs.get(reverse("rectification:worklist")).content.decode()
        assert world.lead_unit.name in page
        assert f"{world.resp_unit.name} · 工作台" not in page

    def test_the_kept_pages_forms_carry_this_requests_csrf_token(self, world, frozen, committed):
        client = self._signed_in(world, committed, enforce_csrf_checks=True)
        client.get(reverse("rectification:worklist"))
        kept = client.get(reverse("rectification:worklist"))
        assert kept.context is None
        token = CSRF_VALUE.search(kept.content.decode())
        assert token is not None and len(token.group(0)) > len('name="csrfmiddlewaretoken" value=""')
        # The logout form of the kept page posts: the token is good for this session.
        response = client.post(reverse("accounts:logout"), {"csrfmiddlewaretoken": token.group(0).split('"')[-2]})
        assert response.status_code == 302

    def test_a_message_waiting_is_shown_on_a_page_written_for_it(self, world, frozen, committed):
        client = self._signed_in(world, committed)
        client.get(reverse("rectification:worklist"))
        request = RequestFactory().get("/")
        client.cookies[CookieStorage.cookie_name] = CookieStorage(request)._encode(
            [Message(message_constants.SUCCESS, "草稿已保存。")]
        )
        shown = client.get(reverse("rectification:worklist"))
        assert "草稿已保存。" in shown.content.decode()
        # Shown once: the next visit is the kept page again, without it.
        after = client.get(reverse("rectification:worklist"))
        assert after.context is None
        assert "草稿已保存。" not in after.content.decode()

    def test_the_web_servers_processes_share_a_page_through_redis(self, world, frozen, committed, settings):
        _shared_pages(settings, REDIS_PAGES, f"test-{secrets.token_hex(8)}")
        client = self._signed_in(world, committed)
        first = client.get(reverse("rectification:worklist"))
        assert first.context is not None
        counters.forget()  # another process: its own memory is empty
        shared = client.get(reverse("rectification:worklist"))
        assert shared.context is None  # read from Redis, not written
        assert _page(shared) == _page(first)
        committed(
            lambda: services.notify(recipient=world.resp_staff, kind="dispatch", text="请按时报送。", dedup_key="t:p")
        )
        counters.forget()
        written = client.get(reverse("rectification:worklist"))
        assert written.context is not None  # a write since: written anew, the bell counts it
        assert _page(written) != _page(first)

    def test_a_shared_cache_that_does_not_answer_costs_the_sharing_not_the_page(
        self, world, frozen, committed, settings, caplog
    ):
        # Nothing listens on port 1: every call to the cache fails at once.
        _shared_pages(settings, "redis://127.0.0.1:1/0", "test")
        client = self._signed_in(world, committed)
        response = client.get(reverse("rectification:worklist"))
        assert response.status_code == 200
        assert world.resp_unit.name in response.content.decode()
        assert "the shared page cache did not" in caplog.text
