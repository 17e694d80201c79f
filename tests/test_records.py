"""The records behind the figures, penalties on units and cadres, and the releases to the province.

Each record's entry page is asked by its owner, by another unit's staff and by an outsider (the
provincial team among them); the statistics export must count exactly what the tables hold.
"""

import datetime
import io
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import AuditEvent
from rectification import access, services
from rectification.models import (
    FinalReportFinal,
    Penalty,
    PetitionClue,
    Problem,
    RecordFile,
    Release,
    SecretaryEvent,
    WeeklySnapshot,
    WorkActivity,
)

from .conftest import refused

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = "2026-11-20"

PETITIONS = reverse("rectification:petition_list")
MEETINGS = reverse("rectification:meeting_list")
VISITS = reverse("rectification:visit_list")


def _secretary_led(problem):
    Problem.objects.filter(pk=problem.pk).update(is_secretary_led=True)
    problem.refresh_from_db()
    return problem


def _petition_data(world, **extra):
    return {
        "round": world.round.pk,
        "kind": "clue",
        "code": "XS-01",
        "source": "省委巡视组移交",
        "quantity": "5",
        "handled": "3",
        "transferred": "2",
        "summary": "反映违规发放补贴",
        "handling_unit": world.resp_unit.pk,
        "problem": world.problem.pk,
        "received_on": DAY,
        **extra,
    }


@pytest.mark.django_db
class TestPetitionPage:
    def test_it_lets_the_office_and_supervision_enter_petitions_and_clues(self, world, client):
        client.force_login(world.supervision)
        response = client.post(PETITIONS, _petition_data(world))
        assert response.status_code == 302
        clue = PetitionClue.objects.get()
        assert (clue.quantity, clue.handled, clue.transferred, clue.problem) == (5, 3, 2, world.problem)
        assert (clue.source, clue.entered_by) == ("省委巡视组移交", world.supervision)
        assert AuditEvent.objects.filter(action="record.petition_clue", actor=world.supervision).exists()
        client.force_login(world.office)
        page = client.get(PETITIONS).content.decode()
        assert "XS-01" in page and "省委巡视组移交" in page

    def test_it_refuses_a_count_handled_above_the_count_received(self, world, client):
        client.force_login(world.office)
        response = client.post(PETITIONS, _petition_data(world, handled="9"))
        assert response.status_code == 200
        assert "已办结件数不能超过件数" in response.content.decode()
        assert not PetitionClue.objects.exists()

    @pytest.mark.parametrize("actor", ["resp_staff", "outsider", "provincial", "leader"])
    def test_it_shows_nothing_to_units_leaders_and_the_provincial_team(self, world, client, actor):
        services.petition_clue_create(
            actor=world.office,
            inspection_round=world.round,
            kind="petition",
            code="X1",
            summary="反映违规发放补贴",
            handling_unit=world.resp_unit,
            received_on=datetime.date(2026, 11, 1),
        )
        client.force_login(getattr(world, actor))
        assert client.get(PETITIONS).status_code == refused(actor)
        assert client.post(PETITIONS, _petition_data(world, code="X2")).status_code == refused(actor)
        assert PetitionClue.objects.count() == 1


def _meeting_data(world, **extra):
    return {
        "round": world.round.pk,
        "kind": "leading_group",
        "title": "整改落实工作领导小组第三次会议",
        "held_on": DAY,
        "chair": "区委书记",
        "decisions": "一、限期完成津补贴清退。",
        "problems": [world.problem.pk],
        **extra,
    }


def _visit_data(world, **extra):
    return {
        "round": world.round.pk,
        "kind": "supervision",
        "title": "津补贴清退现场督导",
        "held_on": DAY,
        "participants": "区纪委监委第二监督检查室",
        "place": "责任局",
        "findings": "清退台账不完整。",
        "problems": [world.problem.pk],
        **extra,
    }


