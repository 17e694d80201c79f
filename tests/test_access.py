"""The permission matrix: who sees and may act on which problem and measure, and the provincial
team's one rule: it opens only what the district released to it."""

import datetime
import io
import re
import zipfile
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from accounts.models import AuditEvent
from rectification import access, services
from rectification.access import (
    measure_for_user,
    measures_visible_to,
    problem_for_user,
    problems_visible_to,
)
from rectification.models import CloseOutState, Measure, Release, Track, WeeklySnapshot

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The provincial team's release list: session, user, roles, the bell, and the releases in one query.
RELEASE_LIST_QUERIES = 5

# actor attribute on World -> (sees problem, sees resp_measure, sees coop_measure)
VISIBILITY = {
    "office": (True, True, True),
    "supervision": (True, True, True),
    "provincial": (True, True, True),
    "lead_staff": (True, True, True),
    "resp_staff": (True, True, True),
    "coop_staff": (True, True, True),
    "leader": (True, True, True),
    "other_leader": (False, False, False),
    "outsider": (False, False, False),
    "track_office": (False, False, False),
    "sysadmin": (False, False, False),
    "secadmin": (False, False, False),
    "auditadmin": (False, False, False),
}

# The provincial team reads every finding as a whole (the weekly package is built for it from the
# querysets above), but opens none of the live pages: only what the district released (403).
RELEASED_ONLY = {"provincial"}


@pytest.mark.django_db
class TestVisibility:
    @pytest.mark.parametrize("actor", sorted(VISIBILITY))
    def test_it_lists_only_what_the_actor_may_see(self, world, actor):
        user = getattr(world, actor)
        sees_problem, sees_resp, sees_coop = VISIBILITY[actor]
        assert (world.problem in problems_visible_to(user)) is sees_problem
        measures = set(measures_visible_to(user))
        assert (world.resp_measure in measures) is sees_resp
        assert (world.coop_measure in measures) is sees_coop

    @pytest.mark.parametrize("actor", sorted(VISIBILITY))
    def test_it_serves_detail_pages_or_404(self, world, client, actor):
        sees_problem, sees_resp, _ = VISIBILITY[actor]
        client.force_login(getattr(world, actor))
        problem_page = client.get(reverse("rectification:problem_detail", args=[world.problem.pk]))
        measure_page = client.get(reverse("rectification:measure_detail", args=[world.resp_measure.pk]))
        if actor in RELEASED_ONLY:
            assert problem_page.status_code == measure_page.status_code == 403
            return
        assert problem_page.status_code == (200 if sees_problem else 404)
        assert measure_page.status_code == (200 if sees_resp else 404)
        if sees_problem:
            assert "违规发放津补贴" in problem_page.content.decode()

    @pytest.mark.parametrize("actor", sorted(VISIBILITY))
    def test_it_shows_the_problem_in_the_list_only_to_those_who_may_see_it(self, world, client, actor):
        client.force_login(getattr(world, actor))
        response = client.get(reverse("rectification:problem_list"))
        assert ("违规发放津补贴" in response.content.decode()) is (VISIBILITY[actor][0] and actor not in RELEASED_ONLY)
        assert (response.status_code == 403) is (actor in RELEASED_ONLY)

    def test_it_gives_the_same_answer_for_missing_and_not_yours(self, world, client):
        client.force_login(world.outsider)
        not_yours = client.get(reverse("rectification:problem_detail", args=[world.problem.pk]))
        missing = client.get(reverse("rectification:problem_detail", args=[world.problem.pk + 999]))
        assert not_yours.status_code == missing.status_code == 404

    def test_it_lets_a_track_office_see_its_own_track_only(self, world):
        cadre_problem = world.make_problem("3.1", track_kind=Track.Kind.CADRE, measures=[world.other_unit])
        visible = set(problems_visible_to(world.track_office))
        assert visible == {cadre_problem}
        assert set(measures_visible_to(world.track_office)) == set(cadre_problem.measures.all())

    def test_it_ignores_global_permissions_for_unit_staff(self, world):
        world.outsider.user_permissions.add(
            Permission.objects.get(codename="view_problem"), Permission.objects.get(codename="view_measure")
        )
        outsider = type(world.outsider).objects.get(pk=world.outsider.pk)
        assert not problems_visible_to(outsider).exists()
        assert not measures_visible_to(outsider).exists()

    def test_it_shows_nothing_to_an_inactive_user(self, world):
        world.resp_staff.is_active = False
        world.resp_staff.save()
        assert not problems_visible_to(world.resp_staff).exists()


