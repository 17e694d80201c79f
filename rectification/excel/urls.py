from django.urls import path

from . import views

app_name = "excel"

urlpatterns = [
    path("", views.index, name="index"),
    path("rounds/<int:round_id>/ledger.xlsx", views.ledger, name="ledger"),
    path("rounds/<int:round_id>/weekly.xlsx", views.weekly, name="weekly"),
    path("rounds/<int:round_id>/statistics.xlsx", views.statistics, name="statistics"),
    path("rounds/<int:round_id>/units/<int:unit_id>/tasks.xlsx", views.unit_tasks, name="unit_tasks"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<int:pk>/", views.job_download, name="job_download"),
    path("import/", views.import_upload, name="import_upload"),
    path("import/confirm/", views.import_confirm, name="import_confirm"),
]
