"""Unit staff in the browser: worklist, weekly reports, evidence, milestones, coordination."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.test.html import parse_html
from django.urls import reverse
from pytest_django.asserts import assertInHTML

from accounts.models import AuditEvent
from rectification import services
from rectification.forms import ReportRowForm
from rectification.models import (
    CoordinationItem,
    Evidence,
    Measure,
    Milestone,
    Notification,
    ProgressReport,
)
from rectification.views import unitwork

from .conftest import as_claimed

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday of ISO week 2026-W48; that week's cut-off is Thursday 26 November, 17:00.
TUESDAY = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
FRIDAY = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
WEEK = "2026-W48"
REPORT = reverse("rectification:report_week")
WORKLIST = reverse("rectification:worklist")

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def frozen():
    with time_machine.travel(TUESDAY, tick=False) as traveller:
        yield traveller


def _row(measure, progress, percent=40, lock_version="", **extra):
    prefix = f"m{measure.pk}"
    data = {
        f"{prefix}-progress_this_week": progress,
        f"{prefix}-cumulative_state": "in_progress",
        f"{prefix}-percent": str(percent),
        f"{prefix}-next_week_plan": "下周继续推进",
        f"{prefix}-difficulties": "",
        f"{prefix}-lock_version": str(lock_version),
        f"{prefix}-evidence_kind": "other",
    }
    data.update({f"{prefix}-{key}": value for key, value in extra.items()})
    return data


def _post_report(client, action, *rows, follow=False, extra=None):
    data = {"week": WEEK, "action": action, **(extra or {})}
    for row in rows:
        data.update(row)
    return client.post(f"{REPORT}?week={WEEK}", data, follow=follow)


def _lock(measure):
    """The lock counter the report page would carry for this measure right now."""
    report = _report(measure)
    return report.lock_version if report else ""


def _report(measure):
    return ProgressReport.objects.filter(measure=measure).order_by("-version").first()


@pytest.mark.django_db
class TestWorklist:
    def test_it_lists_the_units_open_measures_with_lights(self, world, client, frozen):
        client.force_login(world.resp_staff)
        page = client.get(WORKLIST).content.decode()
        assert "全面清理违规发放的津贴补贴" in page
        assert "镇街自查自纠" not in page
        assert "第48周" in page

    def test_it_names_the_round_of_each_row_once_the_unit_works_in_several(self, world, client, frozen):
        client.force_login(world.resp_staff)
        assert "<th>巡视轮次</th>" not in client.get(WORKLIST).content.decode()
        _second_round(world)
        page = client.get(WORKLIST).content.decode()
        assert "<th>巡视轮次</th>" in page
        assert f'<td data-label="巡视轮次" class="small">{world.round.title}</td>' in page
        assert '<td data-label="巡视轮次" class="small">第二轮巡视</td>' in page

    def test_it_shows_another_unit_only_its_own_work(self, world, client, frozen):
        for user in (world.lead_staff, world.outsider):
            client.force_login(user)
            page = client.get(WORKLIST).content.decode()
            assert "全面清理违规发放的津贴补贴" not in page

    def test_it_is_not_there_for_people_who_are_not_unit_staff(self, world, client, frozen):
        for user in (world.office, world.leader, world.sysadmin):
            client.force_login(user)
            assert client.get(WORKLIST).status_code == 404
        # The provincial team opens only what was released to it: refused with the reason.
        client.force_login(world.provincial)
        assert client.get(WORKLIST).status_code == 403

    def test_it_refuses_post(self, world, client):
        client.force_login(world.resp_staff)
        assert client.post(WORKLIST).status_code == 405

    def test_it_sorts_returned_and_red_items_first(self, world, client, frozen):
        late = world.make_problem("2.1", responsible_units=[world.resp_unit], measures=[world.resp_unit])
        Measure.objects.filter(problem=late).update(due_date=datetime.date(2026, 11, 1))
        client.force_login(world.resp_staff)
        measures = client.get(WORKLIST).context["measures"]
        assert [m.light.code for m in measures] == ["red", "yellow"]

    def test_it_runs_the_same_number_of_queries_for_1_and_20_measures(
        self, world, client, frozen, django_assert_num_queries
    ):
        client.force_login(world.resp_staff)
        client.get(WORKLIST)
        # session, user, roles, unit, measures (with milestones and report in subqueries), bell,
        # pending close-outs, the office's holiday entries and confirmed years (read once per
        # request for the week's cut-off), and the menu's numbers on 督办单 and 待认领 (one query)
        with django_assert_num_queries(10):
            client.get(WORKLIST)
        world.make_problem("2.2", responsible_units=[world.resp_unit], measures=[world.resp_unit] * 19)
        with django_assert_num_queries(10):
            response = client.get(WORKLIST)
        assert len(response.context["measures"]) == 20


# The worklist's rows as its template wrote them before ``{% worklist_rows %}`` wrote them in Python.
WORKLIST_ROW_TEMPLATE = """{% load l10n %}{% localize off %}{% for m in measures %}
      <tr>
        <td data-label="预警">{% include "rectification/_light.html" with light=m.light note=m.light_note %}</td>
        {% if several_rounds %}<td data-label="巡视轮次" class="small">{{ m.problem.round.title }}</td>{% endif %}
        <td data-label="编号" class="nowrap">{{ m.code }}</td>
        <td><a href="{{ measure_url }}{{ m.pk }}/">{{ m.text|truncatechars:50 }}</a><div class="muted small">牵头领导：{{ m.problem.lead_official }}</div></td>
        <td data-label="完成时限" class="nowrap">{{ m.due_date|date:"Y-m-d" }}</td>
        <td data-label="剩余" class="nowrap">{% if m.progress_state == "completed" %}<span class="muted">已完成</span>{% elif m.days_left < 0 %}<span class="late-text">逾期{{ m.days_overdue }}天</span>{% else %}{{ m.days_left }}天{% endif %}</td>
        <td data-label="进度" class="nowrap"><progress max="100" value="{{ m.percent }}"></progress> {{ m.percent }}% / {{ m.expected }}%{% if m.behind %} <span class="tag warn">滞后</span>{% endif %}</td>
        <td data-label="下一节点">{% if m.next_milestone_title %}{{ m.next_milestone_title }}<div class="small {% if m.next_milestone_due < today %}late-text{% else %}muted{% endif %}">{{ m.next_milestone_due|date:"n月j日" }}</div>{% else %}<span class="muted">—</span>{% endif %}</td>
        <td data-label="本周周报" class="nowrap">{% if m.week_report_state %}<span class="state state-{{ m.week_report_state }}">{{ m.week_report_state_label }}</span>{% else %}<span class="state state-none">未填报</span>{% endif %}</td>
      </tr>{% endfor %}{% endlocalize %}"""


@pytest.mark.django_db
class TestWorklistRows:
    """The rows are written in Python for speed: they must be what the template wrote."""

    def test_every_kind_of_row_is_written_as_the_template_wrote_it(self, world, client, frozen):
        _later, (overdue, done, *_rest) = _second_round(world, measures=4)
        Measure.objects.filter(pk=overdue.pk).update(
            due_date=datetime.date(2026, 11, 1), text="<清理>“违规”津贴 & 补贴" * 6, percent=5
        )
        Measure.objects.filter(pk=done.pk).update(
            progress_state="completed", percent=100, closeout_state="pending_office"
        )
        Measure.objects.filter(pk=world.resp_measure.pk).update(due_date=datetime.date(2026, 12, 31))
        Milestone.objects.create(
            measure=world.resp_measure, seq=1, title="制定<方案>", due_date=datetime.date(2026, 11, 20)
        )
        Milestone.objects.create(measure=overdue, seq=1, title="摸底", due_date=datetime.date(2026, 12, 20))
        world.leader.full_name = "王<某>"
        world.leader.is_pending = True
        world.leader.save()
        client.force_login(world.resp_staff)
        _post_report(client, "save", _row(world.resp_measure, "已清退", 40))
        response = client.get(WORKLIST)
        context = response.context
        measures = context["measures"]
        assert len(measures) == 5 and context["several_rounds"]
        assert {m.light.code for m in measures} >= {"red", "yellow", "review"}
        assert any(m.week_report_state for m in measures) and any(m.light_note for m in measures)
        values = {k: context[k] for k in ("measures", "several_rounds", "measure_url", "today")}
        before = Template(WORKLIST_ROW_TEMPLATE).render(Context(values))
        after = Template(
            "{% load ledger %}{% worklist_rows measures several_rounds=several_rounds measure_url=measure_url today=today %}"
        ).render(Context(values))
        assert parse_html(after) == parse_html(before)
        assert parse_html(after) in parse_html(response.content.decode())
        for shown in ("&lt;清理&gt;", "王&lt;某&gt;", "制定&lt;方案&gt;"):
            assert shown in after


@pytest.mark.django_db
class TestLights:
    def _light(self, client, world):
        client.force_login(world.resp_staff)
        return client.get(WORKLIST).context["measures"][0].light.code

    def test_it_turns_yellow_within_seven_days_of_the_due_date(self, world, client, frozen):
        assert self._light(client, world) == "yellow"  # due 30 November

    def test_it_turns_red_when_overdue(self, world, client, frozen):
        Measure.objects.filter(pk=world.resp_measure.pk).update(due_date=datetime.date(2026, 11, 20))
        assert self._light(client, world) == "red"

    def test_it_turns_grey_when_nothing_was_reported_for_a_week(self, world, client, frozen):
        Measure.objects.filter(pk=world.resp_measure.pk).update(due_date=datetime.date(2026, 12, 31))
        assert self._light(client, world) == "grey"
        Measure.objects.filter(pk=world.resp_measure.pk).update(last_reported_at=TUESDAY - datetime.timedelta(days=2))
        assert self._light(client, world) == "green"

    def test_it_turns_yellow_then_red_for_an_overdue_milestone(self, world, client, frozen):
        Measure.objects.filter(pk=world.resp_measure.pk).update(
            due_date=datetime.date(2026, 12, 31), last_reported_at=TUESDAY
        )
        milestone = Milestone.objects.create(
            measure=world.resp_measure, seq=1, title="制定方案", due_date=datetime.date(2026, 11, 20)
        )
        assert self._light(client, world) == "yellow"
        Milestone.objects.filter(pk=milestone.pk).update(due_date=datetime.date(2026, 11, 10))
        assert self._light(client, world) == "red"


@pytest.mark.django_db
class TestWeeklyReport:
    def test_it_round_trips_a_whole_week(self, world, client, frozen):
        second = as_claimed(
            services.measure_create(
                actor=world.office,
                problem=world.problem,
                code="1.1.3",
                text="建立津补贴发放审核制度",
                kind=Measure.Kind.RULES,
                owner_unit=world.resp_unit,
                start_date=datetime.date(2026, 9, 1),
                due_date=datetime.date(2026, 12, 20),
            )
        )
        client.force_login(world.resp_staff)
        response = _post_report(client, "save", _row(world.resp_measure, "已清退12万元", 40), _row(second, "", 10))
        assert response.status_code == 302
        assert _report(world.resp_measure).state == ProgressReport.State.DRAFT

        refused = _post_report(
            client,
            "submit",
            _row(world.resp_measure, "已清退12万元", 40, lock_version=_lock(world.resp_measure)),
            _row(second, "", 10, lock_version=_lock(second)),
            follow=True,
        )
        assert "以下措施还没有填写本周进展，不能提交：1.1.3" in refused.content.decode()
        assert _report(second).state == ProgressReport.State.DRAFT

        response = _post_report(
            client,
            "submit",
            _row(world.resp_measure, "已清退12万元", 40, lock_version=_lock(world.resp_measure)),
            _row(second, "已起草制度初稿", 30, lock_version=_lock(second)),
        )
        assert response.status_code == 302
        assert {_report(m).state for m in (world.resp_measure, second)} == {ProgressReport.State.SUBMITTED}
        assert not _report(second).is_late
        assert Notification.objects.filter(recipient=world.resp_head, kind="report_submitted").exists()

        client.force_login(world.resp_head)
        page = client.get(f"{REPORT}?week={WEEK}").content.decode()
        assert "提交审核结果" in page
        assert client.post(reverse("rectification:report_confirm"), {"week": WEEK}).status_code == 302
        world.resp_measure.refresh_from_db()
        assert _report(world.resp_measure).state == ProgressReport.State.CONFIRMED
        assert _report(world.resp_measure).confirmed_by == world.resp_head
        assert world.resp_measure.percent == 40
        assert world.resp_measure.latest_progress == "已清退12万元"
        assert Notification.objects.filter(recipient=world.resp_staff, kind="report_confirmed").exists()
        assert AuditEvent.objects.filter(action="report.review", actor=world.resp_head).exists()

    def test_it_flags_a_submission_after_the_cut_off_as_late(self, world, client, frozen):
        client.force_login(world.resp_staff)
        _post_report(client, "save", _row(world.resp_measure, "进展", 40))
        frozen.move_to(FRIDAY)
        client.force_login(world.resp_staff)  # the earlier session has expired by Friday
        _post_report(client, "submit", _row(world.resp_measure, "进展", 40, lock_version=_lock(world.resp_measure)))
        report = _report(world.resp_measure)
        assert report.state == ProgressReport.State.SUBMITTED
        assert report.is_late

    def test_it_refuses_a_concurrent_edit_and_shows_the_other_text(self, world, client, frozen):
        client.force_login(world.resp_staff)
        _post_report(client, "save", _row(world.resp_measure, "第一版", 20))
        colleague = services.report_latest(world.resp_measure, 2026, 48)
        services.report_save(
            actor=world.resp_head,
            measure=world.resp_measure,
            iso_year=2026,
            iso_week=48,
            data={**{f: getattr(colleague, f) for f in services.REPORT_FIELDS}, "progress_this_week": "负责人改过的"},
            lock_version=colleague.lock_version,
        )
        # The liaison's page still carries the counter from before the head's save.
        response = _post_report(
            client, "save", _row(world.resp_measure, "联络员的修改", 30, lock_version=colleague.lock_version)
        )
        page = response.content.decode()
        assert response.status_code == 409
        assert "您的修改没有保存" in page
        assert "负责人改过的" in page and "联络员的修改" in page
        assert _report(world.resp_measure).progress_this_week == "负责人改过的"

    def test_it_refuses_two_first_saves_of_the_same_row(self, world, frozen):
        services.report_save(
            actor=world.resp_staff,
            measure=world.resp_measure,
            iso_year=2026,
            iso_week=48,
            data={
                "progress_this_week": "甲",
                "cumulative_state": "in_progress",
                "percent": 1,
                "next_week_plan": "",
                "difficulties": "",
            },
            lock_version=None,
        )
        with pytest.raises(services.ReportConflict):
            services.report_save(
                actor=world.resp_head,
                measure=world.resp_measure,
                iso_year=2026,
                iso_week=48,
                data={
                    "progress_this_week": "乙",
                    "cumulative_state": "in_progress",
                    "percent": 2,
                    "next_week_plan": "",
                    "difficulties": "",
                },
                lock_version=None,
            )

    def test_it_returns_with_a_reason_and_accepts_a_resubmission(self, world, client, frozen):
        client.force_login(world.resp_staff)
        _post_report(client, "submit", _row(world.resp_measure, "已清退", 40))
        client.force_login(world.resp_head)
        assert client.post(reverse("rectification:report_return"), {"week": WEEK, "reason": ""}).status_code == 302
        assert _report(world.resp_measure).state == ProgressReport.State.SUBMITTED
        client.post(reverse("rectification:report_return"), {"week": WEEK, "reason": "金额与台账不符"})
        report = _report(world.resp_measure)
        assert report.state == ProgressReport.State.RETURNED
        assert Notification.objects.get(recipient=world.resp_staff, kind="report_returned").text.endswith(
            "金额与台账不符"
        )

        client.force_login(world.resp_staff)
        assert "金额与台账不符" in client.get(WORKLIST).content.decode()
        _post_report(
            client, "submit", _row(world.resp_measure, "已清退，金额已核对", 45, lock_version=report.lock_version)
        )
        assert _report(world.resp_measure).state == ProgressReport.State.SUBMITTED

    def test_it_lets_only_the_unit_head_confirm(self, world, client, frozen):
        client.force_login(world.resp_staff)
        _post_report(client, "submit", _row(world.resp_measure, "已清退", 40))
        client.post(reverse("rectification:report_confirm"), {"week": WEEK})
        assert _report(world.resp_measure).state == ProgressReport.State.SUBMITTED
        client.force_login(world.outsider)  # a unit head, but of another unit
        client.post(reverse("rectification:report_confirm"), {"week": WEEK})
        assert _report(world.resp_measure).state == ProgressReport.State.SUBMITTED

    def test_it_keeps_a_confirmed_report_and_corrects_by_a_new_version(self, world, client, frozen):
        client.force_login(world.resp_staff)
        _post_report(client, "submit", _row(world.resp_measure, "已清退", 40))
        client.force_login(world.resp_head)
        client.post(reverse("rectification:report_confirm"), {"week": WEEK})
        confirmed = _report(world.resp_measure)

        client.force_login(world.resp_staff)
        _post_report(client, "save", _row(world.resp_measure, "想直接改", 90, lock_version=confirmed.lock_version))
        assert _report(world.resp_measure).progress_this_week == "已清退"

        url = reverse("rectification:report_correct", args=[confirmed.pk])
        data = {
            "correction_reason": "清退金额填错",
            "progress_this_week": "已清退10万元",
            "cumulative_state": "in_progress",
            "percent": 35,
            "next_week_plan": "",
            "difficulties": "",
            "evidence_kind": "other",
        }
        assert client.post(url, data).status_code == 302
        correction = _report(world.resp_measure)
        assert (correction.version, correction.state, correction.correction_reason) == (2, "draft", "清退金额填错")
        confirmed.refresh_from_db()
        assert confirmed.state == ProgressReport.State.CONFIRMED and confirmed.progress_this_week == "已清退"

    def test_it_does_not_let_another_unit_report_on_a_measure(self, world, client, frozen):
        client.force_login(world.outsider)
        _post_report(client, "save", _row(world.resp_measure, "冒名填报", 99))
        assert not ProgressReport.objects.exists()
        with pytest.raises(PermissionDenied):
            services.report_save(
                actor=world.lead_staff,
                measure=world.resp_measure,
                iso_year=2026,
                iso_week=48,
                data={
                    "progress_this_week": "x",
                    "cumulative_state": "in_progress",
                    "percent": 1,
                    "next_week_plan": "",
                    "difficulties": "",
                },
                lock_version=None,
            )

    def test_it_is_not_there_for_people_who_are_not_unit_staff(self, world, client):
        client.force_login(world.office)
        assert client.get(REPORT).status_code == 404
        assert client.post(reverse("rectification:report_confirm"), {"week": WEEK}).status_code == 404

    def test_it_refuses_the_wrong_methods(self, world, client):
        client.force_login(world.resp_head)
        assert client.put(REPORT).status_code == 405
        assert client.get(reverse("rectification:report_confirm")).status_code == 405
        assert client.get(reverse("rectification:report_return")).status_code == 405


@pytest.mark.django_db
class TestReportInputs:
    """The report page writes its inputs in plain HTML: they must be what the row's form renders."""

    def _assert_inputs_are_the_forms(self, page, form):
        for name in form.fields:
            assertInHTML(str(form[name]), page)

    def test_it_writes_a_new_row_as_the_form_would(self, world, client, frozen):
        Measure.objects.filter(pk=world.resp_measure.pk).update(progress_state="staged", percent=55)
        world.resp_measure.refresh_from_db()
        client.force_login(world.resp_staff)
        page = client.get(f"{REPORT}?week={WEEK}").content.decode()
        self._assert_inputs_are_the_forms(
            page, ReportRowForm.for_report(None, f"m{world.resp_measure.pk}", world.resp_measure)
        )

    def test_it_writes_a_draft_as_the_form_would(self, world, client, frozen):
        client.force_login(world.resp_staff)
        _post_report(client, "save", _row(world.resp_measure, "已清退<12万元>\n第二行", 40, difficulties="需“协调”&"))
        page = client.get(f"{REPORT}?week={WEEK}").content.decode()
        report = _report(world.resp_measure)
        self._assert_inputs_are_the_forms(page, ReportRowForm.for_report(report, f"m{world.resp_measure.pk}"))

    def test_it_writes_a_refused_row_as_the_form_would_with_its_errors(self, world, client, frozen):
        client.force_login(world.resp_staff)
        row = _row(world.resp_measure, "进展", "150", cumulative_state="nonsense", evidence_kind="receipt")
        response = _post_report(client, "save", row)
        assert response.status_code == 400
        page = response.content.decode()
        form = ReportRowForm(row, prefix=f"m{world.resp_measure.pk}")
        assert not form.is_valid()
        self._assert_inputs_are_the_forms(page, form)
        assert "确保该值小于或等于100。" in page


