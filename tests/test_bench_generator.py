"""The benchmark's city generator (bench/city.py), built small, so that it cannot rot unnoticed.

It writes every table with bulk inserts and grants the object permissions itself; the grants
must be exactly those ``permissions_sync_for_problem`` would write.
"""

import pytest

from accounts.models import Unit, User
from bench.city import CityScale, city_build
from bench.grants import stored_grant_keys
from rectification.access import (
    measures_visible_to,
    permissions_sync_for_problem,
    problems_visible_to,
)
from rectification.models import (
    CloseOutRequest,
    Evidence,
    InspectionRound,
    Measure,
    Milestone,
    Notification,
    Problem,
    ProgressReport,
    SignOffStep,
    WeeklySnapshot,
)

TINY = CityScale(
    organs=4,
    departments=3,
    townships=3,
    users=60,
    leaders=4,
    rounds=2,
    problems=3,
    measures=9,
    reports=20,
    evidence=6,
    signoffs=5,
    weeks=3,
    notifications_per_user=2,
    evidence_files=2,
)


@pytest.fixture
def city(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return city_build(scale=TINY, seed=7)


@pytest.mark.django_db
class TestCityBuild:
    def test_it_writes_the_sizes_it_was_asked_for(self, city):
        assert Unit.objects.count() == 10
        assert set(Unit.objects.values_list("level", flat=True)) == {"organ", "department", "township"}
        assert User.objects.count() == 60
        assert InspectionRound.objects.count() == 2
        assert Problem.objects.count() == 3
        assert Measure.objects.count() == 9
        assert Milestone.objects.count() == 9 * 4
        assert ProgressReport.objects.count() == 20
        assert Evidence.objects.count() == 6
        assert SignOffStep.objects.count() == 5
        assert WeeklySnapshot.objects.count() == 2 * 3
        assert city["reports"] == 20 and city["signoff_steps"] == 5

    def test_it_keeps_the_rules_the_services_keep(self, city, settings):
        # One open close-out request per measure, and the measure's state is its request's.
        for request in CloseOutRequest.objects.select_related("measure"):
            assert request.measure.closeout_state == request.state
        assert not Measure.objects.filter(due_date__lt=first_feedback()).exists()
        for measure in Measure.objects.select_related("problem"):
            if measure.problem.due_date:
                assert measure.due_date <= measure.problem.due_date
        # Every evidence record downloads a real (shared) file.
        for evidence in Evidence.objects.all():
            assert (settings.PRIVATE_MEDIA_ROOT / "evidence" / evidence.stored_name).stat().st_size == evidence.size

    def test_its_bulk_grants_are_the_grants_of_the_service(self, city):
        problem_ids = list(Problem.objects.values_list("pk", flat=True))
        written = stored_grant_keys(problem_ids)
        assert written[0] and written[1]
        for problem in Problem.objects.all():
            permissions_sync_for_problem(problem)
        assert stored_grant_keys(problem_ids) == written

    def test_it_lets_each_unit_see_what_it_works_on(self, city):
        measure = Measure.objects.select_related("owner_unit", "problem").order_by("pk").first()
        liaison = User.objects.filter(unit=measure.owner_unit, username__endswith="_lly").get()
        assert measure in measures_visible_to(liaison)
        assert measure.problem in problems_visible_to(liaison)

    def test_it_refuses_a_database_that_has_data(self, city):
        with pytest.raises(ValueError, match="empty database"):
            city_build(scale=TINY, seed=7)


def first_feedback():
    return InspectionRound.objects.order_by("feedback_date").values_list("feedback_date", flat=True).first()


@pytest.mark.django_db
def test_a_larger_scale_keeps_the_organisation_and_multiplies_the_work(settings, tmp_path):
    # `python -m bench.run build --scale 3` is the city with three times its work: the same units
    # and accounts, three times the rounds, problems, measures, reports, evidence, sign-offs.
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    assert CityScale().times(1) == CityScale()
    assert CityScale().times(3).measures == 27_000 and CityScale().times(3).reports == 600_000
    counts = city_build(scale=TINY.times(2), seed=7)
    assert Unit.objects.count() == 10 and User.objects.count() == 60
    assert InspectionRound.objects.count() == 2 * 2
    assert Problem.objects.count() == 2 * 3
    assert Measure.objects.count() == 2 * 9
    assert Milestone.objects.count() == 2 * 9 * 4
    assert ProgressReport.objects.count() == 2 * 20 == counts["reports"]
    assert Evidence.objects.count() == 2 * 6
    assert SignOffStep.objects.count() == 2 * 5 == counts["signoff_steps"]
    assert WeeklySnapshot.objects.count() == 2 * 2 * 3
    assert Notification.objects.count() == 2 * TINY.notifications_per_user * 60
