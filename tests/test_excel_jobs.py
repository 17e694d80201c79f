"""Large exports run in the background, show their progress, and only the asker downloads them."""

import io

import openpyxl
import pytest
from django.urls import reverse

from rectification.models import ExportJob
from rectification.services import export_jobs as jobs


@pytest.fixture
def small_threshold(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.EXPORT_BACKGROUND_MEASURES = 1


@pytest.mark.django_db
class TestBackgroundExport:
    def test_it_sends_a_large_export_to_the_background_and_lists_it(self, world, client, small_threshold):
        client.force_login(world.office)
        response = client.get(reverse("rectification:excel:ledger", args=[world.round.pk]), follow=True)
        assert "正在后台生成" in response.content.decode()
        job = ExportJob.objects.get()
        assert (job.requested_by, job.state, job.kind) == (world.office, "queued", "ledger")
        # The worker's part, called here directly (tests/test_celery_worker.py runs a real worker).
        jobs.export_job_run(job.pk)
        job.refresh_from_db()
        assert (job.state, job.progress) == ("done", 100)
        page = client.get(reverse("rectification:excel:jobs")).content.decode()
        assert "已完成" in page and "下载" in page
        download = client.get(reverse("rectification:excel:job_download", args=[job.pk]))
        workbook = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True)
        assert "问题清单" in workbook.sheetnames
        workbook.close()

    def test_it_keeps_small_exports_immediate(self, world, client, settings):
        settings.EXPORT_BACKGROUND_MEASURES = 1000
        client.force_login(world.office)
        response = client.get(reverse("rectification:excel:ledger", args=[world.round.pk]))
        assert response["Content-Disposition"].startswith("attachment")
        assert not ExportJob.objects.exists()

    def test_it_builds_a_unit_users_file_with_their_own_rights_only(self, world, client, small_threshold):
        client.force_login(world.resp_staff)
        client.get(reverse("rectification:excel:ledger", args=[world.round.pk]))
        job = ExportJob.objects.get()
        jobs.export_job_run(job.pk)
        download = client.get(reverse("rectification:excel:job_download", args=[job.pk]))
        workbook = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True)
        cells = {c for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for c in row if c}
        workbook.close()
        assert "全面清理违规发放的津贴补贴" in cells
        assert "镇街自查自纠" in cells  # same problem: a responsible unit sees its sibling measures
        client.force_login(world.outsider)
        assert client.get(reverse("rectification:excel:job_download", args=[job.pk])).status_code == 404
        assert "暂无后台导出" in client.get(reverse("rectification:excel:jobs")).content.decode()

    def test_it_runs_a_job_only_once_and_sweeps_jobs_a_dead_broker_left(self, world, small_threshold):
        import datetime

        from django.utils import timezone

        job = ExportJob.objects.create(
            requested_by=world.office, round=world.round, kind="weekly", params={"iso_year": 2026, "iso_week": 48}
        )
        assert jobs.export_jobs_sweep() == []  # not stale yet
        assert jobs.export_jobs_sweep(now=timezone.now() + datetime.timedelta(minutes=5)) == [job.pk]
        assert jobs.export_job_run(job.pk) is None
        job.refresh_from_db()
        assert job.state == "done" and job.file_name.endswith(".xlsx")

    def test_it_refuses_the_wrong_method(self, world, client):
        client.force_login(world.office)
        assert client.post(reverse("rectification:excel:jobs")).status_code == 405