def _second_round(world, measures=2):
    """A later round in which the responsible unit owns ``measures`` more open measures."""
    later = world.make_round("第二轮巡视", feedback_date=datetime.date(2026, 10, 1))
    problem = world.make_problem(
        "2.1", inspection_round=later, responsible_units=[world.resp_unit], measures=[world.resp_unit] * measures
    )
    return later, list(problem.measures.order_by("seq", "pk"))


@pytest.mark.django_db
class TestReportByRound:
    def test_it_shows_a_unit_with_few_rows_all_of_them_with_a_tab_per_round(self, world, client, frozen):
        _later, measures = _second_round(world)
        client.force_login(world.resp_staff)
        response = client.get(f"{REPORT}?week={WEEK}")
        assert [row["measure"] for row in response.context["rows"]] == [world.resp_measure, *measures]
        page = response.content.decode()
        assert "全部轮次 · 3项 · 待填报3" in page
        assert "第二轮巡视 · 2项 · 待填报2" in page
        assert '<input type="hidden" name="round" value="all">' in page

    def test_it_shows_a_busy_unit_the_round_with_most_to_do(self, world, client, frozen, monkeypatch):
        monkeypatch.setattr(unitwork, "REPORT_ROWS_ON_ONE_PAGE", 2)
        later, measures = _second_round(world)
        client.force_login(world.resp_staff)
        response = client.get(f"{REPORT}?week={WEEK}")
        assert [row["measure"] for row in response.context["rows"]] == measures
        page = response.content.decode()
        assert f'<input type="hidden" name="round" value="{later.pk}">' in page
        assert "其他轮次还有 <strong>1</strong> 项待填报" in page
        shown = client.get(f"{REPORT}?week={WEEK}&round={world.round.pk}").context["rows"]
        assert [row["measure"] for row in shown] == [world.resp_measure]
        assert len(client.get(f"{REPORT}?week={WEEK}&round=all").context["rows"]) == 3

    def test_it_moves_on_to_the_round_still_to_do(self, world, client, frozen, monkeypatch):
        monkeypatch.setattr(unitwork, "REPORT_ROWS_ON_ONE_PAGE", 2)
        later, measures = _second_round(world)
        client.force_login(world.resp_staff)
        _post_report(client, "save", *(_row(m, "已推进") for m in measures), extra={"round": later.pk})
        shown = client.get(f"{REPORT}?week={WEEK}").context["rows"]
        assert [row["measure"] for row in shown] == [world.resp_measure]

    def test_it_saves_only_the_rows_of_the_round_it_showed(self, world, client, frozen, monkeypatch):
        monkeypatch.setattr(unitwork, "REPORT_ROWS_ON_ONE_PAGE", 2)
        later, measures = _second_round(world)
        client.force_login(world.resp_staff)
        response = _post_report(client, "save", *(_row(m, "已推进") for m in measures), extra={"round": later.pk})
        assert response.status_code == 302
        assert response["Location"] == f"{REPORT}?week={WEEK}&round={later.pk}"
        assert [_report(m).state for m in measures] == [ProgressReport.State.DRAFT] * 2
        assert _report(world.resp_measure) is None

    def test_a_refused_submission_names_the_missing_rows_by_round_and_counts_the_rest(
        self, world, client, frozen, monkeypatch
    ):
        from rectification.services import reporting

        monkeypatch.setattr(reporting, "MISSING_SHOWN", 2)
        _later, measures = _second_round(world)
        client.force_login(world.resp_staff)
        refused = _post_report(client, "submit", *(_row(m, "") for m in (world.resp_measure, *measures)), follow=True)
        assert (
            f"以下措施还没有填写本周进展，不能提交：{world.round.title}：1.1.1；第二轮巡视：2.1.1（共3项，以上为前2项）"
            in refused.content.decode()
        )

    def test_it_submits_the_whole_week_from_one_round(self, world, client, frozen, monkeypatch):
        monkeypatch.setattr(unitwork, "REPORT_ROWS_ON_ONE_PAGE", 2)
        later, measures = _second_round(world)
        client.force_login(world.resp_staff)
        rows = [_row(m, "已推进") for m in measures]
        refused = _post_report(client, "submit", *rows, extra={"round": later.pk}, follow=True)
        assert "以下措施还没有填写本周进展，不能提交：1.1.1" in refused.content.decode()
        assert refused.context["rows"][0]["measure"] == measures[0]
        _post_report(client, "save", _row(world.resp_measure, "已清退"), extra={"round": world.round.pk})
        rows = [_row(m, "已推进", lock_version=_lock(m)) for m in measures]
        response = _post_report(client, "submit", *rows, extra={"round": later.pk})
        assert response.status_code == 302
        states = {_report(m).state for m in (world.resp_measure, *measures)}
        assert states == {ProgressReport.State.SUBMITTED}

    def test_it_links_a_returned_row_on_the_worklist_to_its_round(self, world, client, frozen):
        later, measures = _second_round(world)
        client.force_login(world.resp_staff)
        _post_report(client, "submit", *(_row(m, "已推进") for m in (world.resp_measure, *measures)))
        client.force_login(world.resp_head)
        client.post(reverse("rectification:report_return"), {"week": WEEK, "reason": "数据不全"})
        client.force_login(world.resp_staff)
        page = client.get(WORKLIST).content.decode()
        assert f'href="{REPORT}?round={later.pk}#m{measures[0].pk}"' in page
        assert f'href="{REPORT}?round={world.round.pk}#m{world.resp_measure.pk}"' in page

    def test_it_shows_the_head_the_confirmation_whatever_the_round(self, world, client, frozen, monkeypatch):
        monkeypatch.setattr(unitwork, "REPORT_ROWS_ON_ONE_PAGE", 2)
        later, measures = _second_round(world)
        client.force_login(world.resp_staff)
        _post_report(client, "submit", *(_row(m, "已推进") for m in (world.resp_measure, *measures)))
        client.force_login(world.resp_head)
        for round_param in (world.round.pk, later.pk, "all"):
            assert "提交审核结果" in client.get(f"{REPORT}?week={WEEK}&round={round_param}").content.decode()


