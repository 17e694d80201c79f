"""Every URL of the project, asked by people who must see nothing of unit A's work.

The sweep walks the URL configuration itself, so a new view is swept the day it is added: a
pattern that takes an object must say here which of unit A's objects to ask for (OBJECT_KWARGS),
a pattern that takes none must be on the short allowlist (NO_OBJECT). A pattern in neither fails
the suite until someone decides which it is.

For each pattern the outsider (a liaison and head of an unrelated unit) sends a GET and an empty
POST. No response may contain unit A's data; a URL about one of unit A's objects must answer
403, 404 or 405, never a page or a redirect; everything else may also answer 200 (without the
data) or redirect.
"""

import datetime
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from rectification import access, services
from rectification.models import (
    BriefingFinal,
    CoordinationItem,
    ExportJob,
    FinalReportFinal,
    Measure,
    MeasureChangeRequest,
    Milestone,
    Notification,
    OutboxMessage,
    Penalty,
    Problem,
    Release,
    SupervisionNotice,
    WeeklySnapshot,
)
from rectification.services.channel_setup import group_robot_save

from .conftest import measure_finished

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# Texts that only unit A's people (and the readers of everything) may ever see.
SECRETS = [
    "违规发放津补贴",
    "全面清理违规发放的津贴补贴",
    "某局2025年违规发放加班补贴",
    "清退凭证机密件.pdf",
    "本周已清退违规资金十二万元",
    "需财政局协调清退口径",
    "督办：津补贴清退进度滞后",
    "津补贴清退专项整治",
    "津补贴清退推进不力",
    "津补贴清退口径需调整",
    "书记现场督办津补贴清退",
    "书记督办现场照片.pdf",
    "反映违规发放津补贴线索",
    "议定津补贴清退时限",
    "津补贴清退督查发现台账缺失",
    "对责任局领导干部通报批评",
]