@pytest.mark.django_db
class TestActions:
    def test_it_lets_only_the_owner_unit_report_on_a_measure(self, world):
        assert access.may_report(world.resp_staff, world.resp_measure)
        assert not access.may_report(world.coop_staff, world.resp_measure)
        assert not access.may_report(world.lead_staff, world.resp_measure)
        assert not access.may_report(world.office, world.resp_measure)

    def test_it_lets_the_lead_unit_review_and_decompose(self, world):
        assert access.may_review_measure(world.lead_staff, world.resp_measure)
        assert access.may_decompose(world.lead_staff, world.problem)
        assert not access.may_review_measure(world.resp_staff, world.resp_measure)
        assert not access.may_decompose(world.resp_staff, world.problem)

    def test_it_lets_only_the_problems_leaders_sign_off(self, world):
        assert access.may_sign_off(world.leader, world.problem)
        assert access.may_sign_off(world.leader, world.coop_measure)
        assert not access.may_sign_off(world.other_leader, world.problem)
        assert not access.may_sign_off(world.office, world.problem)

    def test_it_never_lets_read_only_roles_act(self, world):
        for user in (world.provincial, world.supervision):
            assert not access.may_manage_ledger(user)
            assert not access.may_decompose(user, world.problem)
            assert not access.may_sign_off(user, world.problem)
            for rule in (access.may_report, access.may_confirm_report, access.may_review_measure, access.may_sign_off):
                assert not rule(user, world.resp_measure)

    def test_it_raises_403_for_a_visible_item_the_user_may_not_change(self, world):
        with pytest.raises(PermissionDenied):
            measure_for_user(world.lead_staff, world.resp_measure.pk, "report")
        with pytest.raises(Http404):
            problem_for_user(world.outsider, world.problem.pk, "decompose")


@pytest.mark.django_db
class TestReassignment:
    def test_it_moves_a_measures_access_to_the_new_unit(self, world):
        services.measure_reassign(actor=world.office, measure=world.coop_measure, owner_unit=world.other_unit)

        assert not problems_visible_to(world.coop_staff).exists()
        assert not measures_visible_to(world.coop_staff).exists()
        assert world.problem in problems_visible_to(world.outsider)
        assert access.may_report(world.outsider, world.coop_measure)
        # The responsible unit keeps its own measure untouched.
        assert access.may_report(world.resp_staff, world.resp_measure)

    def test_it_moves_lead_rights_when_the_lead_unit_changes(self, world):
        services.problem_assign(
            actor=world.office,
            problem=world.problem,
            lead_official=world.other_leader,
            lead_unit=world.other_unit,
            responsible_leaders=[],
            responsible_units=[world.resp_unit],
        )
        assert not problems_visible_to(world.lead_staff).exists()
        assert access.may_decompose(world.outsider, world.problem)
        assert access.may_review_measure(world.outsider, world.resp_measure)
        assert not problems_visible_to(world.leader).exists()
        assert access.may_sign_off(world.other_leader, world.problem)

    def test_it_moves_access_when_a_person_changes_unit(self, world):
        from accounts.services import user_move_to_unit

        user_move_to_unit(actor=world.office, user=world.outsider, unit=world.resp_unit)
        moved = type(world.outsider).objects.get(pk=world.outsider.pk)
        assert access.may_report(moved, world.resp_measure)

        user_move_to_unit(actor=world.office, user=moved, unit=world.other_unit)
        moved = type(world.outsider).objects.get(pk=world.outsider.pk)
        assert not problems_visible_to(moved).exists()

    def test_it_refuses_reassignment_by_anyone_but_the_office(self, world):
        with pytest.raises(PermissionDenied):
            services.measure_reassign(actor=world.lead_staff, measure=world.resp_measure, owner_unit=world.other_unit)
        assert access.may_report(world.resp_staff, world.resp_measure)

    def test_it_writes_an_audit_row_for_each_reassignment(self, world):
        from accounts.models import AuditEvent

        services.measure_reassign(actor=world.office, measure=world.coop_measure, owner_unit=world.other_unit)
        event = AuditEvent.objects.filter(action="measure.reassign").get()
        assert event.actor == world.office
        assert event.changes == {"owner_unit": ["协办镇", "无关局"]}


