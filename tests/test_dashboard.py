"""The office dashboard, the leader's page and the formalism signals, against independent counts."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rectification import services
from rectification.dashboard import office_dashboard
from rectification.formalism import formalism_signals, units_with_many_returns
from rectification.lights import light_q, measure_light, with_oldest_open_milestone
from rectification.models import Measure, Milestone, ProgressReport, Track, WeeklyCycle, WeeklySnapshot
from rectification.views import dashboards as dashboard_views

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.date(2026, 11, 24)
DASHBOARD = reverse("rectification:dashboard")


@pytest.fixture
def frozen():
    with time_machine.travel(datetime.datetime(2026, 11, 24, 10, tzinfo=SHANGHAI), tick=False):
        yield


def _bulk_measures(world, problem, count, **fields):
    """Measures written straight to the table: fast enough for thousands, visible to the office."""
    Measure.objects.bulk_create(
        Measure(
            problem=problem,
            code=f"{problem.code}.B{i}",
            seq=i,
            text=f"批量措施{i}",
            kind=Measure.Kind.RULES,
            owner_unit=world.coop_unit if i % 2 else world.resp_unit,
            start_date=datetime.date(2026, 9, 1),
            due_date=datetime.date(2026, 10, 1) + datetime.timedelta(days=i % 120),
            percent=i % 100,
            **fields,
        )
        for i in range(1, count + 1)
    )


@pytest.mark.django_db
class TestFigures:
    def test_it_counts_what_an_independent_count_finds(self, world, frozen):
        cadre = world.make_problem("3.1", track_kind=Track.Kind.CADRE, measures=[world.resp_unit, world.coop_unit])
        Measure.objects.filter(problem=cadre, owner_unit=world.resp_unit).update(
            closeout_state="closed", progress_state="completed"
        )
        data = office_dashboard(user=world.office, inspection_round=world.round, today=TODAY, filters={})

        measures = Measure.objects.filter(problem__round=world.round)
        assert data["measures"]["total"] == measures.count() == 4
        assert data["measures"]["closed"] == measures.filter(closeout_state="closed").count() == 1
        assert data["measures"]["rate"] == 25
        assert data["problems"]["total"] == 2
        assert data["measures"]["by_closeout"] == {"closed": 1, "not_applied": 3}
        tracks = {row["problem__track__kind"]: (row["total"], row["closed"]) for row in data["by_track"]}
        assert tracks == {"general": (2, 0), "cadre": (2, 1)}

        open_measures = with_oldest_open_milestone(measures.exclude(closeout_state="closed"))
        expected_red = [
            m
            for m in open_measures
            if measure_light(m, TODAY, oldest_open_milestone_due=m.oldest_open_milestone).code == "red"
        ]
        assert data["light_counts"]["red"] == len(expected_red) == 1  # 1.1.2, due 31 October
        ranking = {row["label"]: row for row in data["ranking"]}
        assert ranking["协办镇"]["open"] == 2 and ranking["责任局"]["closed"] == 1
        assert [row["label"] for row in data["by_leader"]] == ["王牵头"]

    def test_it_filters_by_track_unit_and_leader(self, world, frozen):
        world.make_problem("3.1", track_kind=Track.Kind.CADRE, measures=[world.outsider.unit])
        by_track = office_dashboard(
            user=world.office, inspection_round=world.round, today=TODAY, filters={"track": "cadre"}
        )
        assert by_track["measures"]["total"] == 1
        by_unit = office_dashboard(
            user=world.office, inspection_round=world.round, today=TODAY, filters={"unit": world.coop_unit.pk}
        )
        assert by_unit["measures"]["total"] == 1
        by_leader = office_dashboard(
            user=world.office, inspection_round=world.round, today=TODAY, filters={"leader": world.other_leader.pk}
        )
        assert by_leader["measures"]["total"] == 0

    def test_the_unit_filter_counts_a_problem_once_however_many_of_its_measures_match(self, world, frozen):
        world.make_problem("3.1", measures=[world.coop_unit, world.coop_unit, world.coop_unit])
        data = office_dashboard(
            user=world.office, inspection_round=world.round, today=TODAY, filters={"unit": world.coop_unit.pk}
        )
        # 1.1 (one measure of 协办镇) and 3.1 (three): two problems, in every breakdown.
        assert data["problems"]["total"] == 2
        assert sum(data["problems"]["by_progress"].values()) == 2
        assert sum(data["problems"]["by_closeout"].values()) == 2
        assert data["measures"]["total"] == 4

    def test_it_shows_engagement_by_unit_level(self, world, frozen):
        # Last week (W47) the department reported on time, the township did not report.
        ProgressReport.objects.create(
            measure=world.resp_measure,
            iso_year=2026,
            iso_week=47,
            state="confirmed",
            progress_this_week="推进",
            percent=40,
        )
        levels = {
            row["level"]: row
            for row in office_dashboard(user=world.office, inspection_round=world.round, today=TODAY, filters={})[
                "levels"
            ]
        }
        assert levels["department"]["punctuality"] == 100
        assert levels["township"]["punctuality"] == 0
        assert levels["township"]["overdue_share"] == 100
        assert levels["department"]["overdue_share"] == 0

    def test_lights_in_sql_agree_with_lights_in_python(self, world, frozen):
        _bulk_measures(world, world.problem, 60, last_reported_at=datetime.datetime(2026, 11, 20, tzinfo=SHANGHAI))
        for measure in Measure.objects.filter(problem=world.problem)[:20]:
            Milestone.objects.create(
                measure=measure, seq=1, title="节点", due_date=TODAY - datetime.timedelta(days=measure.pk % 15)
            )
        Measure.objects.filter(code__endswith="7").update(last_reported_at=None)
        measures = with_oldest_open_milestone(Measure.objects.filter(problem=world.problem))
        for code in ("red", "yellow", "grey", "green"):
            in_sql = set(
                Measure.objects.filter(problem=world.problem).filter(light_q(code, TODAY)).values_list("pk", flat=True)
            )
            in_python = {
                m.pk
                for m in measures
                if measure_light(m, TODAY, oldest_open_milestone_due=m.oldest_open_milestone).code == code
            }
            assert in_sql == in_python, code


@pytest.mark.django_db
class TestFormalism:
    def _report(self, measure, week, text, percent, state="confirmed"):
        return ProgressReport.objects.create(
            measure=measure, iso_year=2026, iso_week=week, state=state, progress_this_week=text, percent=percent
        )

    def test_it_flags_copied_text_and_unproven_jumps(self, world, frozen, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        self._report(world.resp_measure, 47, "已召开专题会议，正在逐项推进整改工作。", 40)
        self._report(world.resp_measure, 48, "已召开专题会议，正在逐项推进整改工作！", 70)
        self._report(world.coop_measure, 47, "完成摸底排查。", 20)
        self._report(world.coop_measure, 48, "已对12个村开展自查，发现问题3个并已整改。", 40)
        services.evidence_upload(
            actor=world.coop_staff,
            measure=world.coop_measure,
            uploaded=SimpleUploadedFile("自查表.pdf", b"%PDF-1.4\n%%EOF"),
            kind="report",
        )
        Measure.objects.filter(pk=world.coop_measure.pk).update(percent=90)  # keep it off the "behind" list
        signals = formalism_signals(measures=Measure.objects.filter(problem__round=world.round), today=TODAY)
        found = {(s.kind, s.measure_code) for s in signals}
        assert ("copy", "1.1.1") in found
        assert ("jump", "1.1.1") in found
        assert ("copy", "1.1.2") not in found
        assert ("jump", "1.1.2") not in found  # it jumped, but with new evidence
        copy = next(s for s in signals if s.kind == "copy")
        assert len(copy.report_ids) == 2

    def test_a_percent_left_as_the_form_offered_it_is_no_jump(self, world, frozen):
        # Confirmed at 70% two weeks ago; last week's 30% was returned; this week the liaison left
        # the 70% the form prefilled and wrote new text: nothing they claimed jumped.
        self._report(world.resp_measure, 46, "完成制度起草。", 70)
        self._report(world.resp_measure, 47, "误填。", 30, state="returned")
        self._report(world.resp_measure, 48, "制度已提交党委会审议。", 70, state="submitted")
        signals = formalism_signals(measures=Measure.objects.filter(pk=world.resp_measure.pk), today=TODAY)
        assert not [s for s in signals if s.kind == "jump"]

    def test_a_jump_is_measured_from_what_the_form_offered(self, world, frozen):
        self._report(world.resp_measure, 46, "完成制度起草。", 70)
        self._report(world.resp_measure, 47, "误填。", 30, state="returned")
        self._report(world.resp_measure, 48, "制度已印发。", 90, state="submitted")
        signals = formalism_signals(measures=Measure.objects.filter(pk=world.resp_measure.pk), today=TODAY)
        jump = next(s for s in signals if s.kind == "jump")
        assert jump.detail == "70% → 90%"

    def test_without_an_earlier_confirmed_report_last_weeks_is_the_base(self, world, frozen):
        self._report(world.resp_measure, 47, "开始摸排。", 20, state="submitted")
        self._report(world.resp_measure, 48, "摸排完成。", 50, state="submitted")
        signals = formalism_signals(measures=Measure.objects.filter(pk=world.resp_measure.pk), today=TODAY)
        assert [s.detail for s in signals if s.kind == "jump"] == ["20% → 50%"]

    def test_it_ignores_drafts(self, world, frozen):
        self._report(world.resp_measure, 47, "同一段文字。", 40)
        self._report(world.resp_measure, 48, "同一段文字。", 40, state="draft")
        signals = formalism_signals(measures=Measure.objects.all(), today=TODAY)
        assert not [s for s in signals if s.kind == "copy"]

    def test_it_flags_progress_far_behind_the_expected_line(self, world, frozen):
        Measure.objects.filter(pk=world.resp_measure.pk).update(percent=10)
        signals = formalism_signals(measures=Measure.objects.all(), today=TODAY)
        assert ("behind", "1.1.1") in {(s.kind, s.measure_code) for s in signals}

    def test_units_with_as_many_returns_are_listed_by_name(self, world):
        for measure in (world.resp_measure, world.coop_measure):
            for week in (44, 45, 46):
                self._report(measure, week, "x", 10, state="returned")
        ProgressReport.objects.update(return_reason="内容空泛")
        rows = units_with_many_returns(measures=Measure.objects.all())
        assert [row["unit"] for row in rows] == sorted(["责任局", "协办镇"])

    def test_it_lists_units_with_many_returns(self, world):
        for week in (44, 45, 46):
            self._report(world.resp_measure, week, "x", 10, state="returned").__class__.objects.filter(
                measure=world.resp_measure, iso_week=week
            ).update(return_reason="内容空泛")
        rows = units_with_many_returns(measures=Measure.objects.all())
        assert rows == [{"unit_id": world.resp_unit.pk, "unit": "责任局", "reports": 3, "closeouts": 0}]


@pytest.mark.django_db
class TestPage:
    def test_it_lists_the_weekly_snapshots_and_draws_their_trend(self, world, client, frozen):
        for week, total, closed in ((46, 5, 1), (47, 5, 2)):
            cycle = WeeklyCycle.objects.create(round=world.round, iso_year=2026, iso_week=week)
            WeeklySnapshot.objects.create(
                cycle=cycle,
                figures={
                    "measures": {"total": total, "closed": closed},
                    "overdue": [{"code": "1.1.2"}, {"code": "1.1.3"}],
                    "missed_units": {"协办镇": 1, "责任局": 2, "牵头局": 1},
                },
            )
        client.force_login(world.office)
        response = client.get(DASHBOARD)
        page = response.content.decode()
        assert "2026年第47周：措施5项，已销号2项，逾期2项，未报单位3个" in page
        assert [(p["week"], p["open"], p["closed"]) for p in response.context["d"]["trend"]] == [
            ("第46周", 4, 1),
            ("第47周", 3, 2),
        ]
        assert "<polyline" in page

    def test_snapshots_written_before_the_headline_columns_get_them_from_their_figures(self, world):
        import importlib

        from django.apps import apps

        cycle = WeeklyCycle.objects.create(round=world.round, iso_year=2026, iso_week=45)
        figures = {"measures": {"total": 7, "closed": 3}, "overdue": [{"code": "1.1.2"}], "missed_units": {"协办镇": 2}}
        snapshot = WeeklySnapshot.objects.create(cycle=cycle, figures=figures)
        assert (
            snapshot.measures_total,
            snapshot.measures_closed,
            snapshot.overdue_count,
            snapshot.missed_unit_count,
        ) == (7, 3, 1, 1)
        WeeklySnapshot.objects.update(measures_total=0, measures_closed=0, overdue_count=0, missed_unit_count=0)
        importlib.import_module("rectification.migrations.0008_snapshot_headline").fill_headline(apps, None)
        snapshot.refresh_from_db()
        assert (
            snapshot.measures_total,
            snapshot.measures_closed,
            snapshot.overdue_count,
            snapshot.missed_unit_count,
        ) == (7, 3, 1, 1)

    def test_it_shows_the_units_needing_attention_first_and_all_on_request(self, world, client, frozen, monkeypatch):
        monkeypatch.setattr(dashboard_views, "RANKING_SHOWN", 1)
        client.force_login(world.office)
        first = client.get(DASHBOARD, {"track": "general"})
        assert len(first.context["ranking"]) == 1
        assert "显示全部 2 个单位（另有 1 个）" in first.content.decode()
        assert "?track=general&amp;ranking=all#ranking" in first.content.decode()
        everything = client.get(DASHBOARD, {"track": "general", "ranking": "all"})
        assert {row["label"] for row in everything.context["ranking"]} == {"责任局", "协办镇"}
        assert "只看前 1 个" in everything.content.decode()


@pytest.mark.django_db
class TestAccess:
    @pytest.mark.parametrize("actor", ["resp_staff", "lead_staff", "outsider", "leader", "sysadmin"])
    def test_it_keeps_the_dashboard_from_units_leaders_and_administrators(self, world, client, actor):
        client.force_login(getattr(world, actor))
        assert client.get(DASHBOARD).status_code == 404

    def test_it_limits_a_track_office_to_its_track(self, world, client, frozen):
        world.make_problem("3.1", track_kind=Track.Kind.CADRE, measures=[world.coop_unit])
        client.force_login(world.track_office)
        data = client.get(DASHBOARD).context["d"]
        assert data["measures"]["total"] == 1
        assert {row["problem__track__kind"] for row in data["by_track"]} == {"cadre"}

    def test_it_refuses_the_provincial_team_the_live_dashboard(self, world, client, frozen):
        # The provincial team reads what the district released (报送省巡视组), never the live
        # figures, the units' ranking or the formalism signals.
        client.force_login(world.provincial)
        assert client.get(DASHBOARD).status_code == 403
        assert client.get(reverse("rectification:review_stuck")).status_code == 403
        home = client.get(reverse("rectification:home")).content.decode()
        assert "总览" not in home.split("<main")[0]
        assert reverse("rectification:release_list") in home

    def test_it_links_every_number_to_the_list_behind_it(self, world, client, frozen):
        client.force_login(world.office)
        page = client.get(DASHBOARD).content.decode()
        assert f"/measures/?round={world.round.pk}&light=red" in page
        red = client.get(reverse("rectification:measure_list"), {"round": world.round.pk, "light": "red"})
        assert [m.code for m in red.context["page"]] == ["1.1.2"]
        client.force_login(world.outsider)
        assert not list(client.get(reverse("rectification:measure_list"), {"light": "red"}).context["page"])

    def test_the_measure_lists_pages_keep_its_filters(self, world, client, frozen):
        _bulk_measures(world, world.problem, 45)
        client.force_login(world.office)
        url = reverse("rectification:measure_list")
        first = client.get(url, {"round": world.round.pk, "unit": world.coop_unit.pk})
        assert (
            f'href="?round={world.round.pk}&amp;unit={world.coop_unit.pk}&amp;page=2">下一页' in first.content.decode()
        )
        second = client.get(url, {"round": world.round.pk, "unit": world.coop_unit.pk, "page": 2})
        assert {m.owner_unit_id for m in second.context["page"]} == {world.coop_unit.pk}
        assert (
            f'href="?round={world.round.pk}&amp;unit={world.coop_unit.pk}&amp;page=1">上一页' in second.content.decode()
        )

    def test_it_shows_a_leader_their_items_and_nobody_elses(self, world, client, frozen):
        client.force_login(world.leader)
        page = client.get(reverse("rectification:leader")).content.decode()
        assert "违规发放津补贴" in page
        client.force_login(world.other_leader)
        assert "违规发放津补贴" not in client.get(reverse("rectification:leader")).content.decode()
        client.force_login(world.resp_staff)
        assert client.get(reverse("rectification:leader")).status_code == 404


@pytest.mark.django_db
class TestQueryCounts:
    @pytest.mark.parametrize("actor", ["office", "track_office"])
    def test_it_runs_the_same_number_of_queries_for_10_and_1000_measures(
        self, world, client, frozen, django_assert_num_queries, actor
    ):
        cadre = world.make_problem("3.1", track_kind=Track.Kind.CADRE)
        _bulk_measures(world, cadre, 8)
        client.force_login(getattr(world, actor))
        client.get(DASHBOARD)
        with django_assert_num_queries(BUDGET[actor]) as small:
            client.get(DASHBOARD)
        _bulk_measures(world, world.make_problem("3.2", track_kind=Track.Kind.CADRE), 990)
        with django_assert_num_queries(BUDGET[actor]):
            response = client.get(DASHBOARD)
        assert response.context["d"]["measures"]["total"] >= 998
        assert len(small) == BUDGET[actor]

    def test_it_pins_the_measure_list(self, world, client, frozen, django_assert_num_queries):
        _bulk_measures(world, world.problem, 40)
        client.force_login(world.office)
        url = reverse("rectification:measure_list")
        client.get(url, {"light": "red"})
        # session, user, roles, unit, bell, pending, rounds, count, page, the menu's 督办单 number
        with django_assert_num_queries(10):
            client.get(url, {"light": "red"})


# session, user, roles, unit, rounds, then the dashboard's own aggregates (a fixed set), the
# filter pickers, the snapshots list, bell and pending counts; the office's holiday entries and
# confirmed years, read once for the countdown's working days; the claim and criteria counts
# (one aggregate over the measures, one count of the undecomposed problems); the counts of items
# stuck with reviewers (close-outs, and weekly reports waiting for the unit head); the menu's
# number on 督办单 (the office's; a track office has no such entry).
BUDGET = {"office": 29, "track_office": 28}


@pytest.mark.django_db
class TestTrackOfficeFigures:
    """A track office (专项办) sees its track's figures, not the round's."""

    def _cadre_track(self, world):
        from rectification.models import CloseOutState, DeadlineCategory, Problem

        problem = services.problem_create(
            actor=world.office,
            inspection_round=world.round,
            aspect=world.problem.aspect,
            track=world.round.tracks.get(kind=Track.Kind.CADRE),
            code="2.1",
            title="选人用人把关不严",
            text="个别干部选拔程序不规范。",
            problem_type=Problem.ProblemType.SPECIFIC,
            deadline_category=DeadlineCategory.BY_DATE,
            due_date=datetime.date(2026, 12, 31),
            lead_official=world.leader,
            lead_unit=world.cadre_office_unit,
            responsible_units=[world.resp_unit],
            manifestations=["程序不规范。"],
            criteria=["程序规范。"],
        )
        for code, due in (("2.1.1", datetime.date(2026, 11, 1)), ("2.1.2", datetime.date(2026, 12, 20))):
            services.measure_create(
                actor=world.office,
                problem=problem,
                code=code,
                text="规范干部选拔程序",
                kind=Measure.Kind.RULES,
                owner_unit=world.resp_unit,
                start_date=datetime.date(2026, 9, 1),
                due_date=due,
            )
        Measure.objects.filter(code="2.1.2").update(closeout_state=CloseOutState.CLOSED)
        # 组织部 also works on a measure of the general track, as a responsible unit: it sees that
        # measure, but it is not the cadre track's figure.
        services.measure_create(
            actor=world.office,
            problem=world.problem,
            code="1.1.3",
            text="组织部配合清理",
            kind=Measure.Kind.RULES,
            owner_unit=world.cadre_office_unit,
            start_date=datetime.date(2026, 9, 1),
            due_date=datetime.date(2026, 10, 15),
        )

    def test_it_counts_the_tracks_rows_only(self, world, client, frozen):
        from rectification.access import measures_visible_to
        from rectification.models import CloseOutState, Problem

        self._cadre_track(world)
        assert measures_visible_to(world.track_office).filter(code="1.1.3").exists()
        mine = Measure.objects.filter(problem__round=world.round, problem__track__office_unit=world.cadre_office_unit)
        open_mine = mine.exclude(closeout_state=CloseOutState.CLOSED)
        client.force_login(world.track_office)
        response = client.get(DASHBOARD)
        data = response.context["d"]
        assert data["problems"]["total"] == Problem.objects.filter(track__kind=Track.Kind.CADRE).count() == 1
        assert data["measures"]["total"] == mine.count() == 2
        assert data["measures"]["closed"] == mine.filter(closeout_state=CloseOutState.CLOSED).count() == 1
        assert [row["label"] for row in data["by_track"]] == ["选人用人"]
        # Red: past its due date and not closed, counted from the raw rows.
        red = open_mine.filter(due_date__lt=TODAY).count()
        assert data["light_counts"]["red"] == red == 1
        assert data["trend"] == [] and data["snapshots"] == []
        assert "本页只统计本专项办负责的专项" in response.content.decode()
        # The list behind the red card has as many rows as the card says.
        listed = client.get(reverse("rectification:measure_list"), {"round": world.round.pk, "light": "red"})
        assert [m.code for m in listed.context["page"]] == ["2.1.1"]
        # So does the home page's overview.
        overview = client.get(reverse("rectification:home")).context["overview"]
        assert (overview["problems"]["total"], overview["measures"]["total"]) == (1, 2)

    def test_the_office_still_sees_the_rounds_figures(self, world, client, frozen):
        self._cadre_track(world)
        client.force_login(world.office)
        data = client.get(DASHBOARD).context["d"]
        assert data["measures"]["total"] == Measure.objects.filter(problem__round=world.round).count() == 5
        assert "本页只统计本专项办负责的专项" not in client.get(DASHBOARD).content.decode()
