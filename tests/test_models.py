"""The database refuses rows that break the ledger's rules, and services say why in Chinese."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from rectification import services
from rectification.models import DeadlineCategory, InspectionRound, Measure, Milestone, Problem, Track

from .conftest import DEADLINE, FEEDBACK


def _problem_kwargs(world, **overrides):
    kwargs = dict(
        actor=world.office,
        inspection_round=world.round,
        aspect=world.round.aspects.first(),
        track=world.round.tracks.get(kind=Track.Kind.GENERAL),
        code="9.9",
        title="新问题",
        text="原文",
        problem_type=Problem.ProblemType.SPECIFIC,
        deadline_category=DeadlineCategory.BY_DATE,
        due_date=DEADLINE,
        lead_official=world.leader,
        lead_unit=world.lead_unit,
    )
    kwargs.update(overrides)
    return kwargs


@pytest.mark.django_db
class TestProblemConstraints:
    def test_it_refuses_a_duplicate_code_in_the_same_round(self, world):
        with pytest.raises(IntegrityError), transaction.atomic():
            Problem.objects.create(
                round=world.round,
                aspect=world.problem.aspect,
                track=world.problem.track,
                code="1.1",
                title="重复",
                text="重复",
                problem_type="specific",
                deadline_category="immediate",
                lead_official=world.leader,
                lead_unit=world.lead_unit,
            )

    def test_it_explains_a_duplicate_code_in_chinese(self, world):
        with pytest.raises(ValidationError) as error:
            services.problem_create(**_problem_kwargs(world, code="1.1"))
        assert "问题编号" in str(error.value)
        assert Problem.objects.count() == 1

    def test_it_requires_a_due_date_for_a_by_date_problem(self, world):
        with pytest.raises(ValidationError) as error:
            services.problem_create(**_problem_kwargs(world, due_date=None))
        assert "限期整改的问题必须填写整改时限" in str(error.value)
        with pytest.raises(IntegrityError), transaction.atomic():
            Problem.objects.filter(pk=world.problem.pk).update(due_date=None)

    def test_it_accepts_a_long_term_problem_without_due_date(self, world):
        problem = services.problem_create(
            **_problem_kwargs(world, deadline_category=DeadlineCategory.LONG_TERM, due_date=None)
        )
        assert problem.pk

    def test_it_keeps_campaigns_for_common_problems(self, world):
        campaign = services.campaign_create(
            actor=world.office, inspection_round=world.round, name="专项整治一", lead_unit=world.lead_unit
        )
        with pytest.raises(ValidationError) as error:
            services.problem_create(**_problem_kwargs(world, campaign=campaign))
        assert "只有共性问题才能纳入专项整治" in str(error.value)
        problem = services.problem_create(
            **_problem_kwargs(world, campaign=campaign, problem_type=Problem.ProblemType.COMMON)
        )
        assert problem.campaign == campaign

    def test_it_refuses_a_problem_from_another_rounds_aspect(self, world):
        other = services.round_create(
            actor=world.office,
            title="另一轮",
            inspection_team="省委第二巡视组",
            feedback_date=FEEDBACK,
            report_deadline=DEADLINE,
            track_offices={Track.Kind.GENERAL: world.lead_unit},
        )
        with pytest.raises(ValidationError):
            services.problem_create(**_problem_kwargs(world, inspection_round=other))

    def test_it_lets_only_the_office_create_problems(self, world):
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied):
            services.problem_create(**_problem_kwargs(world, actor=world.lead_staff))
        assert Problem.objects.count() == 1


@pytest.mark.django_db
class TestRoundConstraints:
    def test_it_refuses_a_deadline_before_the_feedback(self, world):
        with pytest.raises(ValidationError) as error:
            services.round_create(
                actor=world.office,
                title="错误轮次",
                inspection_team="省委第二巡视组",
                feedback_date=DEADLINE,
                report_deadline=FEEDBACK,
                track_offices={Track.Kind.GENERAL: world.lead_unit},
            )
        assert "整改报告报送期限不能早于反馈日期" in str(error.value)
        assert InspectionRound.objects.count() == 1

    def test_it_allows_each_track_once_per_round(self, world):
        with pytest.raises(IntegrityError), transaction.atomic():
            Track.objects.create(round=world.round, kind=Track.Kind.GENERAL, office_unit=world.lead_unit)


@pytest.mark.django_db
class TestMeasureConstraints:
    def test_it_caps_percent_at_100(self, world):
        with pytest.raises(IntegrityError), transaction.atomic():
            Measure.objects.filter(pk=world.resp_measure.pk).update(percent=101)

    def test_it_refuses_a_due_date_before_the_start(self, world):
        with pytest.raises(ValidationError) as error:
            services.measure_create(
                actor=world.office,
                problem=world.problem,
                code="1.1.9",
                text="倒挂的措施",
                kind=Measure.Kind.RULES,
                owner_unit=world.resp_unit,
                start_date=DEADLINE,
                due_date=FEEDBACK,
            )
        assert "完成时限不能早于开始日期" in str(error.value)

    def test_it_refuses_a_duplicate_code_within_a_problem(self, world):
        with pytest.raises(ValidationError):
            services.measure_create(
                actor=world.office,
                problem=world.problem,
                code="1.1.1",
                text="重复编号",
                kind=Measure.Kind.RULES,
                owner_unit=world.resp_unit,
                start_date=FEEDBACK,
                due_date=DEADLINE,
            )

    def test_it_lets_the_lead_unit_decompose_but_not_others(self, world):
        from django.core.exceptions import PermissionDenied

        kwargs = dict(
            problem=world.problem,
            text="牵头单位分解的措施",
            kind=Measure.Kind.RULES,
            owner_unit=world.resp_unit,
            start_date=FEEDBACK,
            due_date=DEADLINE,
        )
        measure = services.measure_create(actor=world.lead_staff, code="1.1.3", **kwargs)
        assert measure.owner_unit == world.resp_unit
        with pytest.raises(PermissionDenied):
            services.measure_create(actor=world.resp_staff, code="1.1.4", **kwargs)

    def test_it_orders_milestones_uniquely_per_measure(self, world):
        Milestone.objects.create(measure=world.resp_measure, seq=1, title="方案", due_date=datetime.date(2026, 10, 9))
        with pytest.raises(IntegrityError), transaction.atomic():
            Milestone.objects.create(
                measure=world.resp_measure, seq=1, title="重复", due_date=datetime.date(2026, 10, 9)
            )


def _many_problem(world, **overrides):
    kwargs = _problem_kwargs(world, **overrides)
    del kwargs["actor"], kwargs["inspection_round"]
    return kwargs


def _many_measure(world, **overrides):
    kwargs = dict(
        problem=world.problem,
        code="1.1.9",
        text="新措施",
        kind=Measure.Kind.RULES,
        owner_unit=world.resp_unit,
        start_date=FEEDBACK,
        due_date=datetime.date(2026, 11, 30),
    )
    kwargs.update(overrides)
    return kwargs


@pytest.mark.django_db
class TestCreatedInBulk:
    """``problem_create_many`` and ``measure_create_many`` check in Python what full_clean checks
    with a query per row, and say which item is wrong; a refused batch writes nothing."""

    def _refused(self, create, **kwargs):
        before = (Problem.objects.count(), Measure.objects.count())
        with pytest.raises(ValidationError) as error:
            create(actor=kwargs.pop("actor"), **kwargs)
        assert (Problem.objects.count(), Measure.objects.count()) == before
        return error.value.messages

    def test_it_checks_every_check_constraint_of_the_models_in_python(self):
        from django.db.models import CheckConstraint

        from rectification.services.ledger import _CHECKS

        for model in (Problem, Measure):
            names = {c.name for c in model._meta.constraints if isinstance(c, CheckConstraint)}
            assert names <= set(_CHECKS)

    def test_it_refuses_a_code_taken_in_the_round_or_twice_in_the_batch(self, world):
        taken = self._refused(
            services.problem_create_many,
            actor=world.office,
            inspection_round=world.round,
            problems=[_many_problem(world, code="9.1"), _many_problem(world, code="1.1")],
        )
        assert taken == ["问题“1.1”：包含 轮次 和 问题编号 的 反馈问题 已经存在。"]
        twice = self._refused(
            services.problem_create_many,
            actor=world.office,
            inspection_round=world.round,
            problems=[_many_problem(world, code="9.1"), _many_problem(world, code="9.1")],
        )
        assert twice == ["问题“9.1”：包含 轮次 和 问题编号 的 反馈问题 已经存在。"]

    def test_it_refuses_what_the_check_constraints_refuse(self, world):
        campaign = services.campaign_create(
            actor=world.office, inspection_round=world.round, name="专项整治一", lead_unit=world.lead_unit
        )
        assert self._refused(
            services.problem_create_many,
            actor=world.office,
            inspection_round=world.round,
            problems=[_many_problem(world, due_date=None)],
        ) == ["问题“9.9”：限期整改的问题必须填写整改时限。"]
        assert self._refused(
            services.problem_create_many,
            actor=world.office,
            inspection_round=world.round,
            problems=[_many_problem(world, campaign=campaign)],
        ) == ["问题“9.9”：只有共性问题才能纳入专项整治。"]
        assert self._refused(
            services.measure_create_many,
            actor=world.office,
            measures=[_many_measure(world, due_date=datetime.date(2026, 8, 1))],
        ) == ["措施“1.1.9”：完成时限不能早于开始日期。"]

    def test_it_refuses_what_the_fields_refuse(self, world):
        messages = self._refused(
            services.problem_create_many,
            actor=world.office,
            inspection_round=world.round,
            problems=[_many_problem(world, title="长" * 201)],
        )
        # Django's own messages, after the item's name.
        assert len(messages) == 1 and messages[0].startswith("问题“9.9”：") and "200" in messages[0]
        messages = self._refused(
            services.measure_create_many, actor=world.office, measures=[_many_measure(world, kind="someday")]
        )
        assert len(messages) == 1 and messages[0].startswith("措施“1.1.9”：") and "someday" in messages[0]

    def test_it_refuses_a_measure_code_taken_in_its_problem_or_due_after_the_problem(self, world):
        assert self._refused(
            services.measure_create_many, actor=world.office, measures=[_many_measure(world, code="1.1.1")]
        ) == ["措施“1.1.1”：包含 问题 和 措施编号 的 整改措施 已经存在。"]
        assert self._refused(
            services.measure_create_many,
            actor=world.office,
            measures=[_many_measure(world, due_date=datetime.date(2027, 1, 31))],
        ) == ["措施“1.1.9”：措施完成时限（2027-01-31）不能晚于问题的整改时限（2026-12-31）。"]

    def test_it_lets_only_the_office_create_problems_and_the_lead_unit_decompose(self, world):
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied):
            services.problem_create_many(
                actor=world.lead_staff, inspection_round=world.round, problems=[_many_problem(world)]
            )
        with pytest.raises(PermissionDenied):
            services.measure_create_many(actor=world.resp_staff, measures=[_many_measure(world)])
        (measure,) = services.measure_create_many(actor=world.lead_staff, measures=[_many_measure(world)])
        assert measure.problem == world.problem and Measure.objects.filter(pk=measure.pk).exists()
