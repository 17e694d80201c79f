"""The office maintaining its ledger in the browser: editing a problem and its responsibilities, the
hand-over of a leader's items after a personnel change, the 专项整治 campaigns and their pages, and
the district battle board (挂图作战总图). Three actors each: the office, a unit's staff, an outsider."""

import datetime
import re

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from rectification import access, services
from rectification.access import measure_for_user, problem_for_user
from rectification.models import (
    CloseOutRequest,
    CloseOutState,
    DeadlineCategory,
    Measure,
    Notification,
    Problem,
    Track,
)

from .conftest import DEADLINE, FEEDBACK, _user, as_claimed, refused

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def _visible(user, finder, pk):
    try:
        finder(user, pk)
    except Http404:
        return False
    return True


def _edit_data(problem, **changes):
    """The edit form as the page fills it for ``problem``, with ``changes`` applied."""
    data = {
        "aspect": problem.aspect_id,
        "track": problem.track_id,
        "title": problem.title,
        "text": problem.text,
        "manifestations": "\n".join(m.text for m in problem.manifestations.all()),
        "problem_type": problem.problem_type,
        "deadline_category": problem.deadline_category,
        "due_date": problem.due_date.isoformat() if problem.due_date else "",
        "goal": problem.goal,
        "criteria": "\n".join(c.text for c in problem.criteria.filter(measure__isnull=True)),
        "lead_official": problem.lead_official_id,
        "responsible_leaders": [u.pk for u in problem.responsible_leaders.all()],
        "lead_unit": problem.lead_unit_id,
        "responsible_units": [u.pk for u in problem.responsible_units.all()],
        "campaign": problem.campaign_id or "",
    }
    data.update(changes)
    return data


def _common_problem(world, code, *, campaign, lead_unit, owners, responsible_units=()):
    problem = services.problem_create(
        actor=world.office,
        inspection_round=world.round,
        aspect=world.round.aspects.first(),
        track=world.round.tracks.get(kind=Track.Kind.GENERAL),
        code=code,
        title=f"共性问题{code}",
        text=f"反馈原文{code}",
        problem_type=Problem.ProblemType.COMMON,
        deadline_category=DeadlineCategory.BY_DATE,
        due_date=DEADLINE,
        lead_official=world.leader,
        lead_unit=lead_unit,
        responsible_units=responsible_units,
        campaign=campaign,
    )
    for index, unit in enumerate(owners, start=1):
        as_claimed(
            services.measure_create(
                actor=world.office,
                problem=problem,
                code=f"{code}.{index}",
                seq=index,
                text=f"专项措施{code}.{index}",
                kind=Measure.Kind.CAMPAIGN,
                owner_unit=unit,
                start_date=FEEDBACK,
                due_date=DEADLINE - datetime.timedelta(days=10 * index),
            )
        )
    return problem


# --- editing a problem ------------------------------------------------------------------------------


