from django.urls import path

from . import views

app_name = "rectification"

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("leader/", views.leader_dashboard, name="leader"),
    path("measures/", views.measure_list, name="measure_list"),
    path("problems/", views.problem_list, name="problem_list"),
    path("problems/<int:pk>/", views.problem_detail, name="problem_detail"),
    path("measures/<int:pk>/", views.measure_detail, name="measure_detail"),
    path("measures/<int:pk>/evidence/", views.measure_evidence_upload, name="measure_evidence_upload"),
    path("milestones/<int:pk>/done/", views.milestone_done, name="milestone_done"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence_download"),
    path("unit/", views.worklist, name="worklist"),
    path("unit/report/", views.report_week, name="report_week"),
    path("unit/report/confirm/", views.report_confirm, name="report_confirm"),
    path("unit/report/return/", views.report_return, name="report_return"),
    path("reports/<int:pk>/correct/", views.report_correct, name="report_correct"),
    path("lead/reports/", views.led_reports, name="led_reports"),
    path("coordination/", views.coordination_list, name="coordination_list"),
    path("coordination/<int:pk>/resolve/", views.coordination_resolve, name="coordination_resolve"),
    path("measures/<int:pk>/closeout/", views.measure_closeout_apply, name="measure_closeout_apply"),
    path("problems/<int:pk>/closeout/", views.problem_closeout_apply, name="problem_closeout_apply"),
    path("problems/<int:pk>/records/", views.problem_records, name="problem_records"),
    path("closeout/pending/", views.closeout_pending, name="closeout_pending"),
    path("closeout/<int:pk>/", views.closeout_detail, name="closeout_detail"),
    path("closeout/<int:pk>/decide/", views.closeout_decide, name="closeout_decide"),
    path("closeout/<int:pk>/reopen/", views.closeout_reopen, name="closeout_reopen"),
    path("cycles/", views.cycle_list, name="cycle_list"),
    path("cycles/<int:pk>/", views.cycle_detail, name="cycle_detail"),
    path("cycles/<int:pk>/rerun/", views.cycle_rerun, name="cycle_rerun"),
    path("unit/dispatch/", views.unit_dispatch, name="unit_dispatch"),
    path("notices/", views.notice_list, name="notice_list"),
    path("notices/<int:pk>/reply/", views.notice_reply, name="notice_reply"),
    path("penalties/", views.penalty_list, name="penalty_list"),
    path("penalties/<int:pk>/decide/", views.penalty_decide, name="penalty_decide"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]