@pytest.mark.django_db
class TestEvidence:
    def _upload(self, client, measure, name, content, kind="report"):
        return client.post(
            reverse("rectification:measure_evidence_upload", args=[measure.pk]),
            {"file": SimpleUploadedFile(name, content), "kind": kind},
            follow=True,
        )

    def test_it_stores_a_real_pdf_outside_the_web_root_with_its_hash(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.resp_staff)
        self._upload(client, world.resp_measure, "清退凭证.pdf", PDF)
        evidence = Evidence.objects.get()
        assert evidence.sha256 == __import__("hashlib").sha256(PDF).hexdigest()
        assert (tmp_path / "evidence" / evidence.stored_name).read_bytes() == PDF
        assert AuditEvent.objects.filter(action="evidence.upload", target_id=str(evidence.pk)).exists()

    def test_it_refuses_a_forged_extension(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.resp_staff)
        for name, content in (("假文件.pdf", b"<html><script>alert(1)</script></html>"), ("照片.pdf", PNG)):
            page = self._upload(client, world.resp_measure, name, content).content.decode()
            assert f"文件“{name}”的扩展名是 .pdf，但内容不是PDF" in page
        page = self._upload(client, world.resp_measure, "脚本.html", b"<html></html>").content.decode()
        assert "类型不允许上传" in page
        assert not Evidence.objects.exists()
        assert not any(tmp_path.rglob("*.*"))

    def test_it_refuses_an_empty_and_an_oversized_file(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        settings.EVIDENCE_MAX_BYTES = 1024
        client.force_login(world.resp_staff)
        page = self._upload(client, world.resp_measure, "空.pdf", b"").content.decode()
        assert "文件“空.pdf”是空文件（0 字节），请重新选择。" in page
        page = self._upload(client, world.resp_measure, "大.pdf", PDF + b"0" * 2048).content.decode()
        # Django puts a non-breaking space between number and unit.
        assert "文件“大.pdf”大小为 2.0 KB，超过了 1.0 KB 的上限" in page.replace("\xa0", " ")
        assert not Evidence.objects.exists()

    def test_it_serves_evidence_as_an_attachment_to_those_who_may_see_it(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.resp_staff)
        self._upload(client, world.resp_measure, "清退凭证.pdf", PDF)
        url = Evidence.objects.get().get_absolute_url()
        for user in (world.resp_staff, world.lead_staff, world.office):
            client.force_login(user)
            response = client.get(url)
            assert response.status_code == 200
            assert response["Content-Disposition"].startswith("attachment")
            assert response["X-Content-Type-Options"] == "nosniff"
            assert b"".join(response.streaming_content) == PDF
        client.force_login(world.outsider)
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 405

    def test_it_refuses_uploads_from_another_unit(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.outsider)
        assert self._upload(client, world.resp_measure, "a.pdf", PDF).status_code == 404
        client.force_login(world.lead_staff)
        assert self._upload(client, world.resp_measure, "a.pdf", PDF).status_code == 403
        assert not Evidence.objects.exists()

    def test_it_attaches_evidence_from_the_report_form(self, world, client, settings, tmp_path, frozen):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.resp_staff)
        row = _row(world.resp_measure, "已清退", 40, evidence_file=SimpleUploadedFile("凭证.pdf", PDF))
        _post_report(client, "save", row)
        evidence = Evidence.objects.get()
        assert evidence.report == _report(world.resp_measure)