@pytest.mark.django_db
class TestMeetingAndVisitPages:
    def test_it_lets_the_office_enter_a_meeting_with_its_chair_and_decisions(self, world, client):
        client.force_login(world.office)
        assert client.post(MEETINGS, _meeting_data(world)).status_code == 302
        meeting = WorkActivity.objects.get()
        assert (meeting.kind, meeting.chair, list(meeting.problems.all())) == (
            "leading_group",
            "区委书记",
            [world.problem],
        )
        assert AuditEvent.objects.filter(action="record.meeting").exists()
        assert "整改落实工作领导小组第三次会议" in client.get(MEETINGS).content.decode()

    def test_it_names_what_a_meeting_lacks(self, world, client):
        client.force_login(world.office)
        response = client.post(MEETINGS, _meeting_data(world, chair="", decisions=""))
        assert "请填写：主持人、议定事项。" in response.content.decode()
        assert not WorkActivity.objects.exists()

    def test_it_does_not_take_a_visit_on_the_meetings_page(self, world, client):
        client.force_login(world.office)
        response = client.post(MEETINGS, _meeting_data(world, kind="supervision"))
        assert response.status_code == 200
        assert not WorkActivity.objects.exists()

    def test_it_lets_supervision_read_meetings_but_not_enter_them(self, world, client):
        client.force_login(world.supervision)
        assert client.get(MEETINGS).status_code == 200
        assert client.post(MEETINGS, _meeting_data(world)).status_code == 403
        assert not WorkActivity.objects.exists()

    def test_it_lets_supervision_enter_a_visit_with_who_where_and_what_was_found(self, world, client):
        client.force_login(world.supervision)
        assert client.post(VISITS, _visit_data(world)).status_code == 302
        visit = WorkActivity.objects.get()
        assert (visit.participants, visit.place, visit.findings) == (
            "区纪委监委第二监督检查室",
            "责任局",
            "清退台账不完整。",
        )
        assert AuditEvent.objects.filter(action="record.visit", actor=world.supervision).exists()

    def test_it_refuses_a_problem_of_another_round(self, world, client):
        other_round = world.make_round("另一轮", feedback_date=datetime.date(2026, 9, 2))
        foreign = world.make_problem("9.1", inspection_round=other_round)
        with pytest.raises(Exception, match="相关问题必须属于本轮次"):
            services.activity_create(
                actor=world.office,
                inspection_round=world.round,
                kind="dispatch_meeting",
                title="调度会",
                held_on=datetime.date(2026, 11, 20),
                chair="区长",
                decisions="议定事项",
                problems=[foreign],
            )

    @pytest.mark.parametrize("actor", ["resp_staff", "outsider", "provincial"])
    @pytest.mark.parametrize("page", ["meetings", "visits"])
    def test_it_shows_nothing_to_units_and_the_provincial_team(self, world, client, actor, page):
        url, data = (MEETINGS, _meeting_data(world)) if page == "meetings" else (VISITS, _visit_data(world))
        client.force_login(getattr(world, actor))
        assert client.get(url).status_code == refused(actor)
        assert client.post(url, data).status_code == refused(actor)
        assert not WorkActivity.objects.exists()


