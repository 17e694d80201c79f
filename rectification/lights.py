"""The warning light (预警) and expected progress of a measure, derived, never stored.

- red: overdue, or a milestone more than a week overdue;
- yellow: due within 7 days, or a milestone overdue;
- grey: started but no confirmed update for 7 days or more (stalled);
- green: everything else.
Closed and completed measures are always green.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CloseOutState, ProgressState

DUE_SOON_DAYS = 7
STALLED_DAYS = 7
# Reported percent this far below the expected line counts as 滞后 (behind schedule).
BEHIND_MARGIN = 20


@dataclass(frozen=True)
class Light:
    code: str
    label: str
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
