"""The warning light (预警) and expected progress of a measure, derived, never stored.

- red: overdue, or a milestone more than a week overdue;
- yellow: due within 7 days, or a milestone overdue;
- grey: started but no confirmed update for 7 days or more (stalled);
- green: everything else.
Closed and completed measures are always green.
"""

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CloseOutState, ProgressState

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DUE_SOON_DAYS = 7
STALLED_DAYS = 7
# Reported percent this far below the expected line counts as 滞后 (behind schedule).
BEHIND_MARGIN = 20


@dataclass(frozen=True)
class Light:
    code: str
    label: "StrOrPromise"
    rank: int  # lower is more urgent, for sorting a worklist


RED = Light("red", _("逾期"), 0)
YELLOW = Light("yellow", _("临期"), 1)
GREY = Light("grey", _("停滞"), 2)
GREEN = Light("green", _("正常"), 3)
LIGHTS = (RED, YELLOW, GREY, GREEN)


def expected_percent(measure, today):
    """Linear from the start date (0%) to the due date (100%)."""
    span = (measure.due_date - measure.start_date).days
    if span <= 0:
        return 100 if today >= measure.due_date else 0
    elapsed = (today - measure.start_date).days
    return max(0, min(100, round(100 * elapsed / span)))


def is_behind(measure, today):
    return measure.percent + BEHIND_MARGIN < expected_percent(measure, today)


def measure_light(measure, today, *, oldest_open_milestone_due=None, now=None):
    """The light of one measure; ``oldest_open_milestone_due`` is the earliest undone milestone's date."""
    if measure.closeout_state == CloseOutState.CLOSED or measure.progress_state == ProgressState.COMPLETED:
        return GREEN
    if measure.due_date < today:
        return RED
    if oldest_open_milestone_due is not None and oldest_open_milestone_due < today:
        late_by = (today - oldest_open_milestone_due).days
        return RED if late_by > DUE_SOON_DAYS else YELLOW
    if (measure.due_date - today).days <= DUE_SOON_DAYS:
        return YELLOW
    if measure.start_date <= today - datetime.timedelta(days=STALLED_DAYS):
        last = measure.last_reported_at
        if last is None or (today - timezone.localtime(last).date()).days >= STALLED_DAYS:
            return GREY
    return GREEN


def light_q(light_code, today):
    """The same rule as ``measure_light``, as a database filter over open measures.

    Lets a list page filter by light in SQL instead of collecting ids in Python; a test checks
    that both forms agree on every measure.
    """
    from django.db.models import Exists, OuterRef, Q

    from .models import Milestone

    week = datetime.timedelta(days=DUE_SOON_DAYS)
    finished = Q(closeout_state=CloseOutState.CLOSED) | Q(progress_state=ProgressState.COMPLETED)
    late_milestone = Exists(Milestone.objects.open().filter(measure=OuterRef("pk"), due_date__lt=today))
    very_late_milestone = Exists(Milestone.objects.open().filter(measure=OuterRef("pk"), due_date__lt=today - week))
    red = ~finished & (Q(due_date__lt=today) | very_late_milestone)
    yellow = ~finished & ~red & (late_milestone | Q(due_date__lte=today + week))
    stale_since = timezone.make_aware(
        datetime.datetime.combine(today - datetime.timedelta(days=STALLED_DAYS - 1), datetime.time())
    )
    grey = (
        ~finished
        & ~red
        & ~yellow
        & Q(start_date__lte=today - datetime.timedelta(days=STALLED_DAYS))
        & (Q(last_reported_at__isnull=True) | Q(last_reported_at__lt=stale_since))
    )
    return {"red": red, "yellow": yellow, "grey": grey, "green": ~red & ~yellow & ~grey}[light_code]


def with_oldest_open_milestone(measures):
    """Annotate ``oldest_open_milestone``: the earliest undone milestone's date, for ``measure_light``."""
    from django.db.models import OuterRef, Subquery

    from .models import Milestone

    oldest = Milestone.objects.open().filter(measure=OuterRef("pk")).order_by("due_date")
    return measures.annotate(oldest_open_milestone=Subquery(oldest.values("due_date")[:1]))