@pytest.mark.django_db
class TestMilestones:
    def test_it_marks_a_milestone_done_with_evidence(self, world, client, settings, tmp_path, frozen):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        milestone = Milestone.objects.create(
            measure=world.resp_measure, seq=1, title="制定方案", due_date=datetime.date(2026, 11, 20)
        )
        client.force_login(world.resp_staff)
        url = reverse("rectification:milestone_done", args=[milestone.pk])
        client.post(url, {"done_on": "2026-11-23", "kind": "work_plan", "file": SimpleUploadedFile("方案.pdf", PDF)})
        milestone.refresh_from_db()
        assert milestone.done_on == datetime.date(2026, 11, 23)
        assert milestone.done_by == world.resp_staff
        assert milestone.evidence.get().kind == "work_plan"

    def test_it_refuses_a_future_date(self, world, client, frozen):
        milestone = Milestone.objects.create(
            measure=world.resp_measure, seq=1, title="方案", due_date=datetime.date(2026, 11, 20)
        )
        client.force_login(world.resp_staff)
        page = client.post(
            reverse("rectification:milestone_done", args=[milestone.pk]),
            {"done_on": "2026-12-01", "kind": "other"},
            follow=True,
        ).content.decode()
        assert "完成日期不能晚于今天" in page
        milestone.refresh_from_db()
        assert milestone.done_on is None

    def test_it_refuses_other_units_and_get(self, world, client, frozen):
        milestone = Milestone.objects.create(
            measure=world.resp_measure, seq=1, title="方案", due_date=datetime.date(2026, 11, 20)
        )
        url = reverse("rectification:milestone_done", args=[milestone.pk])
        client.force_login(world.outsider)
        assert client.post(url, {"done_on": "2026-11-23", "kind": "other"}).status_code == 404
        client.force_login(world.lead_staff)
        assert client.post(url, {"done_on": "2026-11-23", "kind": "other"}).status_code == 403
        assert client.get(url).status_code == 405
        milestone.refresh_from_db()
        assert milestone.done_on is None


