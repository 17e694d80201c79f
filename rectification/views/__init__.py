"""Views, one module per domain concept; ``urls.py`` refers to them as ``views.<name>``."""

from .calendar import (  # noqa: F401
    calendar_day_delete,
    calendar_holidays_add,
    calendar_workday_add,
    calendar_year,
    calendar_year_confirm,
    calendar_years,
)
from .channels import (  # noqa: F401
    channel_setup,
    channel_setup_save,
    channel_test,
    deliveries_by_unit,
    group_robot_delete,
    group_robot_edit,
    group_robot_test,
)
from .closeout import (  # noqa: F401
    closeout_decide,
    closeout_detail,
    closeout_pending,
    closeout_reopen,
    measure_closeout_apply,
    problem_closeout_apply,
    problem_records,
)
from .cycle import (  # noqa: F401
    cycle_detail,
    cycle_list,
    cycle_rerun,
    notice_list,
    notice_reply,
    penalty_decide,
    penalty_list,
    snapshot_package,
    unit_dispatch,
)
from .dashboards import (  # noqa: F401
    dashboard,
    leader_dashboard,
    measure_list,
    review_stuck,
)
from .documents import (  # noqa: F401
    briefing_draft,
    briefing_final,
    briefing_upload,
    document_profile,
    final_report,
    final_report_final,
    final_report_release,
    final_report_upload,
)
from .followup import (  # noqa: F401
    criteria_ask,
    criteria_missing_list,
    unclaimed_list,
)
from .help import guide_dismiss, help_chapter, help_image, help_index  # noqa: F401
from .ledger import (  # noqa: F401
    home,
    measure_detail,
    problem_detail,
    problem_list,
)
from .maintenance import (  # noqa: F401
    battle_board,
    campaign_create,
    campaign_detail,
    campaign_edit,
    campaign_list,
    leader_handover,
    problem_edit,
)
from .records import (  # noqa: F401
    meeting_list,
    penalties_confirm,
    penalty_deductions,
    penalty_new,
    petition_list,
    record_file_download,
    records_index,
    release_figures,
    release_list,
    secretary_events,
    secretary_problems,
    snapshot_release,
    visit_list,
)
from .setup import (  # noqa: F401
    change_request_decide,
    measure_change_request,
    measure_claim,
    measure_reassign,
    measure_setup_action,
    milestone_edit,
    problem_battle_map,
    problem_create,
    problem_decompose,
    round_create,
    round_list,
    round_setup,
    unit_claims,
)
from .unitwork import (  # noqa: F401
    coordination_list,
    coordination_resolve,
    deliveries,
    delivery_resend,
    evidence_download,
    led_reports,
    measure_evidence_upload,
    milestone_done,
    milestone_waive,
    notification_open,
    notifications,
    notifications_read,
    report_confirm,
    report_correct,
    report_return,
    report_review,
    report_week,
    worklist,
)
