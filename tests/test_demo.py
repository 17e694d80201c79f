"""The demo district: realistic in size, consistent, and loaded only once."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from accounts import audit_catalogue
from accounts.models import Unit, User
from rectification.access import measures_visible_to, problems_visible_to
from rectification.demo import DEMO_ROUND_TITLE
from rectification.models import InspectionRound, Measure, Milestone, Problem, Track

TODAY = datetime.date(2026, 11, 26)


@pytest.fixture
def demo(db, settings, tmp_path):
    # The demo walks close-outs through the real services, which store evidence files.
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestLoadDemo:
    # Building the district takes seconds, so one test checks everything about one build.
    def test_it_builds_a_realistic_consistent_district(self, demo, client):
        self._keeps_every_finding_text_out_of_the_auditors_pages_and_export(client)
        self._prints_the_demo_logins(demo)
        self._has_a_realistic_size()
        self._puts_every_due_date_before_the_report_deadline()
        self._has_history_to_show()
        self._tells_one_story_week_by_week(client)
        self._gives_the_featured_units_their_own_work()

    def _finding_texts(self):
        from rectification.models import (
            AcceptanceCriterion,
            CloseOutRequest,
            CoordinationItem,
            Manifestation,
            Measure,
            Problem,
            ProgressReport,
            SignOffStep,
        )

        texts = set()
        texts.update(Problem.objects.values_list("title", flat=True))
        texts.update(Problem.objects.values_list("text", flat=True))
        texts.update(Manifestation.objects.values_list("text", flat=True))
        texts.update(AcceptanceCriterion.objects.values_list("text", flat=True))
        texts.update(t[:30] for t in Measure.objects.values_list("text", flat=True))
        texts.update(CloseOutRequest.objects.values_list("statement", flat=True))
        texts.update(SignOffStep.objects.values_list("comment", flat=True))
        texts.update(CoordinationItem.objects.values_list("text", flat=True))
        for fields in ProgressReport.objects.values_list("progress_this_week", "next_week_plan", "difficulties"):
            texts.update(fields)
        # Short texts ("同意") say nothing of a finding and also occur in ordinary words.
        return {text for text in texts if len(text) >= 8}

    def _keeps_every_finding_text_out_of_the_auditors_pages_and_export(self, client):
        # 三员分立: the audit administrator reads every audit row and may read no finding. Before,
        # the rows kept the whole text of measures, problems, applications, comments and replies in
        # their object names and changes, and the auditor could search and export them.
        from django.urls import reverse

        from accounts.models import AuditEvent

        texts = self._finding_texts()
        assert len(texts) > 300
        client.force_login(User.objects.get(username="sjgly"))
        export = client.get(reverse("accounts:audit_export"), {"format": "csv"})
        assert export.status_code == 200
        content = b"".join(export.streaming_content) if export.streaming else export.content
        exported = content.decode("utf-8-sig")
        assert AuditEvent.objects.count() > 500 and exported.count("\n") > 500
        # The Excel file, read back cell by cell, the main export of the page.
        workbook = load_workbook(io.BytesIO(client.get(reverse("accounts:audit_export")).content))
        cells = [str(cell) for row in workbook["审计日志"].iter_rows(values_only=True) for cell in row if cell]
        assert len(cells) > 500 * 8
        spreadsheet = "\n".join(cells)
        pages = [client.get(reverse("accounts:audit_log"), {"page": n}).content.decode() for n in range(1, 4)]
        leaked = [
            text for text in texts if text in exported or text in spreadsheet or any(text in page for page in pages)
        ]
        assert leaked == []
        # Every act of the demo has a Chinese name, and every object a Chinese type.
        written = AuditEvent.objects.values_list("action", "target_type").distinct()
        assert [action for action, _type in written if audit_catalogue.action_info(action) is None] == []
        assert [t for _action, t in written if audit_catalogue.object_type_label(t) == t] == []
        assert "（文字已隐去，共" in spreadsheet and "（文字已隐去，共" in pages[-1]
        # What the auditor does see: who did what to which object, by code, and that text changed.
        applied = AuditEvent.objects.filter(action="closeout.apply").first()
        assert applied.target_repr.endswith("申请（第1次）")
        decided = AuditEvent.objects.filter(action="closeout.lead_unit.approved").first()
        assert set(decided.changes["comment"]) == {"sha256", "length"}
        created = AuditEvent.objects.filter(action="measure.create").first()
        assert created.target_repr.startswith("整改措施 ") and created.changes["code"] in created.target_repr

    def _prints_the_demo_logins(self, demo):
        for username in ("zgb", "ld01", "czj_lly", "czj_fzr", "cgjd_lly", "cgjd_fzr", "sxsz"):
            assert username in demo
        assert "密码" in demo

    def _has_a_realistic_size(self):
        current = InspectionRound.objects.get(title=DEMO_ROUND_TITLE)
        assert 40 <= Unit.objects.count() <= 50
        assert set(Unit.objects.values_list("level", flat=True)) == {"organ", "department", "township", "village"}
        assert User.objects.filter(groups__name="role:leader").count() == 16
        assert current.aspects.count() == 5
        assert current.problems.count() == 30
        assert 140 <= Measure.objects.filter(problem__round=current).count() <= 160
        assert {t.kind for t in current.tracks.all()} == set(Track.Kind.values)
        assert current.problems.filter(previous_problem__isnull=False).count() == 4
        assert current.problems.exclude(campaign=None).count() >= 3

    def _puts_every_due_date_before_the_report_deadline(self):
        current = InspectionRound.objects.get(title=DEMO_ROUND_TITLE)
        assert 35 <= (current.report_deadline - timezone.localdate()).days <= 45
        assert not Measure.objects.filter(problem__round=current, due_date__gt=current.report_deadline).exists()
        for measure in Measure.objects.filter(problem__round=current).prefetch_related("milestones"):
            dates = [m.due_date for m in measure.milestones.all()]
            assert dates == sorted(dates)
            assert measure.start_date <= dates[0] and dates[-1] <= measure.due_date

    def _has_history_to_show(self):
        current = InspectionRound.objects.get(title=DEMO_ROUND_TITLE)
        measures = Measure.objects.filter(problem__round=current)
        assert measures.filter(percent__gt=0).exists()
        assert measures.filter(closeout_state="closed").exists()
        # Every closed measure carries its whole signed chain.
        for measure in measures.filter(closeout_state="closed"):
            steps = [s.step for s in measure.closeouts.get().steps.all()]
            assert steps[0] == "apply" and steps[-1] == "office"
        assert Milestone.objects.filter(measure__in=measures, done_on__isnull=False).exists()

    def _tells_one_story_week_by_week(self, client):
        from rectification.models import ProgressReport, WeeklyCycle, WeeklySnapshot
        from rectification.workdays import iso_week_of

        current = InspectionRound.objects.get(title=DEMO_ROUND_TITLE)
        # Several past weeks of cycles, each with its frozen snapshot: the trend has a line, and the
        # closed count never goes down from one week to the next.
        snapshots = list(
            WeeklySnapshot.objects.filter(cycle__round=current).order_by("cycle__iso_year", "cycle__iso_week")
        )
        assert len(snapshots) >= 4
        closed = [s.measures_closed for s in snapshots]
        assert closed == sorted(closed) and closed[0] < closed[-1]
        for snapshot in snapshots:
            figures = snapshot.figures["measures"]
            assert figures["by_closeout"].get("closed", 0) == figures["closed"] == snapshot.measures_closed
            assert sum(figures["by_closeout"].values()) == figures["total"]
        office = User.objects.get(username="zgb")
        client.force_login(office)
        page = client.get("/dashboard/", {"round": current.pk})
        assert len(page.context["d"]["trend"]) == len(snapshots)
        assert "<polyline" in page.content.decode()
        # This week's steps are those due by now, no more: nothing later than the clock has run.
        this_year, this_week = iso_week_of(timezone.localdate())
        for cycle in WeeklyCycle.objects.filter(round=current, iso_year=this_year, iso_week=this_week):
            for step in ("dispatch", "remind_eve", "remind_day", "collect", "summary"):
                from rectification.services import step_due_at

                if step_due_at(current, this_year, this_week, step) > timezone.now():
                    assert getattr(cycle, f"{step}_state") == "pending", step
        # A week's text goes with its percent and state: never "全部完成" short of 100%.
        for report in ProgressReport.objects.filter(measure__problem__round=current):
            finished = "全部完成" in report.progress_this_week
            assert finished == (report.percent == 100), (report.percent, report.progress_this_week)
            assert (report.cumulative_state == "completed") == (report.percent == 100)
        for measure in Measure.objects.filter(problem__round=current, percent__gt=0):
            assert ("全部完成" in measure.latest_progress) == (measure.percent == 100), measure.code

    def test_it_does_not_duplicate_when_run_twice(self, demo):
        counts = (Unit.objects.count(), User.objects.count(), Problem.objects.count(), Measure.objects.count())
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        assert "此前已载入" in out.getvalue()
        assert (Unit.objects.count(), User.objects.count(), Problem.objects.count(), Measure.objects.count()) == counts

    def _gives_the_featured_units_their_own_work(self):
        liaison = User.objects.get(username="czj_lly")
        other = User.objects.get(username="cgjd_lly")
        own = set(measures_visible_to(liaison).filter(owner_unit=liaison.unit))
        assert len(own) >= 6
        # Everything the township sees is on a problem its unit takes part in, and it does not
        # see all of the finance bureau's work.
        for measure in measures_visible_to(other).select_related("problem"):
            problem = measure.problem
            involved = {problem.lead_unit_id, *problem.responsible_units.values_list("id", flat=True)}
            involved |= set(problem.measures.values_list("owner_unit_id", flat=True))
            assert other.unit_id in involved
        assert not own <= set(measures_visible_to(other))
        assert problems_visible_to(User.objects.get(username="xtgly")).count() == 0
        assert problems_visible_to(User.objects.get(username="sxsz")).count() == Problem.objects.count()