def _objects(world):
    """One object of each kind, all belonging to unit A's problem."""
    today = timezone.localdate()
    iso_year, iso_week, _ = today.isocalendar()
    evidence = services.evidence_upload(
        actor=world.resp_staff,
        measure=world.resp_measure,
        uploaded=SimpleUploadedFile("清退凭证机密件.pdf", PDF),
        kind="receipt",
    )
    report = services.report_save(
        actor=world.resp_staff,
        measure=world.resp_measure,
        iso_year=iso_year,
        iso_week=iso_week,
        data={
            "progress_this_week": "本周已清退违规资金十二万元",
            "cumulative_state": "in_progress",
            "percent": 60,
            "next_week_plan": "继续清退",
            "difficulties": "需财政局协调清退口径",
        },
        lock_version=None,
    )
    coordination = CoordinationItem.objects.create(
        measure=world.resp_measure, report=report, text="需财政局协调清退口径"
    )
    milestone = Milestone.objects.create(
        measure=world.resp_measure, seq=1, title="完成津补贴清退摸底", due_date=today + datetime.timedelta(days=7)
    )
    # A close-out under way, on a second measure of the same unit that was finished last week (close-out
    # takes only a measure reported finished, with its milestones done).
    finished = services.measure_create(
        actor=world.office,
        problem=world.problem,
        code="1.1.8",
        text="建立津补贴发放审批制度",
        kind=Measure.Kind.RULES,
        owner_unit=world.resp_unit,
        start_date=world.resp_measure.start_date,
        due_date=world.resp_measure.due_date,
    )
    with time_machine.travel(timezone.now() - datetime.timedelta(days=7)):
        measure_finished(finished, liaison=world.resp_staff, head=world.resp_head)
    proof = services.evidence_upload(
        actor=world.resp_staff, measure=finished, uploaded=SimpleUploadedFile("制度文件.pdf", PDF), kind="report"
    )
    closeout = services.closeout_apply(
        actor=world.resp_head,
        problem=world.problem,
        measure=finished,
        statement="津补贴发放审批制度已印发。",
        pledged=True,
        checks={world.problem.criteria.get().pk: [proof.pk]},
    )
    cycle = services.cycle_for(world.round, iso_year, iso_week)
    notice = SupervisionNotice.objects.create(
        cycle=cycle,
        unit=world.resp_unit,
        measure=world.resp_measure,
        text="督办：津补贴清退进度滞后",
        reply_due=today + datetime.timedelta(days=3),
    )
    penalty = Penalty.objects.create(
        round=world.round,
        cycle=cycle,
        unit=world.resp_unit,
        kind=Penalty.Kind.CIRCULAR,
        rule="overdue",
        reason="津补贴清退推进不力",
    )
    snapshot = WeeklySnapshot.objects.create(cycle=cycle, figures={"overdue": ["违规发放津补贴"]})
    # The office's edited 简报 of that week (the file itself is not needed: nobody here may reach it).
    briefing = BriefingFinal.objects.create(
        snapshot=snapshot,
        original_name="违规发放津补贴简报.docx",
        stored_name="2026/sweep.docx",
        size=1,
        sha256="0" * 64,
        uploaded_by=world.office,
    )
    # The week released to the provincial team, and a final report the office uploaded (not released).
    release = Release.objects.create(
        round=world.round, kind=Release.Kind.WEEKLY_PACKAGE, snapshot=snapshot, released_by=world.office
    )
    final_report = FinalReportFinal.objects.create(
        round=world.round,
        original_name="整改情况报告定稿.docx",
        stored_name="2026/sweep-final.docx",
        size=1,
        sha256="0" * 64,
        uploaded_by=world.office,
    )
    change = MeasureChangeRequest.objects.create(
        measure=world.resp_measure,
        changes={"text": "全面清理违规发放的津贴补贴并追责"},
        reason="津补贴清退口径需调整",
        requested_by=world.lead_staff,
    )
    from rectification.services import export_jobs as jobs

    job = ExportJob.objects.create(requested_by=world.resp_staff, round=world.round, kind=ExportJob.Kind.LEDGER)
    jobs.export_job_run(job.pk)
    # A request about a member of unit A, waiting for the security administrator (双人审批).
    from accounts.services import user_password_reset

    approval = user_password_reset(actor=world.sysadmin, user=world.resp_staff, password="Linshi#2026pass")
    # A notice in a member of unit A's bell (about unit A's measure), and its e-mail that failed.
    notification = Notification.objects.filter(recipient=world.resp_staff).first()
    delivery = OutboxMessage.objects.create(
        notification=notification,
        channel="email",
        key=OutboxMessage.key_for(notification.pk, "email"),
        state=OutboxMessage.State.FAILED,
    )
    # The records behind the figures: a 书记领办 event with a photo on unit A's problem, a clue, a
    # meeting and a visit about it, and a penalty entered by hand with its evidence.
    Problem.objects.filter(pk=world.problem.pk).update(is_secretary_led=True)
    world.problem.refresh_from_db()
    event = services.secretary_event_create(
        actor=world.office,
        problem=world.problem,
        kind="supervise",
        held_on=today,
        notes="书记现场督办津补贴清退",
        files=[SimpleUploadedFile("书记督办现场照片.pdf", PDF)],
    )
    services.petition_clue_create(
        actor=world.supervision,
        inspection_round=world.round,
        problem=world.problem,
        kind="clue",
        code="XS-1",
        summary="反映违规发放津补贴线索",
        handling_unit=world.resp_unit,
        received_on=today,
    )
    services.activity_create(
        actor=world.office,
        inspection_round=world.round,
        kind="dispatch_meeting",
        title="调度会",
        held_on=today,
        chair="区委书记",
        decisions="议定津补贴清退时限",
        problems=[world.problem],
    )
    services.activity_create(
        actor=world.supervision,
        inspection_round=world.round,
        kind="inspection",
        title="督查",
        held_on=today,
        participants="纪委监委",
        place="责任局",
        findings="津补贴清退督查发现台账缺失",
    )
    manual = services.penalty_enter(
        actor=world.office,
        inspection_round=world.round,
        unit=world.resp_unit,
        kind=Penalty.Kind.CIRCULAR,
        target=Penalty.Target.CADRE,
        cadre_name="赵局长",
        reason="对责任局领导干部通报批评",
        assessment_year=today.year,
        files=[SimpleUploadedFile("通报依据.pdf", PDF)],
    )
    # Unit A's work group robot, set up by the system administrator.
    robot = group_robot_save(
        actor=world.sysadmin,
        name="责任局工作群",
        platform="wecom_robot",
        unit=world.resp_unit,
        enabled=True,
        webhook="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=unit-a-key",
    )
    # A campaign unit A's lead unit runs (its name is unit A's business too).
    campaign = services.campaign_create(
        actor=world.office, inspection_round=world.round, name="津补贴清退专项整治", lead_unit=world.lead_unit
    )
    return {
        "campaign": campaign,
        "robot": robot,
        "event": event,
        "event_file": event.files.get(),
        "penalty_file": manual.files.get(),
        "notification": notification,
        "delivery": delivery,
        "approval": approval,
        "job": job,
        "change": change,
        "snapshot": snapshot,
        "briefing": briefing,
        "release": release,
        "final_report": final_report,
        "evidence": evidence,
        "report": report,
        "coordination": coordination,
        "milestone": milestone,
        "closeout": closeout,
        "cycle": cycle,
        "notice": notice,
        "penalty": penalty,
        # Not unit A's, but an object all the same: the office's entry in the holiday calendar.
        "calendar_day": services.calendar_workday_add(
            actor=world.office, year=2027, day=datetime.date(2027, 2, 7), name="春节"
        ),
    }