@pytest.mark.django_db
class TestChokepointsOfWhatHangsOffAMeasure:
    """Each type is fetched through its own chokepoint, which checks visibility in the same query
    as the id: an invisible object and a missing one both answer 404, a visible one the person
    may not act on 403. Before, six views fetched the object by id and only then asked about its
    parent measure."""

    def _objects(self, world):
        from rectification.models import CoordinationItem, Evidence, Milestone, ProgressReport

        milestone = Milestone.objects.create(
            measure=world.resp_measure, seq=1, title="节点", due_date=world.resp_measure.due_date
        )
        report = ProgressReport.objects.create(
            measure=world.resp_measure,
            iso_year=2026,
            iso_week=48,
            progress_this_week="推进",
            filled_by=world.resp_staff,
        )
        evidence = Evidence.objects.create(
            measure=world.resp_measure,
            kind=Evidence.Kind.OTHER,
            original_name="a.pdf",
            stored_name="x/a.pdf",
            content_type="application/pdf",
            size=1,
            sha256="0" * 64,
            uploaded_by=world.resp_staff,
        )
        item = CoordinationItem.objects.create(measure=world.resp_measure, report=report, text="需要协调")
        return {"milestone": milestone, "report": report, "evidence": evidence, "coordination_item": item}

    CHOKEPOINTS = {
        "milestone": ("milestone_for_user", "done"),
        "report": ("report_for_user", "correct"),
        "evidence": ("evidence_for_user", "view"),
        "coordination_item": ("coordination_item_for_user", "resolve"),
    }

    @pytest.mark.parametrize("kind", sorted(CHOKEPOINTS))
    def test_it_answers_404_alike_for_missing_and_invisible(self, world, kind):
        obj = self._objects(world)[kind]
        name, action = self.CHOKEPOINTS[kind]
        chokepoint = getattr(access, name)
        for pk in (obj.pk, obj.pk + 10_000):
            with pytest.raises(Http404):
                chokepoint(world.outsider, pk, action)

    def test_it_answers_403_for_a_visible_object_the_person_may_not_act_on(self, world):
        objects = self._objects(world)
        # The cooperating unit sees the problem's measures but reports only on its own.
        with pytest.raises(PermissionDenied):
            access.milestone_for_user(world.coop_staff, objects["milestone"].pk, "done")
        with pytest.raises(PermissionDenied):
            access.report_for_user(world.coop_staff, objects["report"].pk, "correct")
        # A difficulty goes to the problem's leaders (or the office), not to the units.
        with pytest.raises(PermissionDenied):
            access.coordination_item_for_user(world.resp_staff, objects["coordination_item"].pk, "resolve")
        assert access.milestone_for_user(world.resp_staff, objects["milestone"].pk, "done") == objects["milestone"]
        assert access.coordination_item_for_user(world.leader, objects["coordination_item"].pk, "resolve")

    def test_it_serves_the_pages_through_them(self, world, client):
        objects = self._objects(world)
        client.force_login(world.outsider)
        assert client.post(reverse("rectification:milestone_done", args=[objects["milestone"].pk])).status_code == 404
        assert client.get(reverse("rectification:report_correct", args=[objects["report"].pk])).status_code == 404
        assert client.get(reverse("rectification:evidence_download", args=[objects["evidence"].pk])).status_code == 404
        client.force_login(world.coop_staff)
        assert client.post(reverse("rectification:milestone_done", args=[objects["milestone"].pk])).status_code == 403


# --- the provincial team reads what the district released -----------------------------------------


def _stat(page, label):
    """The number of a figure block (``<span>label</span><strong>n</strong>``) on a page, and its note."""
    found = re.search(rf"<span>{label}</span><strong>(\d+)</strong>(?:<em>已销号 (\d+)</em>)?", page)
    assert found, label
    return int(found.group(1)), found.group(2) and int(found.group(2))


