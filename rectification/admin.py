from django.contrib import admin

from accounts.admin import OfficeOnlyAdmin

from . import models
from .access import permissions_sync_for_problem
from .services.audit import audit_label


class FindingsAdmin(OfficeOnlyAdmin):
    """The audit row of a change made here names the object by its code, never by its text."""

    def audit_label(self, obj):
        return audit_label(obj)


class ManifestationInline(admin.TabularInline):
    model = models.Manifestation
    extra = 0


class CriterionInline(admin.TabularInline):
    model = models.AcceptanceCriterion
    extra = 0
    fields = ["seq", "text", "measure"]


class MilestoneInline(admin.TabularInline):
    model = models.Milestone
    extra = 0


class LedgerAdmin(FindingsAdmin):
    """Edits made here still move access rights (and, like every admin edit, leave an audit row)."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        permissions_sync_for_problem(obj if isinstance(obj, models.Problem) else obj.problem)


@admin.register(models.InspectionRound)
class InspectionRoundAdmin(FindingsAdmin):
    list_display = ["title", "kind", "inspection_team", "feedback_date", "report_deadline"]


@admin.register(models.Track)
class TrackAdmin(FindingsAdmin):
    # Who runs a track's office decides who reads its findings: the values are recorded.
    audited_values = ("office_unit",)
    list_display = ["round", "kind", "office_unit"]
    list_filter = ["round", "kind"]


@admin.register(models.Aspect)
class AspectAdmin(FindingsAdmin):
    list_display = ["round", "seq", "title"]


@admin.register(models.Campaign)
class CampaignAdmin(FindingsAdmin):
    list_display = ["round", "name", "lead_unit"]


@admin.register(models.Problem)
class ProblemAdmin(LedgerAdmin):
    list_display = ["code", "title", "track", "lead_unit", "lead_official", "progress_state", "closeout_state"]
    list_filter = ["round", "track__kind", "problem_type", "deadline_category", "closeout_state"]
    search_fields = ["code", "title", "text"]
    autocomplete_fields = ["lead_official", "lead_unit", "responsible_units", "responsible_leaders"]
    # States change only through the workflow services, never by hand.
    readonly_fields = ["progress_state", "closeout_state"]
    inlines = [ManifestationInline, CriterionInline]


@admin.register(models.Measure)
class MeasureAdmin(LedgerAdmin):
    list_display = ["code", "problem", "kind", "owner_unit", "due_date", "percent", "closeout_state"]
    list_filter = ["kind", "closeout_state", "progress_state"]
    search_fields = ["code", "text", "problem__code"]
    autocomplete_fields = ["problem", "owner_unit"]
    readonly_fields = ["progress_state", "closeout_state", "percent", "latest_progress", "last_reported_at"]
    inlines = [MilestoneInline]