@pytest.mark.django_db
class TestSecretaryEvents:
    def _url(self, world):
        return reverse("rectification:secretary_events", args=[world.problem.pk])

    def _data(self, *files):
        return {
            "kind": "supervise",
            "held_on": DAY,
            "place": "责任局",
            "notes": "书记现场督办清退进度。",
            "files": files,
        }

    def test_it_lets_the_office_record_an_on_site_event_with_photos(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        _secretary_led(world.problem)
        client.force_login(world.office)
        photo = SimpleUploadedFile("现场照片.pdf", PDF)
        assert client.post(self._url(world), self._data(photo)).status_code == 302
        event = SecretaryEvent.objects.get()
        assert (event.kind, event.problem, event.round) == ("supervise", world.problem, world.round)
        stored = event.files.get()
        assert stored.original_name == "现场照片.pdf"
        assert AuditEvent.objects.filter(action="record.secretary_event").exists()
        assert AuditEvent.objects.filter(action="record.file_upload").exists()
        listed = client.get(reverse("rectification:secretary_problems")).content.decode()
        assert world.problem.code in listed

    def test_it_checks_photos_as_evidence_is_checked(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        _secretary_led(world.problem)
        client.force_login(world.office)
        fake = SimpleUploadedFile("现场照片.jpg", b"<script>alert(1)</script>")
        response = client.post(self._url(world), self._data(fake))
        assert response.status_code == 200
        assert "内容不是JPEG 图片" in response.content.decode()
        assert not SecretaryEvent.objects.exists() and not RecordFile.objects.exists()

    def test_it_lets_the_units_on_the_problem_read_but_not_enter(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        _secretary_led(world.problem)
        event = services.secretary_event_create(
            actor=world.office,
            problem=world.problem,
            kind="deploy",
            held_on=datetime.date(2026, 11, 2),
            notes="书记现场部署。",
            files=[SimpleUploadedFile("部署.pdf", PDF)],
        )
        client.force_login(world.resp_staff)
        page = client.get(self._url(world))
        assert page.status_code == 200 and "书记现场部署。" in page.content.decode()
        assert "录入书记领办活动" not in page.content.decode()
        assert client.post(self._url(world), self._data()).status_code == 403
        download = reverse("rectification:record_file_download", args=[event.files.get().pk])
        assert client.get(download).status_code == 200
        assert SecretaryEvent.objects.count() == 1

    @pytest.mark.parametrize("actor", ["outsider", "provincial"])
    def test_it_shows_nothing_to_outsiders(self, world, client, settings, tmp_path, actor):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        _secretary_led(world.problem)
        event = services.secretary_event_create(
            actor=world.office,
            problem=world.problem,
            kind="dispatch",
            held_on=datetime.date(2026, 11, 2),
            notes="书记现场调度。",
            files=[SimpleUploadedFile("调度.pdf", PDF)],
        )
        client.force_login(getattr(world, actor))
        assert client.get(self._url(world)).status_code == refused(actor)
        assert client.post(self._url(world), self._data()).status_code == refused(actor)
        download = reverse("rectification:record_file_download", args=[event.files.get().pk])
        assert client.get(download).status_code == refused(actor)

    def test_it_takes_events_only_on_problems_the_secretary_leads(self, world, client):
        client.force_login(world.office)
        assert client.get(self._url(world)).status_code == 404
        with pytest.raises(Exception, match="不是书记领办问题"):
            services.secretary_event_create(
                actor=world.office, problem=world.problem, kind="deploy", held_on=datetime.date(2026, 11, 2), notes="x"
            )


@pytest.mark.django_db
class TestStatisticsFromRecords:
    def test_the_statistics_export_counts_what_the_tables_hold(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        _secretary_led(world.problem)
        client.force_login(world.office)
        client.post(PETITIONS, _petition_data(world))
        client.post(PETITIONS, _petition_data(world, code="XS-02", quantity="4", handled="4", transferred="1"))
        client.post(
            PETITIONS,
            _petition_data(world, kind="petition", code="XF-01", quantity="7", handled="", transferred="0")
            | {"closed_on": DAY, "case_filed": "on"},
        )
        client.post(MEETINGS, _meeting_data(world))
        client.post(MEETINGS, _meeting_data(world, kind="dispatch_meeting"))
        client.post(MEETINGS, _meeting_data(world, kind="standing_committee"))
        client.post(VISITS, _visit_data(world))
        client.post(VISITS, _visit_data(world, kind="inspection"))
        client.post(
            reverse("rectification:secretary_events", args=[world.problem.pk]),
            {"kind": "deploy", "held_on": DAY, "notes": "部署"},
        )
        assert PetitionClue.objects.count() == 3 and WorkActivity.objects.count() == 5
        assert SecretaryEvent.objects.count() == 1

        response = client.get(reverse("rectification:excel:statistics", args=[world.round.pk]))
        sheet = load_workbook(io.BytesIO(response.content))["整改统计"]
        values = {(row[0], row[1]): row[2] for row in sheet.iter_rows(min_row=3, values_only=True)}

        clues = PetitionClue.objects.filter(kind="clue")
        petitions = PetitionClue.objects.filter(kind="petition")
        assert values[("信访件和问题线索", "收到问题线索")] == sum(c.quantity for c in clues) == 9
        assert values[("信访件和问题线索", "问题线索已办结")] == sum(c.handled for c in clues) == 7
        assert values[("信访件和问题线索", "问题线索移交纪检监察机关")] == sum(c.transferred for c in clues) == 3
        assert values[("信访件和问题线索", "收到信访件")] == sum(p.quantity for p in petitions) == 7
        # Closed without a count of handled items: all of them were handled.
        assert values[("信访件和问题线索", "信访件已办结")] == 7
        assert values[("立案情况", "信访件和问题线索中立案")] == PetitionClue.objects.filter(case_filed=True).count()
        for kind in WorkActivity.Kind:
            counted = WorkActivity.objects.filter(kind=kind).count()
            assert values[("会议和督导", f"召开或开展{kind.label}")] == counted
        assert values[("会议和督导", "召开或开展领导小组会议")] == 1
        assert values[("会议和督导", "召开或开展督查")] == 1
        assert values[("书记领办", "书记现场部署")] == SecretaryEvent.objects.filter(kind="deploy").count() == 1
        assert values[("书记领办", "书记领办问题（有现场活动记录）")] == 1
        # The records page shows the same figures.
        page = client.get(reverse("rectification:records_index")).content.decode()
        assert "<td>问题线索</td><td>9</td><td>7</td><td>3</td>" in page


def _drafts(world):
    """Three drafts the weekly cycle proposed for week 47."""
    cycle = services.cycle_for(world.round, 2026, 47)
    return [
        Penalty.objects.create(
            round=world.round, cycle=cycle, unit=unit, kind=kind, rule="missed_streak", reason="连续未报", points=points
        )
        for unit, kind, points in (
            (world.resp_unit, Penalty.Kind.CIRCULAR, 0),
            (world.resp_unit, Penalty.Kind.DEDUCTION, Decimal("0.5")),
            (world.coop_unit, Penalty.Kind.DEDUCTION, Decimal("0.5")),
        )
    ]


@pytest.mark.django_db
class TestPenalties:
    def _by_hand(self, world, **extra):
        return {
            "round": world.round.pk,
            "target": "cadre",
            "unit": world.resp_unit.pk,
            "cadre_name": "赵局长",
            "cadre_post": "局长",
            "kind": "deduction",
            "points": "2",
            "assessment_year": "2026",
            "reason": "整改推诿扯皮，敷衍了事。",
            **extra,
        }

    def test_it_lets_the_office_penalise_a_cadre_by_hand_with_evidence(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.office)
        data = self._by_hand(world, files=[SimpleUploadedFile("通报文件.pdf", PDF)])
        assert client.post(reverse("rectification:penalty_new"), data).status_code == 302
        penalty = Penalty.objects.get()
        assert (penalty.state, penalty.target, penalty.cadre_name, penalty.points) == (
            "confirmed",
            "cadre",
            "赵局长",
            Decimal("2"),
        )
        assert (penalty.rule, penalty.cycle, penalty.decided_by) == (Penalty.MANUAL, None, world.office)
        assert penalty.files.get().original_name == "通报文件.pdf"
        event = AuditEvent.objects.get(action="penalty.enter")
        assert "赵局长" not in event.target_repr
        page = client.get(reverse("rectification:penalty_list")).content.decode()
        assert "赵局长（局长）" in page and "整改办录入" in page

    def test_it_lets_the_office_withdraw_award_eligibility_of_a_unit(self, world):
        penalty = services.penalty_enter(
            actor=world.office,
            inspection_round=world.round,
            unit=world.coop_unit,
            kind=Penalty.Kind.INELIGIBLE,
            reason="整改不力",
            assessment_year=2026,
        )
        assert (penalty.target, penalty.points, penalty.state) == ("unit", 0, "confirmed")

    @pytest.mark.parametrize(
        "extra, message",
        [
            ({"cadre_name": ""}, "对领导干部的处理须填写干部姓名。"),
            ({"points": ""}, "年末实绩考评扣分须填写扣分分值。"),
            ({"kind": "circular"}, "只有年末实绩考评扣分填写分值"),
            ({"reason": " "}, "这个字段是必填项"),
        ],
    )
    def test_it_names_what_is_wrong(self, world, client, extra, message):
        client.force_login(world.office)
        response = client.post(reverse("rectification:penalty_new"), self._by_hand(world, **extra))
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not Penalty.objects.exists()

    @pytest.mark.parametrize("actor", ["resp_head", "supervision", "provincial", "outsider"])
    def test_only_the_office_enters_or_confirms(self, world, client, actor):
        drafts = _drafts(world)
        client.force_login(getattr(world, actor))
        assert client.get(reverse("rectification:penalty_new")).status_code == refused(actor)
        assert client.post(reverse("rectification:penalty_new"), self._by_hand(world)).status_code == refused(actor)
        confirm = client.post(reverse("rectification:penalties_confirm"), {"penalty": [p.pk for p in drafts]})
        assert confirm.status_code == refused(actor)
        assert Penalty.objects.filter(state="draft").count() == 3

    def test_it_confirms_the_weekly_drafts_in_bulk(self, world, client):
        drafts = _drafts(world)
        client.force_login(world.office)
        page = client.get(reverse("rectification:penalty_list")).content.decode()
        assert "确认勾选的待确认记录" in page
        response = client.post(reverse("rectification:penalties_confirm"), {"penalty": [drafts[0].pk, drafts[2].pk]})
        assert response.status_code == 302
        states = dict(Penalty.objects.values_list("pk", "state"))
        assert states == {drafts[0].pk: "confirmed", drafts[1].pk: "draft", drafts[2].pk: "confirmed"}
        assert set(Penalty.objects.filter(state="confirmed").values_list("assessment_year", flat=True)) == {2026}
        assert AuditEvent.objects.filter(action="penalty.confirmed", actor=world.office).count() == 2
        # Again: nothing left to confirm among those two, and a Chinese message for none ticked.
        assert services.penalties_confirm_many(actor=world.office, penalty_ids=[drafts[0].pk]) == 0
        response = client.post(reverse("rectification:penalties_confirm"), {}, follow=True)
        assert "请勾选要确认的待确认记录。" in response.content.decode()

    def test_the_deductions_export_sums_per_unit_and_per_cadre(self, world, client):
        drafts = _drafts(world)
        services.penalties_confirm_many(actor=world.office, penalty_ids=[p.pk for p in drafts])
        for points in ("2", "1.5"):
            services.penalty_enter(
                actor=world.office,
                inspection_round=world.round,
                unit=world.resp_unit,
                kind=Penalty.Kind.DEDUCTION,
                target=Penalty.Target.CADRE,
                cadre_name="赵局长",
                cadre_post="局长",
                reason="推诿扯皮",
                points=Decimal(points),
                assessment_year=2026,
            )
        services.penalty_enter(
            actor=world.office,
            inspection_round=world.round,
            unit=world.resp_unit,
            kind=Penalty.Kind.INELIGIBLE,
            reason="整改不力",
            assessment_year=2026,
        )
        # Another year's deduction is not in this year's file.
        services.penalty_enter(
            actor=world.office,
            inspection_round=world.round,
            unit=world.resp_unit,
            kind=Penalty.Kind.DEDUCTION,
            reason="上年度",
            points=Decimal("3"),
            assessment_year=2025,
        )
        client.force_login(world.supervision)
        response = client.get(reverse("rectification:penalty_deductions"), {"year": "2026"})
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.content))
        units = {row[0]: row[1:] for row in book["单位扣分"].iter_rows(min_row=3, values_only=True)}
        assert units["责任局"] == (1, 0.5, 1, 3)
        assert units["协办镇"] == (0, 0.5, 0, 1)
        cadres = list(book["领导干部扣分"].iter_rows(min_row=3, values_only=True))
        assert cadres == [("责任局", "赵局长", "局长", 0, 3.5, 0, 2)]
        assert len(list(book["明细"].iter_rows(min_row=3))) == 6
        assert AuditEvent.objects.filter(action="excel.export_deductions", actor=world.supervision).exists()

    @pytest.mark.parametrize("actor", ["resp_head", "provincial", "outsider"])
    def test_the_deductions_export_is_refused_to_others(self, world, client, actor):
        client.force_login(getattr(world, actor))
        assert client.get(reverse("rectification:penalty_deductions")).status_code == refused(actor)

    def test_a_bad_year_gets_a_chinese_message(self, world, client):
        client.force_login(world.office)
        response = client.get(reverse("rectification:penalty_deductions"), {"year": "二〇二六"}, follow=True)
        assert "考评年度应为四位数字年份" in response.content.decode()


@pytest.mark.django_db
class TestReleases:
    @pytest.fixture
    def snapshot(self, world, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        with time_machine.travel(datetime.datetime(2026, 11, 27, 19, tzinfo=SHANGHAI), tick=False):
            cycle = services.cycle_for(world.round, 2026, 48)
            services.step_run(cycle, "summary")
        return WeeklySnapshot.objects.get()

    def test_the_provincial_team_gets_a_package_only_once_released(self, world, client, snapshot):
        package = reverse("rectification:snapshot_package", args=[snapshot.pk])
        releases = reverse("rectification:release_list")
        client.force_login(world.provincial)
        assert client.get(package).status_code == 404
        assert "2026年第48周" not in client.get(releases).content.decode()

        client.force_login(world.office)
        page = client.get(releases).content.decode()
        assert "待报送的周材料" in page and "报送省巡视组</button>" in page
        response = client.post(reverse("rectification:snapshot_release", args=[snapshot.pk]))
        assert response.status_code == 302
        release = Release.objects.get()
        assert (release.snapshot, release.kind, release.released_by) == (snapshot, "weekly_package", world.office)
        assert AuditEvent.objects.filter(action="release.weekly_package", actor=world.office).exists()

        client.force_login(world.provincial)
        listed = client.get(releases).content.decode()
        assert package in listed and f"<td>{snapshot.measures_total}</td>" in listed
        response = client.get(package)
        assert response.status_code == 200
        assert len(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()) == 3

    def test_a_week_is_released_once(self, world, client, snapshot):
        client.force_login(world.office)
        url = reverse("rectification:snapshot_release", args=[snapshot.pk])
        client.post(url)
        response = client.post(url, follow=True)
        assert "该周材料已报送。" in response.content.decode()
        assert Release.objects.count() == 1

    @pytest.mark.parametrize("actor", ["provincial", "supervision", "resp_head", "outsider"])
    def test_only_the_office_releases(self, world, client, snapshot, actor):
        client.force_login(getattr(world, actor))
        status = client.post(reverse("rectification:snapshot_release", args=[snapshot.pk])).status_code
        assert status in (403, 404)
        assert not Release.objects.exists()

    @pytest.mark.parametrize("actor", ["resp_head", "outsider", "leader"])
    def test_the_release_list_is_refused_to_units_and_leaders(self, world, client, actor):
        client.force_login(getattr(world, actor))
        assert client.get(reverse("rectification:release_list")).status_code == 404

    def test_the_provincial_team_sees_no_live_records_or_rankings(self, world, client):
        client.force_login(world.provincial)
        for name in ("dashboard", "records_index", "petition_list", "meeting_list", "visit_list", "cycle_list"):
            response = client.get(reverse(f"rectification:{name}"))
            assert response.status_code == 403, name
            assert "省巡视组账号只查看区整改办已报送的材料" in response.content.decode(), name

    def test_the_final_report_waits_for_its_release(self, world, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        assert not access.final_report_released(world.provincial, world.round)
        assert access.final_report_released(world.office, world.round)
        final = FinalReportFinal.objects.create(
            round=world.round,
            original_name="整改情况报告.docx",
            stored_name="2026/final.docx",
            size=1,
            sha256="0" * 64,
            uploaded_by=world.office,
        )
        with pytest.raises(ValidationError, match="请先上传本轮的整改情况报告定稿"):
            services.release_create(actor=world.office, inspection_round=world.round, kind=Release.Kind.FINAL_REPORT)
        services.release_create(
            actor=world.office, inspection_round=world.round, kind=Release.Kind.FINAL_REPORT, final_report=final
        )
        assert access.final_report_released(world.provincial, world.round)
        assert not access.final_report_released(world.outsider, world.round)
        assert AuditEvent.objects.filter(action="release.final_report").exists()


@pytest.mark.django_db
class TestRecordFiles:
    def test_only_the_office_attaches_files_to_a_record(self, world, settings, tmp_path):
        from django.core.exceptions import PermissionDenied

        settings.PRIVATE_MEDIA_ROOT = tmp_path
        _secretary_led(world.problem)
        event = services.secretary_event_create(
            actor=world.office, problem=world.problem, kind="deploy", held_on=datetime.date(2026, 11, 2), notes="部署"
        )
        for actor in (world.resp_head, world.supervision, world.provincial):
            with pytest.raises(PermissionDenied):
                services.record_file_attach(
                    actor=actor, uploaded=SimpleUploadedFile("照片.pdf", PDF), secretary_event=event
                )
        assert not RecordFile.objects.exists() and not list(tmp_path.rglob("*.pdf"))
