"""Response headers and templates under the content security policy."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.urls import reverse

from accounts.middleware import NoStoreMiddleware
from rectification import services

ROOT = Path(__file__).resolve().parent.parent
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)
# What the policy would block: inline scripts, inline styles, event handler attributes, javascript: URLs.
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "event handler attribute"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]


def _template_files():
    folders = [ROOT / "templates", *ROOT.glob("*/templates")]
    return sorted(path for folder in folders for path in folder.rglob("*.html"))


class TestTemplates:
    def test_it_finds_the_templates(self):
        assert len(_template_files()) > 10

    @pytest.mark.parametrize("path", _template_files(), ids=lambda p: str(p.relative_to(ROOT)))
    def test_it_has_nothing_the_policy_would_block(self, path):
        text = path.read_text(encoding="utf-8")
        found = [label for pattern, label in INLINE if pattern.search(text)]
        assert found == [], f"{path.relative_to(ROOT)}: {', '.join(found)}"


@pytest.mark.django_db
class TestHeaders:
    def test_it_sends_the_policy_on_every_page(self, world, client):
        assert settings.CONTENT_SECURITY_POLICY == POLICY
        assert client.get(reverse("accounts:login"))["Content-Security-Policy"] == POLICY
        client.force_login(world.office)
        response = client.get(reverse("rectification:problem_list"))
        assert response["Content-Security-Policy"] == POLICY
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"

    def test_it_sends_it_on_errors_too(self, world, client):
        client.force_login(world.outsider)
        response = client.get(world.problem.get_absolute_url())
        assert response.status_code == 404
        assert response["Content-Security-Policy"] == POLICY

    def test_it_leaves_the_stricter_policy_of_downloads(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        evidence = services.evidence_upload(
            actor=world.resp_staff,
            measure=world.resp_measure,
            uploaded=SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%%EOF\n"),
            kind="receipt",
        )
        client.force_login(world.resp_staff)
        response = client.get(reverse("rectification:evidence_download", args=[evidence.pk]))
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"

    def test_it_marks_session_and_csrf_cookies_http_only(self, world, client):
        client.get(reverse("accounts:login"))
        client.post(reverse("accounts:login"), {"username": "office", "password": "Ceshi@2026pass"})
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        assert cookie["httponly"]
        assert cookie["samesite"] == "Lax"
        # Expires with the browser: no max-age.
        assert not cookie["max-age"]


def _no_store(response):
    return response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"


@pytest.mark.django_db
class TestNoStore:
    """Nothing shown to a signed-in person, and no download, stays in a browser's or a proxy's cache."""

    def test_it_keeps_pages_of_a_signed_in_person_out_of_caches(self, world, client):
        client.force_login(world.office)
        assert _no_store(client.get(reverse("rectification:problem_list")))
        assert _no_store(client.get(world.problem.get_absolute_url()))

    def test_it_keeps_refusals_and_redirects_of_a_signed_in_person_out_of_caches_too(self, world, client):
        client.force_login(world.outsider)
        response = client.get(world.problem.get_absolute_url())
        assert response.status_code == 404
        assert _no_store(response)

    def test_it_keeps_an_evidence_download_out_of_caches(self, world, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        evidence = services.evidence_upload(
            actor=world.resp_staff,
            measure=world.resp_measure,
            uploaded=SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%%EOF\n"),
            kind="receipt",
        )
        client.force_login(world.resp_staff)
        response = client.get(reverse("rectification:evidence_download", args=[evidence.pk]))
        assert response.status_code == 200
        assert _no_store(response)

    def test_it_keeps_an_export_out_of_caches(self, world, client):
        client.force_login(world.office)
        response = client.get(reverse("rectification:excel:ledger", args=[world.round.pk]))
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        assert _no_store(response)

    def test_it_keeps_the_audit_export_out_of_caches(self, world, client):
        client.force_login(world.auditadmin)
        response = client.get(reverse("accounts:audit_export"), {"format": "csv"})
        assert response.status_code == 200
        assert _no_store(response)

    def test_it_keeps_a_download_out_of_caches_even_for_no_one_signed_in(self, rf):
        def download(request):
            response = HttpResponse(b"x")
            response["Content-Disposition"] = 'attachment; filename="a.csv"'
            return response

        request = rf.get("/")
        request.user = AnonymousUser()
        assert _no_store(NoStoreMiddleware(download)(request))
        assert "Cache-Control" not in NoStoreMiddleware(lambda request: HttpResponse(b"x"))(request)

    def test_it_leaves_the_caching_a_response_chose(self, world, rf):
        def health(request):
            response = HttpResponse(b"ok")
            response["Cache-Control"] = "max-age=0, no-cache"
            return response

        request = rf.get("/")
        request.user = world.office
        assert NoStoreMiddleware(health)(request)["Cache-Control"] == "max-age=0, no-cache"