@pytest.mark.django_db
class TestCoordinationAndLeadUnit:
    def _submit_with_difficulty(self, client, world):
        client.force_login(world.resp_staff)
        _post_report(client, "submit", _row(world.resp_measure, "推进中", 40, difficulties="需财政局协调资金"))

    def test_it_raises_difficulties_to_the_lead_official(self, world, client, frozen):
        self._submit_with_difficulty(client, world)
        item = CoordinationItem.objects.get()
        assert item.text == "需财政局协调资金"
        assert Notification.objects.filter(recipient=world.leader, kind="coordination").exists()
        for user, sees in (
            (world.leader, True),
            (world.office, True),
            (world.other_leader, False),
            (world.outsider, False),
        ):
            client.force_login(user)
            assert (
                "需财政局协调资金" in client.get(reverse("rectification:coordination_list")).content.decode()
            ) is sees

    def test_it_lets_the_lead_official_answer(self, world, client, frozen):
        self._submit_with_difficulty(client, world)
        item = CoordinationItem.objects.get()
        url = reverse("rectification:coordination_resolve", args=[item.pk])
        client.force_login(world.outsider)
        assert client.post(url, {"resolution": "不该我答"}).status_code == 404
        client.force_login(world.leader)
        assert client.get(url).status_code == 405
        client.post(url, {"resolution": "已召开调度会，财政局下周拨付"})
        item.refresh_from_db()
        assert (item.state, item.resolved_by) == ("resolved", world.leader)

    def test_it_shows_the_lead_unit_its_responsible_units_reports(self, world, client, frozen):
        self._submit_with_difficulty(client, world)
        url = f"{reverse('rectification:led_reports')}?week={WEEK}"
        client.force_login(world.lead_staff)
        assert "推进中" in client.get(url).content.decode()
        client.force_login(world.outsider)
        page = client.get(url).content.decode()
        assert "全面清理违规发放的津贴补贴" not in page
        client.force_login(world.office)
        assert client.get(url).status_code == 404


