"""A small district for the tests: three units around one problem, plus every role.

- unit "牵头局" leads the problem, "责任局" is a responsible unit owning one measure,
  "协办镇" owns a second measure without being a responsible unit, "无关局" has nothing to do
  with it (the outsider).
"""

import datetime
import os
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from accounts.models import Unit, User
from accounts.roles import Role
from accounts.services import unit_create, user_create
from rectification import services
from rectification.models import DeadlineCategory, Measure, Problem, Track

# Celery reads CELERY_BROKER_URL from the environment before its own configuration, so with the
# variable set (as CI does) a test could not point the app at an in-memory or a dead broker.
# Settings have already read it; from here on the app's configuration decides.
os.environ.pop("CELERY_BROKER_URL", None)

PASSWORD = "Ceshi@2026pass"


@pytest.fixture(autouse=True)
def _no_channel_setups_from_another_test():
    """The channel setups are cached (``services.channels``); a test's rows are rolled back, its cache not."""
    from django.core.cache import cache

    from rectification.services.channels import SETUP_CACHE_KEY

    cache.delete(SETUP_CACHE_KEY)
    yield
    cache.delete(SETUP_CACHE_KEY)


FEEDBACK = datetime.date(2026, 9, 1)
DEADLINE = datetime.date(2026, 12, 31)


@dataclass
class World:
    office: User
    lead_staff: User
    resp_staff: User
    resp_head: User
    coop_staff: User
    outsider: User
    leader: User
    other_leader: User
    provincial: User
    supervision: User
    track_office: User
    sysadmin: User
    secadmin: User
    auditadmin: User
    lead_unit: Unit
    resp_unit: Unit
    coop_unit: Unit
    other_unit: Unit
    cadre_office_unit: Unit
    round: object
    problem: Problem
    resp_measure: Measure
    coop_measure: Measure

    def make_round(self, title, *, feedback_date):
        """Another round, with one aspect, for problems given to ``make_problem``."""
        inspection_round = services.round_create(
            actor=self.office,
            title=title,
            inspection_team="省委第二巡视组",
            feedback_date=feedback_date,
            report_deadline=DEADLINE,
            track_offices={Track.Kind.GENERAL: self.office.unit, Track.Kind.CADRE: self.cadre_office_unit},
        )
        services.aspect_create(actor=self.office, inspection_round=inspection_round, seq=1, title="方面一")
        return inspection_round

    def make_problem(
        self,
        code,
        *,
        track_kind=Track.Kind.GENERAL,
        lead_unit=None,
        responsible_units=(),
        measures=(),
        inspection_round=None,
        claimed=True,
    ):
        """Another problem, in the same round unless told; ``measures`` is a list of owner units,
        each measure claimed by its unit unless ``claimed`` is false."""
        inspection_round = inspection_round or self.round
        problem = services.problem_create(
            actor=self.office,
            inspection_round=inspection_round,
            aspect=inspection_round.aspects.first(),
            track=inspection_round.tracks.get(kind=track_kind),
            code=code,
            title=f"问题{code}",
            text=f"反馈原文{code}",
            problem_type=Problem.ProblemType.SPECIFIC,
            deadline_category=DeadlineCategory.BY_DATE,
            due_date=DEADLINE,
            lead_official=self.leader,
            lead_unit=lead_unit or self.lead_unit,
            responsible_units=responsible_units,
        )
        for index, unit in enumerate(measures, start=1):
            measure = services.measure_create(
                actor=self.office,
                problem=problem,
                code=f"{code}.{index}",
                seq=index,
                text=f"措施{code}.{index}",
                kind=Measure.Kind.RULES,
                owner_unit=unit,
                start_date=FEEDBACK,
                due_date=DEADLINE,
            )
            if claimed:
                as_claimed(measure)
        return problem


def refused(actor, usual=404):
    """What a page out of someone's reach answers: ``usual`` (404, nothing there for them), but 403
    with the reason for the provincial team, which opens only what the district released to it
    (``access.may_open_page``)."""
    return 403 if actor == "provincial" else usual


def as_claimed(*measures):
    """The measures as their units left them after claiming (认领), which every report, milestone
    and close-out needs first. Set directly: how claiming works is tested on its own."""
    from django.utils import timezone

    Measure.objects.filter(pk__in=[m.pk for m in measures]).update(
        claim_state=Measure.ClaimState.CLAIMED, claimed_at=timezone.now()
    )
    for measure in measures:
        measure.refresh_from_db()
    return measures[0] if len(measures) == 1 else measures


