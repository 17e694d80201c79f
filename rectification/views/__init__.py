"""Views, one module per domain concept; ``urls.py`` refers to them as ``views.<name>``."""

from .ledger import (  # noqa: F401
    home,
    problem_list,
    problem_detail,
    measure_detail,
)
from .unitwork import (  # noqa: F401
    worklist,
    report_week,
    report_confirm,
    report_return,
    report_correct,
    led_reports,
    evidence_download,
    measure_evidence_upload,
    milestone_done,
    coordination_list,
    coordination_resolve,
    notifications,
    notifications_read,
)
from .closeout import (  # noqa: F401
    measure_closeout_apply,
    problem_closeout_apply,
    closeout_detail,
    closeout_decide,
    closeout_reopen,
    closeout_pending,
    problem_records,
)
from .cycle import (  # noqa: F401
    cycle_list,
    cycle_detail,
    cycle_rerun,
    unit_dispatch,
    notice_list,
    notice_reply,
    penalty_list,
    penalty_decide,
    snapshot_package,
)
from .dashboards import (  # noqa: F401
    dashboard,
    leader_dashboard,
    measure_list,
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