# URL name -> the keyword arguments naming one of unit A's objects.
OBJECT_KWARGS = {
    "rectification:problem_detail": lambda w, o: {"pk": w.problem.pk},
    "rectification:problem_closeout_apply": lambda w, o: {"pk": w.problem.pk},
    "rectification:problem_records": lambda w, o: {"pk": w.problem.pk},
    "rectification:problem_decompose": lambda w, o: {"pk": w.problem.pk},
    "rectification:problem_battle_map": lambda w, o: {"pk": w.problem.pk},
    "rectification:problem_edit": lambda w, o: {"pk": w.problem.pk},
    "rectification:campaign_detail": lambda w, o: {"pk": o["campaign"].pk},
    "rectification:campaign_edit": lambda w, o: {"pk": o["campaign"].pk},
    "rectification:campaign_create": lambda w, o: {"pk": w.round.pk},
    "rectification:round_setup": lambda w, o: {"pk": w.round.pk},
    "rectification:problem_create": lambda w, o: {"pk": w.round.pk},
    "rectification:change_request_decide": lambda w, o: {"pk": o["change"].pk},
    "rectification:measure_detail": lambda w, o: {"pk": w.resp_measure.pk},
    "rectification:measure_evidence_upload": lambda w, o: {"pk": w.resp_measure.pk},
    "rectification:measure_closeout_apply": lambda w, o: {"pk": w.resp_measure.pk},
    "rectification:measure_setup_action": lambda w, o: {"pk": w.resp_measure.pk},
    "rectification:measure_change_request": lambda w, o: {"pk": w.resp_measure.pk},
    "rectification:measure_reassign": lambda w, o: {"pk": w.resp_measure.pk},
    "rectification:measure_claim": lambda w, o: {"pk": w.resp_measure.pk},
    "rectification:milestone_edit": lambda w, o: {"pk": o["milestone"].pk},
    "rectification:milestone_done": lambda w, o: {"pk": o["milestone"].pk},
    "rectification:milestone_waive": lambda w, o: {"pk": o["milestone"].pk},
    "rectification:evidence_download": lambda w, o: {"pk": o["evidence"].pk},
    "rectification:report_correct": lambda w, o: {"pk": o["report"].pk},
    "rectification:coordination_resolve": lambda w, o: {"pk": o["coordination"].pk},
    "rectification:closeout_detail": lambda w, o: {"pk": o["closeout"].pk},
    "rectification:closeout_decide": lambda w, o: {"pk": o["closeout"].pk},
    "rectification:closeout_reopen": lambda w, o: {"pk": o["closeout"].pk},
    "rectification:cycle_detail": lambda w, o: {"pk": o["cycle"].pk},
    "rectification:cycle_rerun": lambda w, o: {"pk": o["cycle"].pk},
    "rectification:notice_reply": lambda w, o: {"pk": o["notice"].pk},
    "rectification:penalty_decide": lambda w, o: {"pk": o["penalty"].pk},
    "rectification:snapshot_package": lambda w, o: {"pk": o["snapshot"].pk},
    "rectification:snapshot_release": lambda w, o: {"pk": o["snapshot"].pk},
    "rectification:secretary_events": lambda w, o: {"pk": w.problem.pk},
    "rectification:record_file_download": lambda w, o: {"pk": o["event_file"].pk},
    "rectification:briefing_draft": lambda w, o: {"pk": o["snapshot"].pk},
    "rectification:briefing_upload": lambda w, o: {"pk": o["snapshot"].pk},
    "rectification:briefing_final": lambda w, o: {"pk": o["briefing"].pk},
    "rectification:final_report": lambda w, o: {"round_id": w.round.pk},
    "rectification:final_report_upload": lambda w, o: {"round_id": w.round.pk},
    "rectification:final_report_final": lambda w, o: {"pk": o["final_report"].pk},
    "rectification:final_report_release": lambda w, o: {"pk": o["final_report"].pk},
    "rectification:release_figures": lambda w, o: {"pk": o["release"].pk},
    "rectification:calendar_year": lambda w, o: {"year": 2027},
    "rectification:calendar_holidays_add": lambda w, o: {"year": 2027},
    "rectification:calendar_workday_add": lambda w, o: {"year": 2027},
    "rectification:calendar_year_confirm": lambda w, o: {"year": 2027},
    "rectification:calendar_day_delete": lambda w, o: {"pk": o["calendar_day"].pk},
    "rectification:excel:job_download": lambda w, o: {"pk": o["job"].pk},
    "rectification:excel:ledger": lambda w, o: {"round_id": w.round.pk},
    "rectification:excel:weekly": lambda w, o: {"round_id": w.round.pk},
    "rectification:excel:statistics": lambda w, o: {"round_id": w.round.pk},
    "rectification:excel:unit_tasks": lambda w, o: {"round_id": w.round.pk, "unit_id": w.resp_unit.pk},
    "rectification:excel:import_example": lambda w, o: {"round_id": w.round.pk},
    # The administrators' pages about one person: a member of unit A.
    "accounts:security_user_roles": lambda w, o: {"pk": w.resp_staff.pk},
    "accounts:security_totp_reset": lambda w, o: {"pk": w.resp_staff.pk},
    "accounts:system_user_active": lambda w, o: {"pk": w.resp_staff.pk},
    "accounts:system_user_password": lambda w, o: {"pk": w.resp_staff.pk},
    "accounts:system_user_move": lambda w, o: {"pk": w.resp_staff.pk},
    "accounts:system_user_contact": lambda w, o: {"pk": w.resp_staff.pk},
    "rectification:notification_open": lambda w, o: {"pk": o["notification"].pk},
    "rectification:delivery_resend": lambda w, o: {"pk": o["delivery"].pk},
    # Binding a pending unit or leader: asked about unit A itself and its leader (not pending: 404
    # to the system administrator, 403 to anyone else).
    "rectification:pending_unit_bind": lambda w, o: {"pk": w.resp_unit.pk},
    "rectification:pending_unit_open": lambda w, o: {"pk": w.resp_unit.pk},
    "rectification:pending_leader_bind": lambda w, o: {"pk": w.leader.pk},
    # An alias and a column mapping are the office's, not unit A's: any id gives the outsider 403.
    "rectification:pending_alias_remove": lambda w, o: {"pk": 1},
    "rectification:pending_mapping_remove": lambda w, o: {"pk": 1},
    "rectification:group_robot_edit": lambda w, o: {"pk": o["robot"].pk},
    "rectification:group_robot_delete": lambda w, o: {"pk": o["robot"].pk},
    "rectification:group_robot_test": lambda w, o: {"pk": o["robot"].pk},
    "rectification:channel_setup_save": lambda w, o: {"kind": "sms"},
    "rectification:channel_test": lambda w, o: {"kind": "sms"},
    "accounts:approval_detail": lambda w, o: {"pk": o["approval"].pk},
    "accounts:approval_decide": lambda w, o: {"pk": o["approval"].pk},
    "accounts:approval_withdraw": lambda w, o: {"pk": o["approval"].pk},
}