@pytest.mark.django_db
class TestReleasedOnly:
    @pytest.fixture
    def snapshots(self, world, settings, tmp_path):
        """Two summarised weeks with their packages: week 47 stays unreleased, week 48 is released."""
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        for week, day in ((47, 20), (48, 27)):
            with time_machine.travel(datetime.datetime(2026, 11, day, 19, tzinfo=SHANGHAI), tick=False):
                services.step_run(services.cycle_for(world.round, 2026, week), "summary")
        unreleased = WeeklySnapshot.objects.get(cycle__iso_week=47)
        released = WeeklySnapshot.objects.get(cycle__iso_week=48)
        release = services.release_create(
            actor=world.office, inspection_round=world.round, kind=Release.Kind.WEEKLY_PACKAGE, snapshot=released
        )
        return unreleased, released, release

    def test_it_refuses_the_live_pages_with_the_reason(self, world, client, snapshots):
        client.force_login(world.provincial)
        for url in (
            reverse("rectification:dashboard"),
            reverse("rectification:problem_list"),
            reverse("rectification:problem_detail", args=[world.problem.pk]),
            reverse("rectification:coordination_list"),
            reverse("rectification:battle_board"),
            reverse("rectification:excel:index"),
            reverse("rectification:excel:ledger", args=[world.round.pk]),
            reverse("rectification:excel:statistics", args=[world.round.pk]),
        ):
            response = client.get(url)
            assert response.status_code == 403, url
            assert "省巡视组账号只查看区整改办已报送的材料" in response.content.decode(), url
        assert not AuditEvent.objects.filter(actor=world.provincial, action__startswith="excel.").exists()

    def test_it_gives_a_released_package_and_refuses_an_unreleased_one(self, world, client, snapshots):
        unreleased, released, _release = snapshots
        client.force_login(world.provincial)
        assert client.get(reverse("rectification:snapshot_package", args=[unreleased.pk])).status_code == 404
        response = client.get(reverse("rectification:snapshot_package", args=[released.pk]))
        assert response.status_code == 200
        assert len(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()) == 3
        listed = client.get(reverse("rectification:release_list")).content.decode()
        assert reverse("rectification:snapshot_package", args=[released.pk]) in listed
        assert reverse("rectification:snapshot_package", args=[unreleased.pk]) not in listed

    def test_it_shows_the_released_figures_as_frozen_not_live(self, world, client, snapshots):
        _unreleased, released, release = snapshots
        figures = released.figures
        # The ledger moves on after the release: a new measure, and one measure closed.
        world.make_problem("9.9", measures=[world.resp_unit])
        Measure.objects.filter(pk=world.coop_measure.pk).update(closeout_state=CloseOutState.CLOSED)
        live_total = Measure.objects.count()
        assert live_total != figures["measures"]["total"]

        client.force_login(world.provincial)
        url = reverse("rectification:release_figures", args=[release.pk])
        assert url in client.get(reverse("rectification:release_list")).content.decode()
        page = client.get(url).content.decode()
        assert _stat(page, "整改措施") == (figures["measures"]["total"], figures["measures"]["closed"])
        assert _stat(page, "反馈问题")[0] == figures["problems"]["total"]
        assert _stat(page, "本周销号")[0] == figures["closed_this_week"]
        assert _stat(page, "逾期措施")[0] == len(figures["overdue"]) == released.overdue_count
        assert _stat(page, "未报单位")[0] == len(figures["missed_units"]) == released.missed_unit_count
        # The frozen numbers are the ledger's as it stood at the summary, counted independently.
        assert figures["measures"]["total"] == live_total - 1
        assert "单位排名" not in page and "形式主义" not in page
        for row in figures["by_track"]:
            assert f"<td>{row['track']}</td><td>{row['total']}</td><td>{row['closed']}</td>" in page

    @pytest.mark.parametrize(
        "actor, status",
        [("office", 200), ("supervision", 200), ("resp_staff", 404), ("outsider", 404), ("leader", 404)],
    )
    def test_it_shows_the_released_figures_to_release_readers_only(self, world, client, snapshots, actor, status):
        client.force_login(getattr(world, actor))
        assert client.get(reverse("rectification:release_figures", args=[snapshots[2].pk])).status_code == status
        assert client.get(reverse("rectification:release_figures", args=[snapshots[2].pk + 99])).status_code in (
            403,
            404,
        )

    def test_its_menu_holds_only_what_it_may_open(self, world, client, snapshots):
        client.force_login(world.provincial)
        response = client.get(reverse("rectification:home"))
        menu = response.context["menu"]
        assert [entry["name"] for entry in menu] == ["home", "release_list"]
        for entry in menu:
            assert client.get(entry["url"]).status_code == 200, entry["name"]
        page = response.content.decode()
        for name in ("dashboard", "problem_list", "coordination_list", "excel:index", "battle_board"):
            assert f'href="{reverse(f"rectification:{name}")}"' not in page, name

    def test_its_release_list_costs_the_same_for_more_releases(
        self, world, client, snapshots, django_assert_num_queries
    ):
        unreleased, _released, _release = snapshots
        client.force_login(world.provincial)
        url = reverse("rectification:release_list")
        client.get(url)
        with django_assert_num_queries(RELEASE_LIST_QUERIES):
            assert len(client.get(url).context["releases"]) == 1
        services.release_create(
            actor=world.office, inspection_round=world.round, kind=Release.Kind.WEEKLY_PACKAGE, snapshot=unreleased
        )
        with django_assert_num_queries(RELEASE_LIST_QUERIES):
            listed = client.get(url).context["releases"]
        assert len(listed) == Release.objects.count() == 2