class TestProblemEdit:
    def test_it_changes_texts_dates_and_responsibilities_with_audit_rows(self, client, world):
        _login(client, world.office)
        new_due = DEADLINE - datetime.timedelta(days=20)
        response = client.post(
            reverse("rectification:problem_edit", args=[world.problem.pk]),
            _edit_data(
                world.problem,
                title="违规发放津补贴（修改）",
                due_date=new_due.isoformat(),
                responsible_leaders=[world.other_leader.pk],
            ),
        )
        assert response.status_code == 302
        problem = Problem.objects.get(pk=world.problem.pk)
        assert problem.title == "违规发放津补贴（修改）"
        assert problem.due_date == new_due
        assert list(problem.responsible_leaders.all()) == [world.other_leader]
        actions = set(AuditEvent.objects.filter(target_id=str(problem.pk)).values_list("action", flat=True))
        assert {"problem.assign", "problem.update"} <= actions
        # The responsible leader now reads and signs the problem.
        assert access.may_sign_off(world.other_leader, problem)

    def test_it_moves_a_units_staff_access_when_the_lead_unit_changes(self, client, world):
        assert _visible(world.lead_staff, problem_for_user, world.problem.pk)
        assert not _visible(world.outsider, problem_for_user, world.problem.pk)
        _login(client, world.office)
        response = client.post(
            reverse("rectification:problem_edit", args=[world.problem.pk]),
            _edit_data(world.problem, lead_unit=world.other_unit.pk),
        )
        assert response.status_code == 302
        assert not _visible(world.lead_staff, problem_for_user, world.problem.pk)
        assert not _visible(world.lead_staff, measure_for_user, world.resp_measure.pk)
        assert _visible(world.outsider, problem_for_user, world.problem.pk)
        assert access.may_decompose(world.outsider, Problem.objects.get(pk=world.problem.pk))
        # And on the pages: the old lead unit's liaison meets a 404, the new one the problem.
        _login(client, world.lead_staff)
        assert client.get(reverse("rectification:problem_detail", args=[world.problem.pk])).status_code == 404
        _login(client, world.outsider)
        assert client.get(reverse("rectification:problem_detail", args=[world.problem.pk])).status_code == 200

    def test_it_refuses_a_campaign_for_a_specific_problem_in_chinese(self, client, world):
        campaign = services.campaign_create(
            actor=world.office, inspection_round=world.round, name="津补贴专项整治", lead_unit=world.lead_unit
        )
        _login(client, world.office)
        response = client.post(
            reverse("rectification:problem_edit", args=[world.problem.pk]),
            _edit_data(world.problem, campaign=campaign.pk),
        )
        assert response.status_code == 200
        assert "只有共性问题才能纳入专项整治" in response.content.decode()
        assert Problem.objects.get(pk=world.problem.pk).campaign_id is None

    def test_it_keeps_what_was_typed_when_refused(self, client, world):
        _login(client, world.office)
        response = client.post(
            reverse("rectification:problem_edit", args=[world.problem.pk]),
            _edit_data(world.problem, title="新的概述文字", deadline_category=DeadlineCategory.BY_DATE, due_date=""),
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert "限期整改的问题必须填写整改时限" in body
        assert "新的概述文字" in body

    @pytest.mark.parametrize("actor", ["lead_staff", "resp_head", "leader", "provincial", "supervision"])
    def test_it_is_not_there_for_anyone_but_the_office(self, client, world, actor):
        _login(client, getattr(world, actor))
        url = reverse("rectification:problem_edit", args=[world.problem.pk])
        assert client.get(url).status_code == refused(actor)
        assert client.post(url, _edit_data(world.problem, title="改")).status_code == refused(actor)
        assert Problem.objects.get(pk=world.problem.pk).title == "违规发放津补贴"

    def test_the_detail_page_links_to_the_edit_for_the_office_only(self, client, world):
        url = reverse("rectification:problem_detail", args=[world.problem.pk])
        edit = reverse("rectification:problem_edit", args=[world.problem.pk])
        assert edit in _login(client, world.office).get(url).content.decode()
        assert edit not in _login(client, world.lead_staff).get(url).content.decode()


# --- the hand-over of a leader's items -------------------------------------------------------------------


class TestLeaderHandover:
    URL = "rectification:leader_handover"

    def _post(self, client, world, step, old=None, new=None, previewed=None):
        old, new = old or world.leader, new or world.other_leader
        return client.post(
            reverse(self.URL),
            {
                "inspection_round": world.round.pk,
                "old_leader": old.pk,
                "new_leader": new.pk,
                "step": step,
                # What the preview page carries: the choice that was previewed.
                "previewed": previewed or f"{world.round.pk}-{old.pk}-{new.pk}",
            },
        )

    def test_it_moves_nothing_when_the_choice_changed_after_the_preview(self, client, world):
        _login(client, world.office)
        stale = f"{world.round.pk}-{world.leader.pk}-{world.lead_staff.pk}"
        response = self._post(client, world, "confirm", previewed=stale)
        assert response.status_code == 200
        assert "选择已改变" in response.content.decode()
        assert Problem.objects.get(pk=world.problem.pk).lead_official == world.leader

    def test_it_previews_the_problems_and_measures_without_moving_anything(self, client, world):
        second = world.make_problem("1.2", measures=[world.coop_unit, world.coop_unit, world.resp_unit])
        _login(client, world.office)
        response = self._post(client, world, "preview")
        assert response.status_code == 200
        body = response.content.decode()
        assert body.count('class="handover-row"') == 2
        assert re.search(r'class="count-problems">2<', body)
        measures = Measure.objects.filter(problem__in=[world.problem, second]).count()
        assert re.search(rf'class="count-measures">{measures}<', body)
        assert Problem.objects.filter(lead_official=world.leader).count() == 2

    def test_it_moves_every_item_and_the_access_in_bulk(self, client, world):
        second = world.make_problem("1.2", measures=[world.coop_unit])
        # On a third problem the old leader is a responsible leader only.
        third = world.make_problem("1.3", measures=[world.resp_unit])
        services.problem_assign(
            actor=world.office,
            problem=third,
            lead_official=world.other_leader,
            lead_unit=third.lead_unit,
            responsible_leaders=[world.leader],
            responsible_units=[],
        )
        newcomer = _user("leader3", [Role.LEADER], full_name="周接任")
        assert access.may_sign_off(world.leader, world.resp_measure)
        _login(client, world.office)
        response = self._post(client, world, "confirm", new=newcomer)
        assert response.status_code == 302
        for problem in (world.problem, second):
            problem.refresh_from_db()
            assert problem.lead_official == newcomer
        third.refresh_from_db()
        assert third.lead_official == world.other_leader
        assert list(third.responsible_leaders.all()) == [newcomer]
        # The old leader no longer sees or signs any of them; the new one does.
        for problem in (world.problem, second, third):
            assert not _visible(world.leader, problem_for_user, problem.pk)
            assert _visible(newcomer, problem_for_user, problem.pk)
            assert access.may_sign_off(newcomer, problem)
        assert not _visible(world.leader, measure_for_user, world.resp_measure.pk)
        assert access.may_sign_off(newcomer, world.resp_measure)
        assert access.problems_visible_to(world.leader).count() == 0
        # One audit row per problem and one for the hand-over.
        assert AuditEvent.objects.filter(action="problem.assign", target_id=str(second.pk)).exists()
        assert AuditEvent.objects.filter(action="leader.handover").count() == 1
        # The new leader is told, in their bell.
        notice = Notification.objects.get(recipient=newcomer)
        assert "王牵头牵头或负责的 3 个问题移交给您" in notice.text
        # On the pages too.
        _login(client, world.leader)
        assert client.get(reverse("rectification:problem_detail", args=[second.pk])).status_code == 404
        _login(client, newcomer)
        assert client.get(reverse("rectification:problem_detail", args=[second.pk])).status_code == 200

    def test_a_close_out_waiting_for_the_old_leader_waits_for_the_new_one(self, client, world):
        Measure.objects.filter(pk=world.resp_measure.pk).update(closeout_state=CloseOutState.PENDING_LEADER)
        request = CloseOutRequest.objects.create(
            problem=world.problem,
            measure=world.resp_measure,
            state=CloseOutRequest.State.PENDING_LEADER,
            statement="已完成。",
            applicant_unit=world.resp_unit,
            applied_by=world.resp_head,
            pledged_at=timezone.now(),
        )
        assert access.may_decide_closeout(world.leader, request)
        _login(client, world.office)
        assert self._post(client, world, "confirm").status_code == 302
        request.refresh_from_db()
        assert not access.may_decide_closeout(world.leader, request)
        assert access.may_decide_closeout(world.other_leader, request)
        waiting = CloseOutRequest.objects.filter(access.closeout_waiting_condition(world.other_leader))
        assert list(waiting) == [request]

    def test_it_refuses_the_same_leader_and_one_without_items_in_chinese(self, client, world):
        _login(client, world.office)
        response = self._post(client, world, "confirm", old=world.leader, new=world.leader)
        assert "原领导和新领导不能是同一人" in response.content.decode()
        response = self._post(client, world, "preview", old=world.leader, new=world.other_leader)
        response = self._post(client, world, "confirm", old=world.other_leader, new=world.leader)
        # The other leader holds nothing in this round: the old leader is not even offered.
        assert response.status_code == 200
        assert Problem.objects.filter(lead_official=world.leader).count() == 1

    def test_it_refuses_someone_who_is_not_a_leader_as_successor(self, client, world):
        _login(client, world.office)
        response = self._post(client, world, "confirm", new=world.resp_staff)
        assert response.status_code == 200
        assert Problem.objects.get(pk=world.problem.pk).lead_official == world.leader

    @pytest.mark.parametrize("actor", ["resp_staff", "leader", "provincial", "track_office"])
    def test_it_is_not_there_for_anyone_but_the_office(self, client, world, actor):
        _login(client, getattr(world, actor))
        assert client.get(reverse(self.URL)).status_code == refused(actor)
        assert self._post(client, world, "confirm").status_code == refused(actor)
        assert Problem.objects.get(pk=world.problem.pk).lead_official == world.leader


# --- campaigns ------------------------------------------------------------------------------------------


@pytest.fixture
def campaign_world(world):
    """A campaign of two common problems: one the responsible unit works on, one it has nothing to do with."""
    campaign = services.campaign_create(
        actor=world.office,
        inspection_round=world.round,
        name="群众身边不正之风专项整治",
        lead_unit=world.lead_unit,
        deadline=DEADLINE - datetime.timedelta(days=14),
    )
    ours = _common_problem(
        world, "2.1", campaign=campaign, lead_unit=world.lead_unit, owners=[world.resp_unit, world.coop_unit]
    )
    theirs = _common_problem(
        world, "2.2", campaign=campaign, lead_unit=world.coop_unit, owners=[world.coop_unit, world.coop_unit]
    )
    # One measure closed, to count.
    Measure.objects.filter(code="2.2.2").update(closeout_state=CloseOutState.CLOSED)
    return campaign, ours, theirs


def _count(body, name):
    return int(re.search(rf'data-count="{name}"[^>]*>.*?<strong>(\d+)</strong>', body, re.S).group(1))


class TestCampaigns:
    def test_the_office_creates_and_edits_a_campaign(self, client, world):
        _login(client, world.office)
        response = client.post(
            reverse("rectification:campaign_create", args=[world.round.pk]),
            {
                "name": "津补贴专项整治",
                "lead_unit": world.lead_unit.pk,
                "deadline": "2026-12-01",
                "description": "说明",
            },
        )
        campaign = world.round.campaigns.get(name="津补贴专项整治")
        assert response.status_code == 302
        assert campaign.deadline == datetime.date(2026, 12, 1)
        response = client.post(
            reverse("rectification:campaign_edit", args=[campaign.pk]),
            {"name": "津补贴清理专项整治", "lead_unit": world.resp_unit.pk, "deadline": "2026-12-15"},
        )
        assert response.status_code == 302
        campaign.refresh_from_db()
        assert (campaign.name, campaign.lead_unit, campaign.deadline) == (
            "津补贴清理专项整治",
            world.resp_unit,
            datetime.date(2026, 12, 15),
        )
        assert AuditEvent.objects.filter(action="campaign.create").count() == 1
        assert AuditEvent.objects.filter(action="campaign.update").count() == 1

    def test_it_refuses_a_duplicate_name_in_chinese(self, client, world, campaign_world):
        _login(client, world.office)
        response = client.post(
            reverse("rectification:campaign_create", args=[world.round.pk]),
            {"name": "群众身边不正之风专项整治", "lead_unit": world.lead_unit.pk},
        )
        assert response.status_code == 200
        assert "专项整治 已经存在" in response.content.decode()

    def test_its_counts_equal_the_lists_behind_them_and_a_raw_count(self, client, world, campaign_world):
        campaign, _ours, _theirs = campaign_world
        _login(client, world.office)
        body = client.get(reverse("rectification:campaign_detail", args=[campaign.pk])).content.decode()
        raw_measures = Measure.objects.filter(problem__campaign=campaign)
        assert _count(body, "problems") == Problem.objects.filter(campaign=campaign).count() == 2
        assert _count(body, "measures") == raw_measures.count() == 4
        assert _count(body, "closed") == raw_measures.filter(closeout_state=CloseOutState.CLOSED).count() == 1
        for name in ("problems", "measures", "closed", "red", "yellow", "grey", "review", "green"):
            link = re.search(rf'data-count="{name}" href="([^"]+)"', body) or re.search(
                rf'href="([^"]+)"[^>]*data-count="{name}"', body
            )
            listed = client.get(link.group(1).replace("&amp;", "&")).context["page"].paginator.count
            assert listed == _count(body, name), name
        lights = sum(_count(body, name) for name in ("red", "yellow", "grey", "review", "green"))
        assert lights == raw_measures.exclude(closeout_state=CloseOutState.CLOSED).count()

    def test_a_units_staff_see_only_their_own_rows(self, client, world, campaign_world):
        campaign, _ours, _theirs = campaign_world
        _login(client, world.resp_staff)
        response = client.get(reverse("rectification:campaign_detail", args=[campaign.pk]))
        assert response.status_code == 200
        body = response.content.decode()
        assert "共性问题2.1" in body and "共性问题2.2" not in body
        assert "专项措施2.1.1" in body and "专项措施2.2.1" not in body
        assert _count(body, "problems") == 1
        assert _count(body, "measures") == 2

    @pytest.mark.parametrize("actor", ["outsider", "leader2_user", "sysadmin"])
    def test_it_is_missing_for_someone_with_nothing_in_it(self, client, world, campaign_world, actor):
        campaign, _ours, _theirs = campaign_world
        user = world.other_leader if actor == "leader2_user" else getattr(world, actor)
        _login(client, user)
        assert client.get(reverse("rectification:campaign_detail", args=[campaign.pk])).status_code == 404
        assert "群众身边不正之风" not in client.get(reverse("rectification:campaign_list")).content.decode()

    def test_supervision_reads_all_of_it_and_the_provincial_team_none_live(self, client, world, campaign_world):
        campaign, _ours, _theirs = campaign_world
        _login(client, world.supervision)
        body = client.get(reverse("rectification:campaign_detail", args=[campaign.pk])).content.decode()
        assert _count(body, "measures") == 4
        assert reverse("rectification:campaign_edit", args=[campaign.pk]) not in body
        # The provincial team reads what the district released, not the live campaign pages.
        _login(client, world.provincial)
        assert client.get(reverse("rectification:campaign_detail", args=[campaign.pk])).status_code == 403
        assert client.get(reverse("rectification:campaign_list")).status_code == 403

    @pytest.mark.parametrize("actor", ["lead_staff", "provincial", "outsider", "leader"])
    def test_only_the_office_creates_or_edits(self, client, world, campaign_world, actor):
        campaign, _ours, _theirs = campaign_world
        _login(client, getattr(world, actor))
        edit = reverse("rectification:campaign_edit", args=[campaign.pk])
        assert client.get(edit).status_code == refused(actor)
        assert client.post(edit, {"name": "改名", "lead_unit": world.lead_unit.pk}).status_code == refused(actor)
        create = reverse("rectification:campaign_create", args=[world.round.pk])
        assert client.post(create, {"name": "新专项", "lead_unit": world.lead_unit.pk}).status_code == refused(actor)
        campaign.refresh_from_db()
        assert campaign.name == "群众身边不正之风专项整治"
        assert world.round.campaigns.count() == 1

    def test_the_problem_and_measure_lists_filter_by_campaign(self, client, world, campaign_world):
        campaign, _ours, _theirs = campaign_world
        _login(client, world.office)
        problems = client.get(reverse("rectification:problem_list"), {"campaign": campaign.pk}).context["page"]
        assert {p.code for p in problems} == {"2.1", "2.2"}
        response = client.get(reverse("rectification:measure_list"), {"campaign": campaign.pk})
        assert {m.code for m in response.context["page"]} == {"2.1.1", "2.1.2", "2.2.1", "2.2.2"}
        assert "专项整治：" in response.content.decode() and campaign.name in response.content.decode()
        everything = client.get(reverse("rectification:problem_list")).context["page"].paginator.count
        assert everything == Problem.objects.count() == 3


# --- the battle board ------------------------------------------------------------------------------------


class TestBattleBoard:
    URL = "rectification:battle_board"

    def test_it_shows_every_open_problem_to_the_office(self, client, world, campaign_world):
        Problem.objects.filter(code="2.2").update(closeout_state=CloseOutState.CLOSED)
        _login(client, world.office)
        body = client.get(reverse(self.URL)).content.decode()
        codes = set(re.findall(r'class="board-row" data-code="([^"]+)"', body))
        assert codes == set(Problem.objects.exclude(closeout_state=CloseOutState.CLOSED).values_list("code", flat=True))
        assert codes == {"1.1", "2.1"}
        assert re.search(r'class="board-count">2<', body)

    @pytest.mark.parametrize(
        "group, heading",
        [("aspect", "1. 方面一"), ("track", "综合"), ("leader", "王牵头"), ("nonsense", "1. 方面一")],
    )
    def test_it_groups_by_aspect_track_or_lead_official(self, client, world, group, heading):
        _login(client, world.office)
        body = client.get(reverse(self.URL), {"group": group}).content.decode()
        assert re.search(rf'<tr class="group"><th colspan="5">{re.escape(heading)}（1）</th></tr>', body)

    def test_its_colours_are_the_lights_of_the_measures(self, client, world):
        # The responsible unit's measure is overdue: the problem's bar is red.
        Measure.objects.filter(pk=world.resp_measure.pk).update(
            due_date=timezone.localdate() - datetime.timedelta(days=1), start_date=FEEDBACK
        )
        _login(client, world.office)
        body = client.get(reverse(self.URL)).content.decode()
        assert 'class="board-bar red' in body
        assert 'data-light="red"' in body

    def test_a_units_staff_see_their_own_problems_only(self, client, world, campaign_world):
        _login(client, world.resp_staff)
        body = client.get(reverse(self.URL)).content.decode()
        codes = set(re.findall(r'class="board-row" data-code="([^"]+)"', body))
        assert codes == {"1.1", "2.1"}
        _login(client, world.outsider)
        body = client.get(reverse(self.URL)).content.decode()
        assert re.findall(r'class="board-row"', body) == []
        assert "违规发放津补贴" not in body

    def test_it_is_not_there_for_an_administrator(self, client, world):
        _login(client, world.sysadmin)
        assert client.get(reverse(self.URL)).status_code == 404

    def test_it_reads_the_board_in_a_fixed_number_of_queries(self, client, world, django_assert_max_num_queries):
        _login(client, world.office)
        client.get(reverse(self.URL))
        for index in range(2, 8):
            world.make_problem(f"1.{index}", measures=[world.resp_unit, world.coop_unit])
        with django_assert_max_num_queries(14):
            assert client.get(reverse(self.URL)).status_code == 200