# The system administrator's pages in the findings' app: the outside channels and group robots.
CHANNEL_PAGES = {
    "rectification:channel_setup",
    "rectification:channel_setup_save",
    "rectification:channel_test",
    "rectification:group_robot_create",
    "rectification:group_robot_edit",
    "rectification:group_robot_delete",
    "rectification:group_robot_test",
}

# URLs that name no object: lists and forms that show each person their own share, if any.
# Patterns whose parameters name no one's object: the manual is the same for everyone signed in.
# Swept like the lists, with these values.
NOT_AN_OBJECT = {
    "rectification:help_chapter": {"name": "01-liaison"},
    "rectification:help_image": {"name": "common-login.png"},
}

NO_OBJECT = {
    "healthz",
    "rectification:penalty_new",
    "rectification:penalties_confirm",
    "rectification:penalty_deductions",
    "rectification:records_index",
    "rectification:petition_list",
    "rectification:meeting_list",
    "rectification:visit_list",
    "rectification:secretary_problems",
    "rectification:release_list",
    "rectification:help_index",
    "rectification:guide_dismiss",
    "accounts:login",
    "accounts:login_totp",
    "accounts:login_unlock",
    "accounts:logout",
    "accounts:password_change",
    "accounts:totp_setup",
    "accounts:channels",
    "accounts:audit_log",
    "accounts:audit_export",
    "accounts:audit_verify",
    "accounts:audit_anchor",
    "accounts:security_lockouts",
    "accounts:security_unlock",
    "accounts:security_users",
    "accounts:system_users",
    "accounts:system_units",
    "accounts:system_unit_create",
    "accounts:system_user_create",
    "accounts:approvals",
    "accounts:approvals_mine",
    "rectification:home",
    "rectification:dashboard",
    "rectification:review_stuck",
    "rectification:leader",
    "rectification:measure_list",
    "rectification:problem_list",
    "rectification:campaign_list",
    "rectification:battle_board",
    "rectification:leader_handover",
    "rectification:worklist",
    "rectification:report_week",
    "rectification:report_confirm",
    "rectification:report_return",
    "rectification:report_review",
    "rectification:led_reports",
    "rectification:coordination_list",
    "rectification:closeout_pending",
    "rectification:cycle_list",
    "rectification:unit_dispatch",
    "rectification:notice_list",
    "rectification:penalty_list",
    "rectification:notifications",
    "rectification:notifications_read",
    "rectification:deliveries",
    "rectification:deliveries_by_unit",
    "rectification:channel_setup",
    "rectification:group_robot_create",
    "rectification:round_list",
    "rectification:round_create",
    "rectification:unit_claims",
    "rectification:unclaimed_list",
    "rectification:criteria_missing",
    "rectification:criteria_ask",
    "rectification:calendar_years",
    "rectification:document_profile",
    "rectification:excel:index",
    "rectification:excel:jobs",
    "rectification:excel:import_upload",
    "rectification:excel:import_confirm",
    "rectification:excel:import_remap",
    "rectification:excel:import_alias",
    "rectification:pending_list",
    "rectification:pending_send",
    "rectification:pending_bind",
    "rectification:pending_learned",
    "rectification:excel:import_template",
}