@pytest.mark.django_db
class TestNotifications:
    def test_it_counts_unread_notices_in_the_bell_and_marks_them_read(self, world, client):
        client.force_login(world.resp_staff)
        # The fixture assigned a measure to the unit, which notified its staff.
        assert client.get(reverse("rectification:notifications")).context["unread_count"]() == 1
        client.post(reverse("rectification:notifications_read"))
        assert not Notification.objects.filter(recipient=world.resp_staff, read_at__isnull=True).exists()

    def test_it_never_shows_someone_elses_notices(self, world, client):
        client.force_login(world.outsider)
        page = client.get(reverse("rectification:notifications")).content.decode()
        assert "全面清理违规发放的津贴补贴" not in page
        assert client.get(reverse("rectification:notifications_read")).status_code == 405


@pytest.mark.django_db
class TestCorrectionAccess:
    def test_it_hides_the_correction_page_from_other_units(self, world, client, frozen):
        client.force_login(world.resp_staff)
        _post_report(client, "submit", _row(world.resp_measure, "已清退", 40))
        client.force_login(world.resp_head)
        client.post(reverse("rectification:report_confirm"), {"week": WEEK})
        url = reverse("rectification:report_correct", args=[_report(world.resp_measure).pk])
        client.force_login(world.outsider)
        assert client.get(url).status_code == 404
        client.force_login(world.lead_staff)
        assert client.get(url).status_code == 403
        client.force_login(world.resp_staff)
        assert client.get(url).status_code == 200
        assert client.put(url).status_code == 405