def _unit(name, level=Unit.Level.DEPARTMENT, kind=Unit.Kind.GOVERNMENT):
    return unit_create(actor=None, name=name, level=level, kind=kind)


def _user(username, roles, unit=None, full_name=None):
    return user_create(
        actor=None, username=username, full_name=full_name or username, password=PASSWORD, unit=unit, roles=roles
    )


@pytest.fixture
def world(db):
    office_unit = _unit("整改办", Unit.Level.ORGAN, Unit.Kind.PARTY)
    cadre_office_unit = _unit("组织部", Unit.Level.ORGAN, Unit.Kind.PARTY)
    lead_unit = _unit("牵头局")
    resp_unit = _unit("责任局")
    coop_unit = _unit("协办镇", Unit.Level.TOWNSHIP, Unit.Kind.TOWNSHIP)
    other_unit = _unit("无关局")
    supervision_unit = _unit("纪委监委", Unit.Level.ORGAN, Unit.Kind.PARTY)

    office = _user("office", [Role.OFFICE], office_unit)
    office.is_staff = True
    office.save()
    leader = _user("leader", [Role.LEADER], full_name="王牵头")
    other_leader = _user("leader2", [Role.LEADER], full_name="李其他")
    # Unit staff exist before the measures are assigned, so they receive the assignment notices.
    staff = dict(
        lead_staff=_user("lead_lly", [Role.LIAISON], lead_unit),
        resp_staff=_user("resp_lly", [Role.LIAISON], resp_unit, full_name="张联络"),
        resp_head=_user("resp_fzr", [Role.UNIT_HEAD], resp_unit, full_name="赵局长"),
        coop_staff=_user("coop_lly", [Role.LIAISON], coop_unit),
        outsider=_user("other_lly", [Role.LIAISON, Role.UNIT_HEAD], other_unit),
    )

    inspection_round = services.round_create(
        actor=office,
        title="测试轮次",
        inspection_team="省委第一巡视组",
        feedback_date=FEEDBACK,
        report_deadline=DEADLINE,
        track_offices={Track.Kind.GENERAL: office_unit, Track.Kind.CADRE: cadre_office_unit},
    )
    aspect = services.aspect_create(actor=office, inspection_round=inspection_round, seq=1, title="方面一")
    problem = services.problem_create(
        actor=office,
        inspection_round=inspection_round,
        aspect=aspect,
        track=inspection_round.tracks.get(kind=Track.Kind.GENERAL),
        code="1.1",
        title="违规发放津补贴",
        text="一些单位违规发放津贴补贴。",
        problem_type=Problem.ProblemType.SPECIFIC,
        deadline_category=DeadlineCategory.BY_DATE,
        due_date=DEADLINE,
        lead_official=leader,
        lead_unit=lead_unit,
        responsible_units=[resp_unit],
        manifestations=["某局2025年违规发放加班补贴。"],
        criteria=["违规资金全部清退。"],
    )
    resp_measure = services.measure_create(
        actor=office,
        problem=problem,
        code="1.1.1",
        text="全面清理违规发放的津贴补贴",
        kind=Measure.Kind.RECOVERY,
        owner_unit=resp_unit,
        start_date=FEEDBACK,
        due_date=datetime.date(2026, 11, 30),
    )
    coop_measure = services.measure_create(
        actor=office,
        problem=problem,
        code="1.1.2",
        text="镇街自查自纠",
        kind=Measure.Kind.IMMEDIATE,
        owner_unit=coop_unit,
        start_date=FEEDBACK,
        due_date=datetime.date(2026, 10, 31),
    )
    # A world at work: both measures claimed by their units (TestClaiming puts them back).
    as_claimed(resp_measure, coop_measure)
    return World(
        office=office,
        **staff,
        leader=leader,
        other_leader=other_leader,
        provincial=_user("provincial", [Role.PROVINCIAL]),
        supervision=_user("supervision", [Role.SUPERVISION], supervision_unit),
        track_office=_user("cadre_office", [Role.TRACK_OFFICE], cadre_office_unit),
        sysadmin=_user("sysadmin", [Role.SYSTEM_ADMIN]),
        secadmin=_user("secadmin", [Role.SECURITY_ADMIN]),
        auditadmin=_user("auditadmin", [Role.AUDIT_ADMIN]),
        lead_unit=lead_unit,
        resp_unit=resp_unit,
        coop_unit=coop_unit,
        other_unit=other_unit,
        cadre_office_unit=cadre_office_unit,
        round=inspection_round,
        problem=problem,
        resp_measure=resp_measure,
        coop_measure=coop_measure,
    )