# Django's admin is the office's alone: every one of its URLs sends anybody else to its login
# (its logout to its index, which does the same).
ADMIN_PREFIX = "admin/"
ADMIN_VALUES = {"app_label": "rectification", "url": "anything/"}


def _walk(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield name, prefix + str(pattern.pattern)


def all_patterns():
    return list(_walk(get_resolver().url_patterns))


def _parameters(route):
    return re.findall(r"<(?:\w+:)?(\w+)>", route) + re.findall(r"\(\?P<(\w+)>", route)


def _fill(route, values):
    """The path of ``route`` with its parameters replaced by ``values``."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), path)
    return "/" + path.replace("^", "").replace("$", "")


def _plan(world, objects):
    """(name, path, kind) for every pattern; kind is "object", "list" or "admin"."""
    plan, unknown = [], []
    for name, route in all_patterns():
        parameters = _parameters(route)
        if route.startswith(ADMIN_PREFIX):
            values = {p: ADMIN_VALUES.get(p, world.problem.pk) for p in parameters}
            plan.append((name or route, _fill(route, values), "admin"))
        elif name in OBJECT_KWARGS:
            plan.append((name, _fill(route, OBJECT_KWARGS[name](world, objects)), "object"))
        elif name in NO_OBJECT and not parameters:
            plan.append((name, _fill(route, {}), "list"))
        elif name in NOT_AN_OBJECT:
            plan.append((name, _fill(route, NOT_AN_OBJECT[name]), "list"))
        else:
            unknown.append(f"{name or '(unnamed)'}: {route}")
    return plan, unknown


def _leaks(response):
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    text = body.decode("utf-8", errors="replace")
    return [secret for secret in SECRETS if secret in text]


ALLOWED = {
    "object": {403, 404, 405},
    "list": {200, 302, 400, 403, 404, 405},
    "admin": {302},
}


@pytest.fixture
def swept(world, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return _objects(world)


def _sweep(client, user, plan):
    problems = []
    for name, path, kind in plan:
        for method in ("get", "post"):
            # Signed in afresh each time: a POST to the logout URL must not end the sweep.
            client.force_login(user)
            response = getattr(client, method)(path)
            if response.status_code not in ALLOWED[kind]:
                problems.append(f"{method.upper()} {path} ({name}): status {response.status_code}")
            location = response.get("Location", "")
            if kind == "admin" and not (location.startswith("/admin/") or "/login/" in location):
                problems.append(f"{method.upper()} {path} ({name}): redirects to {response['Location']}")
            leaked = _leaks(response)
            if leaked:
                problems.append(f"{method.upper()} {path} ({name}): shows {leaked}")
    return problems


@pytest.mark.django_db
class TestUrlSweep:
    def test_it_knows_every_url_pattern(self, world, swept):
        _known, unknown = _plan(world, swept)
        assert unknown == [], (
            "URL patterns neither in OBJECT_KWARGS nor in NO_OBJECT (tests/test_url_sweep.py): " + "; ".join(unknown)
        )

    def test_it_lists_no_pattern_that_no_longer_exists(self):
        names = {name for name, _route in all_patterns()}
        assert (set(OBJECT_KWARGS) | NO_OBJECT | set(NOT_AN_OBJECT)) - names == set()

    def test_its_secrets_are_really_there_for_unit_a(self, world, swept, client):
        # Otherwise the sweep would pass by looking for texts that no page ever shows.
        client.force_login(world.resp_staff)
        page = client.get(world.resp_measure.get_absolute_url()).content.decode()
        assert "全面清理违规发放的津贴补贴" in page
        assert "清退凭证机密件.pdf" in page

    def test_it_would_notice_a_leak(self, world, swept, client):
        # Swept as unit A's own liaison, who may see it all, the same URLs are reported.
        plan, _unknown = _plan(world, swept)
        own = [item for item in plan if item[0] in {"rectification:measure_detail", "rectification:evidence_download"}]
        problems = _sweep(client, world.resp_staff, own)
        assert any("measure_detail" in p and "shows" in p for p in problems)
        assert any("evidence_download" in p and "status 200" in p for p in problems)

    def test_it_shows_an_outsider_nothing_of_unit_a(self, world, swept, client):
        plan, _unknown = _plan(world, swept)
        assert len(plan) > 60
        assert _sweep(client, world.outsider, plan) == []

    @pytest.mark.parametrize("actor", ["sysadmin", "secadmin", "auditadmin"])
    def test_it_shows_the_administrators_no_finding(self, world, swept, client, actor):
        # The audit log itself names the objects it records; it is the audit administrator's job
        # to read it, so the administrators are swept over the findings' pages only.
        plan, _unknown = _plan(world, swept)
        findings = [item for item in plan if item[0].startswith("rectification:")]
        if actor == "sysadmin":
            # The channel pages are the system administrator's own (they show no finding); the other
            # two administrators are still swept over them.
            findings = [item for item in findings if item[0] not in CHANNEL_PAGES]
        assert _sweep(client, getattr(world, actor), findings) == []

    def test_it_refuses_the_provincial_team_every_page_but_what_was_released(self, world, swept, client):
        # One rule (``access.may_open_page``) for every page of the findings: the provincial team
        # gets 403 on each one not listed as released material, whatever the page itself would say.
        plan, _unknown = _plan(world, swept)
        live = [item for item in plan if item[0].startswith("rectification:") and item[0] not in access.RELEASED_PAGES]
        assert len(live) > 60
        client.force_login(world.provincial)
        answers = {name: client.get(path).status_code for name, path, _kind in live}
        assert {name: status for name, status in answers.items() if status != 403} == {}
        # The released material itself leaks none of unit A's live work.
        released = [item for item in plan if item[0] in access.RELEASED_PAGES]
        assert {name for name, _path, _kind in released} >= {
            "rectification:release_list",
            "rectification:release_figures",
            "rectification:final_report_final",
        }
        assert [p for p in _sweep(client, world.provincial, released) if "shows" in p] == []
