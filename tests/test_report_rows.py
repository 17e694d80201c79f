"""The weekly report row by row: the head confirms or returns each row, the liaison submits the
rows that are ready, returns count once per measure and week, and unclaimed measures stay out."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from rectification import services
from rectification.formalism import units_with_many_returns
from rectification.models import Measure, Milestone, MissedReport, Notification, ProgressReport

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday of ISO week 2026-W48; that week's cut-off is Thursday 26 November, 17:00.
TUESDAY = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
WEEK = "2026-W48"
REPORT = reverse("rectification:report_week")
REVIEW = reverse("rectification:report_review")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def frozen():
    with time_machine.travel(TUESDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def three(world):
    """责任局 with three claimed measures: 1.1.1 and 2.1.1, 2.1.2 of a second problem."""
    problem = world.make_problem("2.1", measures=[world.resp_unit, world.resp_unit])
    return [world.resp_measure, *problem.measures.order_by("seq", "id")]


def _save(world, measure, progress="本周推进", percent=40, week=48):
    return services.report_save(
        actor=world.resp_staff,
        measure=measure,
        iso_year=2026,
        iso_week=week,
        data={
            "progress_this_week": progress,
            "cumulative_state": "in_progress",
            "percent": percent,
            "next_week_plan": "继续",
            "difficulties": "",
        },
        lock_version=None,
    )


def _submitted(world, measures):
    for number, measure in enumerate(measures, start=1):
        _save(world, measure, percent=10 * number)
    services.report_submit(
        actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48, measure_ids=[m.pk for m in measures]
    )


def _state(measure):
    return ProgressReport.objects.filter(measure=measure).order_by("-version").first().state


def _review(client, *decisions, **extra):
    data = {"week": WEEK, **extra}
    for measure, choice, reason in decisions:
        data[f"decision-{measure.pk}"] = choice
        data[f"reason-{measure.pk}"] = reason
    return client.post(REVIEW, data, follow=True)


@pytest.mark.django_db
class TestRowByRowReview:
    def test_it_confirms_some_rows_and_returns_others_each_with_its_reason(self, world, three, client, frozen):
        _submitted(world, three)
        client.force_login(world.resp_head)
        page = client.get(f"{REPORT}?week={WEEK}").content.decode()
        assert page.count('value="return" form="review-form"') == 3
        first, second, third = three
        response = _review(client, (first, "confirm", ""), (second, "return", "金额与台账不符"), (third, "", ""))
        assert "已确认 1 项、退回 1 项措施的周报" in response.content.decode()
        assert [_state(m) for m in three] == ["confirmed", "returned", "submitted"]
        first.refresh_from_db()
        second.refresh_from_db()
        # The confirmed row's progress reaches its measure; the returned one's does not.
        assert (first.percent, first.latest_progress) == (10, "本周推进")
        assert second.percent == 0
        assert ProgressReport.objects.get(measure=second).return_reason == "金额与台账不符"
        returned = Notification.objects.get(recipient=world.resp_staff, kind="report_returned")
        assert "2.1.1" in returned.text and returned.text.endswith("金额与台账不符")
        event = AuditEvent.objects.get(action="report.review")
        assert event.changes["measures"] == {"1.1.1": "confirmed", "2.1.1": "returned"}
        # The row left for later still waits on the page, with its own choices.
        page = client.get(f"{REPORT}?week={WEEK}").content.decode()
        assert page.count('value="return" form="review-form"') == 1

    def test_each_returned_row_needs_its_own_reason_and_one_missing_refuses_the_batch(
        self, world, three, client, frozen
    ):
        _submitted(world, three)
        client.force_login(world.resp_head)
        first, second, _third = three
        response = _review(client, (first, "return", "数据不全"), (second, "return", "  "))
        assert "退回的措施须逐项填写退回原因：2.1.1" in response.content.decode()
        assert [_state(m) for m in three] == ["submitted"] * 3
        assert not Notification.objects.filter(kind="report_returned").exists()

    def test_it_tells_each_liaison_of_each_returned_row(self, world, three, frozen):
        _submitted(world, three)
        services.report_return(
            actor=world.resp_head, unit=world.resp_unit, iso_year=2026, iso_week=48, reason="请补充佐证"
        )
        notices = Notification.objects.filter(recipient=world.resp_staff, kind="report_returned")
        assert sorted(n.text.split("措施 ")[1].split(" ")[0] for n in notices) == ["1.1.1", "2.1.1", "2.1.2"]

    def test_it_refuses_rows_not_submitted_or_of_another_unit(self, world, three, frozen):
        first, second, third = three
        _submitted(world, [first])
        _save(world, second)  # a draft
        services.report_save(
            actor=world.coop_staff,
            measure=world.coop_measure,
            iso_year=2026,
            iso_week=48,
            data={
                "progress_this_week": "自查",
                "cumulative_state": "in_progress",
                "percent": 20,
                "next_week_plan": "",
                "difficulties": "",
            },
            lock_version=None,
        )
        services.report_submit(actor=world.coop_staff, unit=world.coop_unit, iso_year=2026, iso_week=48)
        for decisions, named in (
            ({first.pk: ("confirm", ""), second.pk: ("confirm", "")}, "2.1.1"),
            ({third.pk: ("confirm", "")}, "不是本单位"),
            ({world.coop_measure.pk: ("confirm", "")}, "不是本单位"),
        ):
            with pytest.raises(ValidationError, match=named):
                services.report_review(
                    actor=world.resp_head, unit=world.resp_unit, iso_year=2026, iso_week=48, decisions=decisions
                )
        assert [_state(m) for m in (first, second, world.coop_measure)] == ["submitted", "draft", "submitted"]

    def test_a_row_decided_once_cannot_be_decided_again(self, world, three, frozen):
        _submitted(world, three)
        decide = dict(actor=world.resp_head, unit=world.resp_unit, iso_year=2026, iso_week=48)
        services.report_review(**decide, decisions={three[0].pk: ("confirm", "")})
        with pytest.raises(ValidationError, match=r"1\.1\.1"):
            services.report_review(**decide, decisions={three[0].pk: ("return", "再看看")})
        assert _state(three[0]) == "confirmed"

    def test_it_lets_only_the_unit_head_decide(self, world, three, client, frozen):
        _submitted(world, three)
        decision = {"week": WEEK, f"decision-{three[0].pk}": "confirm"}
        client.force_login(world.resp_staff)
        assert client.post(REVIEW, decision).status_code == 403
        for outsider in (world.office, world.leader):
            client.force_login(outsider)
            assert client.post(REVIEW, decision).status_code == 404
        # Another unit's head decides nothing of 责任局's, and is told so.
        client.force_login(world.outsider)
        response = client.post(REVIEW, decision, follow=True)
        assert response.status_code == 200 and "不是本单位的措施" in response.content.decode()
        client.force_login(world.resp_head)
        assert client.get(REVIEW).status_code == 405
        assert client.post(REVIEW, {"week": WEEK, f"decision-{three[0].pk}": "approve"}, follow=True).status_code == 200
        assert client.post(REVIEW, {"week": "2026-W99", f"decision-{three[0].pk}": "x"}).status_code in (302, 400)
        assert [_state(m) for m in three] == ["submitted"] * 3

    def test_it_needs_the_csrf_token(self, world, three, frozen):
        _submitted(world, three)
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.resp_head)
        assert client.post(REVIEW, {"week": WEEK, f"decision-{three[0].pk}": "confirm"}).status_code == 403
        assert _state(three[0]) == "submitted"

    def test_the_whole_week_confirm_still_confirms_every_row(self, world, three, client, frozen):
        _submitted(world, three)
        client.force_login(world.resp_head)
        response = client.post(reverse("rectification:report_confirm"), {"week": WEEK}, follow=True)
        assert "已确认 3 项措施的周报" in response.content.decode()
        assert [_state(m) for m in three] == ["confirmed"] * 3


@pytest.mark.django_db
class TestPartialSubmission:
    def _post(self, client, ticked, *rows):
        data = {"week": WEEK, "action": "submit", "choose_rows": "1", "submit_row": [str(m.pk) for m in ticked]}
        for measure, progress in rows:
            prefix = f"m{measure.pk}"
            report = ProgressReport.objects.filter(measure=measure).order_by("-version").first()
            data.update(
                {
                    f"{prefix}-progress_this_week": progress,
                    f"{prefix}-cumulative_state": "in_progress",
                    f"{prefix}-percent": "30",
                    f"{prefix}-next_week_plan": "",
                    f"{prefix}-difficulties": "",
                    f"{prefix}-lock_version": str(report.lock_version) if report else "",
                    f"{prefix}-evidence_kind": "other",
                }
            )
        return client.post(f"{REPORT}?week={WEEK}", data, follow=True)

    def test_it_submits_the_ticked_rows_and_keeps_the_rest_for_later(self, world, three, client, frozen):
        first, second, third = three
        client.force_login(world.resp_staff)
        response = self._post(client, [first], (first, "已清退"), (second, "写了一半"), (third, ""))
        assert "本次提交 1 项" in response.content.decode()
        assert [_state(m) for m in (first, second)] == ["submitted", "draft"]
        # Later in the week the rest follow; the submitted row is no longer in the form.
        response = self._post(client, [second, third], (second, "已完成自查"), (third, "已起草制度"))
        assert "本次提交 2 项" in response.content.decode()
        assert [_state(m) for m in three] == ["submitted"] * 3

    def test_a_ticked_row_without_progress_is_refused_by_its_code(self, world, three, client, frozen):
        first, second, third = three
        client.force_login(world.resp_staff)
        response = self._post(client, [first, third], (first, "已清退"), (second, ""), (third, "")).content.decode()
        assert "以下措施还没有填写本周进展，不能提交：2.1.2" in response and "取消勾选" in response
        assert _state(first) == "draft"

    def test_it_asks_for_a_tick_and_refuses_another_units_measure(self, world, three, client, frozen):
        client.force_login(world.resp_staff)
        rows = [(three[0], "已清退"), (three[1], ""), (three[2], "")]
        assert "请勾选要提交的措施" in self._post(client, [], *rows).content.decode()
        response = self._post(client, [world.coop_measure], *rows).content.decode()
        assert "不属于本单位" in response
        assert not ProgressReport.objects.exclude(state="draft").exists()

    def test_the_cut_off_counts_the_rows_not_submitted_as_missing(self, world, three, frozen):
        first, second, third = three
        _submitted(world, [first])
        _save(world, second)  # written, never submitted
        frozen.move_to(datetime.datetime(2026, 11, 26, 17, 30, tzinfo=SHANGHAI))
        cycle = services.cycle_for(world.round, 2026, 48)
        services.step_run(cycle, "collect")
        missed = set(MissedReport.objects.filter(cycle=cycle, unit=world.resp_unit).values_list("measure", flat=True))
        # Independently: the unit's open measures without a submitted or confirmed row this week.
        expected = {
            m.pk
            for m in Measure.objects.filter(owner_unit=world.resp_unit)
            if not ProgressReport.objects.filter(
                measure=m, iso_year=2026, iso_week=48, state__in=["submitted", "confirmed"]
            ).exists()
        }
        assert missed == expected == {second.pk, third.pk}


@pytest.mark.django_db
class TestUnclaimedMeasures:
    @pytest.fixture
    def unclaimed(self, world, three):
        """2.1.1 still waits for its unit (待认领); 2.1.2 is objected to (有异议)."""
        Measure.objects.filter(pk=three[1].pk).update(claim_state="pending")
        Measure.objects.filter(pk=three[2].pk).update(claim_state="objected", objection_reason="非本单位职责")
        for measure in three:
            measure.refresh_from_db()
        return three

    def test_the_week_leaves_them_out_and_says_why(self, world, unclaimed, client, frozen):
        client.force_login(world.resp_staff)
        response = client.get(f"{REPORT}?week={WEEK}")
        rows = [row["measure"].code for row in response.context["rows"]]
        assert rows == ["1.1.1"]
        page = response.content.decode()
        assert "未列入本周周报的措施" in page and "认领后才能填报和申请销号" in page
        assert "2.1.1" in page and "待认领" in page and "有异议" in page
        # A posted row for one of them is not saved; the whole week needs only the claimed one.
        _save(world, world.resp_measure)
        services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48)
        assert ProgressReport.objects.filter(measure__in=unclaimed[1:]).count() == 0

    def test_every_service_refuses_them_in_chinese(self, world, unclaimed, settings, tmp_path, frozen):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        _first, pending, objected = unclaimed
        with pytest.raises(ValidationError, match=r"措施 2\.1\.1 尚未认领（待认领），认领后才能填报和申请销号"):
            _save(world, pending)
        with pytest.raises(ValidationError, match="尚未认领"):
            services.report_submit(
                actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48, measure_ids=[objected.pk]
            )
        milestone = Milestone.objects.create(measure=objected, seq=1, title="制定方案", due_date=TUESDAY.date())
        with pytest.raises(ValidationError, match=r"2\.1\.2 尚未认领（有异议）"):
            services.milestone_mark_done(actor=world.resp_staff, milestone=milestone, done_on=TUESDAY.date())
        with pytest.raises(ValidationError, match="尚未认领"):
            services.evidence_upload(
                actor=world.resp_staff, measure=pending, uploaded=SimpleUploadedFile("a.pdf", PDF), kind="other"
            )
        assert "尚未认领" in services.closeout_readiness(problem=pending.problem, measure=pending)[0]
        assert not ProgressReport.objects.filter(measure__in=[pending, objected]).exists()

    def test_the_pages_refuse_them_without_an_error_page(self, world, unclaimed, client, settings, tmp_path, frozen):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        pending = unclaimed[1]
        client.force_login(world.resp_staff)
        response = client.post(
            reverse("rectification:measure_evidence_upload", args=[pending.pk]),
            {"file": SimpleUploadedFile("a.pdf", PDF), "kind": "other"},
            follow=True,
        )
        assert "尚未认领" in response.content.decode()
        assert not pending.evidence.exists()


@pytest.mark.django_db
class TestReturnsCounted:
    def test_a_return_counts_once_for_its_measure_and_week(self, world, three, frozen):
        decide = dict(actor=world.resp_head, unit=world.resp_unit, iso_year=2026, iso_week=48)
        _submitted(world, three)
        services.report_review(**decide, decisions={three[0].pk: ("return", "数据不全")})
        # Returned again the same week, after a resubmission: still the same report of the week.
        report = ProgressReport.objects.get(measure=three[0])
        services.report_save(
            actor=world.resp_staff,
            measure=three[0],
            iso_year=2026,
            iso_week=48,
            data={
                "progress_this_week": "已补充",
                "cumulative_state": "in_progress",
                "percent": 20,
                "next_week_plan": "",
                "difficulties": "",
            },
            lock_version=report.lock_version,
        )
        services.report_submit(
            actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48, measure_ids=[three[0].pk]
        )
        services.report_review(**decide, decisions={three[0].pk: ("return", "仍不全")})
        services.report_review(**decide, decisions={three[1].pk: ("confirm", ""), three[2].pk: ("confirm", "")})
        # A correction of a confirmed row, returned: a second version of the same week's report.
        confirmed = ProgressReport.objects.get(measure=three[1])
        services.report_correct(
            actor=world.resp_staff,
            report=confirmed,
            reason="百分比填错",
            data={
                "progress_this_week": "本周推进",
                "cumulative_state": "in_progress",
                "percent": 15,
                "next_week_plan": "",
                "difficulties": "",
            },
        )
        services.report_submit(
            actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48, measure_ids=[three[1].pk]
        )
        services.report_review(**decide, decisions={three[1].pk: ("return", "更正理由不足")})
        ProgressReport.objects.filter(measure=three[1], version=1).update(return_reason="旧版本也带着原因")
        # And a return in the week before, for the third measure.
        ProgressReport.objects.create(
            measure=three[2], iso_year=2026, iso_week=47, state="returned", return_reason="空泛", percent=5
        )
        independent = len(
            {
                (row.measure_id, row.iso_year, row.iso_week)
                for row in ProgressReport.objects.filter(measure__owner_unit=world.resp_unit)
                if row.return_reason
            }
        )
        rows = units_with_many_returns(measures=Measure.objects.all(), threshold=1)
        assert rows == [{"unit_id": world.resp_unit.pk, "unit": "责任局", "reports": 3, "closeouts": 0}]
        assert independent == 3

    def test_a_week_returned_whole_counts_once_per_measure_returned(self, world, three, frozen):
        _submitted(world, three)
        services.report_return(actor=world.resp_head, unit=world.resp_unit, iso_year=2026, iso_week=48, reason="重填")
        assert units_with_many_returns(measures=Measure.objects.all(), threshold=1)[0]["reports"] == 3
        assert units_with_many_returns(measures=Measure.objects.all(), threshold=4) == []

    def test_only_the_head_may_return_through_the_service(self, world, three, frozen):
        _submitted(world, three)
        with pytest.raises(PermissionDenied):
            services.report_review(
                actor=world.resp_staff,
                unit=world.resp_unit,
                iso_year=2026,
                iso_week=48,
                decisions={three[0].pk: ("return", "x")},
            )


@pytest.mark.django_db
class TestEvidenceFromThePhone:
    """A liaison on a phone attaches a photo straight from the camera: every evidence input says
    which types the upload check takes, images included, so the phone's chooser offers "拍照" beside
    its files; none forces the camera only (``capture``), which would leave a scanned PDF out."""

    def _file_inputs(self, page):
        return re.findall(r"<input[^>]*type=\"file\"[^>]*>", page)

    def test_the_weekly_report_offers_the_camera_and_the_files(self, world, client, frozen):
        client.force_login(world.resp_staff)
        inputs = self._file_inputs(client.get(REPORT).content.decode())
        assert inputs, "the weekly report has an evidence input per row"
        for tag in inputs:
            accept = re.search(r'accept="([^"]*)"', tag).group(1).split(",")
            assert {"image/jpeg", "image/png", "application/pdf", ".pdf", ".docx"} <= set(accept)
            assert "capture" not in tag

    def test_the_measure_page_offers_the_camera_and_the_files(self, world, client, frozen):
        client.force_login(world.resp_staff)
        page = client.get(reverse("rectification:measure_detail", args=[world.resp_measure.pk])).content.decode()
        inputs = self._file_inputs(page)
        assert inputs
        assert all("image/jpeg" in tag and "capture" not in tag for tag in inputs)