def celery_connections_dropped(app):
    """Forget the app's pooled connections and the producers built on them, so the next task is
    sent to whatever ``broker_url`` says now. ``app.close()`` forgets the first but not the second:
    a task sent through a pooled producer would still reach the broker of an earlier test."""
    pool, app._pool = app._pool, None
    if pool is not None:
        pool.force_close_all()
    app.amqp._producer_pool = None


@pytest.fixture(autouse=True)
def in_memory_broker():
    """Tasks queued by a test go to an in-memory broker, never to a real queue a worker might
    consume later (tests that need a real or a dead broker set their own)."""
    from config.celery import app

    saved = app.conf.broker_url
    celery_connections_dropped(app)
    app.conf.broker_url = "memory://"
    yield
    celery_connections_dropped(app)
    app.conf.broker_url = saved


@pytest.fixture(autouse=True)
def holiday_entries_read_afresh():
    """Each test starts without the office's holiday entries of an earlier test (rolled back since),
    as a new request or task would."""
    from rectification.workdays import entries_expire

    entries_expire()
    yield
    entries_expire()


@pytest.fixture(autouse=True)
def badge_cache_forgotten():
    """Each test starts with an empty cache of badges and dashboard figures (``rectification.counters``):
    a test's rows and generations are rolled back under it, which never happens to committed data."""
    from rectification import counters

    counters.forget()
    yield
    counters.forget()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # The production hasher is slow on purpose; tests create many accounts.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The browser fixtures are registered once here: a session-scoped Playwright started twice
# (once per importing module) would clash over the event loop.
from .e2e import browser, page  # noqa: E402,F401


def _owner_may_empty_the_audit_log():
    """On PostgreSQL the audit log refuses TRUNCATE (migration 0007) unless the table's owner asks
    for it in its session. The tests run as the owner and empty their scratch database between
    transactional tests with TRUNCATE, so every test connection asks for it."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        options = database.setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c zhenggai.audit_truncate=allowed").strip()


_owner_may_empty_the_audit_log()


@contextmanager
def audit_triggers_off():
    """What the table's owner (or a superuser) can do behind the application's back: on
    PostgreSQL, switch the audit log's append-only triggers off first. Only the keyed hash chain
    and the anchors are left to tell."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        # PostgreSQL alters no table with foreign-key checks still pending in the transaction
        # (the test's own inserts): run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE accounts_auditevent DISABLE TRIGGER USER")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE accounts_auditevent ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def week_report_data(progress="本周按计划推进。", *, percent=40, state="in_progress", plan="继续推进。"):
    """The fields of one row of the weekly report, as the form sends them to ``report_save``."""
    return {
        "progress_this_week": progress,
        "cumulative_state": state,
        "percent": percent,
        "next_week_plan": plan,
        "difficulties": "",
    }


def measure_finished(measure, *, liaison, head):
    """A measure reported 已完成 at 100% this week and confirmed by its unit head, its open
    milestones marked done: what close-out asks for, reached as a unit reaches it."""
    from django.utils import timezone

    today = timezone.localdate()
    iso_year, iso_week, _weekday = today.isocalendar()
    if measure.claim_state != Measure.ClaimState.CLAIMED:
        as_claimed(measure)
    services.report_save(
        actor=liaison,
        measure=measure,
        iso_year=iso_year,
        iso_week=iso_week,
        data=week_report_data("全部整改任务已完成。", percent=100, state="completed", plan="巩固整改成果。"),
        lock_version=None,
    )
    # Only this row is submitted: the unit's other rows may follow later in the week.
    services.report_submit(
        actor=liaison, unit=measure.owner_unit, iso_year=iso_year, iso_week=iso_week, measure_ids=[measure.pk]
    )
    services.report_review(
        actor=head,
        unit=measure.owner_unit,
        iso_year=iso_year,
        iso_week=iso_week,
        decisions={measure.pk: ("confirm", "")},
    )
    for milestone in measure.milestones.open():
        services.milestone_mark_done(actor=liaison, milestone=milestone, done_on=today)
    measure.refresh_from_db()
    return measure
