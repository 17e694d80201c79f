"""Every error a user can meet is a Chinese page, in the demo (DEBUG on) as in production: 403,
404, 400, 500, a form refused for its CSRF token, and too many wrong passwords. Django's English
debug pages (which list every URL or show the source code) appear only when a developer asks."""

import pytest
from django.core.exceptions import SuspiciousOperation
from django.test import Client
from django.urls import path, reverse

from config.urls import urlpatterns as project_urls

from .conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_error_pages")]


def failing_page(request):
    raise RuntimeError("数据库连接中断（测试）")


def tampered_request(request):
    raise SuspiciousOperation("tampered")


# The project's URLs plus two pages that fail the way a bug or a forged request would.
urlpatterns = [
    path("test-failing-page/", failing_page),
    path("test-tampered-request/", tampered_request),
    *project_urls,
]

DEBUG_MARKERS = ("Traceback", "Using the URLconf defined in", "RuntimeError", "CSRF verification failed")
MODES = ["demo", "production"]


@pytest.fixture(params=MODES)
def mode(request, settings):
    settings.DEBUG = request.param == "demo"
    settings.DEBUG_TECHNICAL_404 = False
    settings.DEBUG_TECHNICAL_500 = False
    return request.param


def _chinese_page(response, status, heading):
    page = response.content.decode()
    assert response.status_code == status
    assert heading in page
    assert '<html lang="zh-CN">' in page
    for marker in DEBUG_MARKERS:
        assert marker not in page
    return page


class TestErrorPagesInEveryMode:
    def test_it_shows_the_chinese_404_page(self, mode, world, client):
        client.force_login(world.resp_staff)
        page = _chinese_page(client.get("/no-such-page/"), 404, "页面不存在，或您无权查看")
        assert "返回首页" in page

    def test_it_shows_the_chinese_403_page_with_the_reason(self, mode, world, client):
        # The audit log is the audit administrator's; a liaison is refused and told whose it is.
        client.force_login(world.resp_staff)
        response = client.get(reverse("accounts:audit_log"))
        page = _chinese_page(response, 403, "您无权进行此项操作")
        assert "该操作仅限审计管理员" in page
        # A refused submission says how to keep what was typed.
        assert "后退" not in page
        refused = client.post(reverse("accounts:security_unlock"), {"username": "resp_lly"})
        assert "后退" in _chinese_page(refused, 403, "您无权进行此项操作")
        assert "返回首页" in page

    def test_it_shows_the_chinese_500_page_and_logs_the_error(self, mode, world, caplog):
        client = Client(raise_request_exception=False)
        client.force_login(world.resp_staff)
        page = _chinese_page(client.get("/test-failing-page/"), 500, "系统出错，请稍后再试")
        assert "数据库连接中断" not in page
        assert "返回首页" in page
        assert any(record.exc_info and "数据库连接中断" in str(record.exc_info[1]) for record in caplog.records)

    def test_it_shows_the_chinese_400_page(self, mode, world):
        client = Client(raise_request_exception=False)
        client.force_login(world.resp_staff)
        page = _chinese_page(client.get("/test-tampered-request/"), 400, "请求有误，系统无法处理")
        assert "tampered" not in page

    def test_it_shows_the_chinese_page_for_a_form_without_its_csrf_token(self, mode, world):
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.resp_staff)
        response = client.post(reverse("rectification:notifications_read"), {})
        page = _chinese_page(response, 403, "页面已过期，请刷新后重新提交")
        # It tells how to keep what was typed, and the signed-in menu is there.
        assert "后退" in page and "复制" in page
        assert "退出" in page

    def test_it_shows_the_csrf_page_with_a_way_back_to_the_login(self, mode, world):
        client = Client(enforce_csrf_checks=True)
        response = client.post(reverse("accounts:login"), {"username": "resp_lly", "password": PASSWORD})
        page = _chinese_page(response, 403, "页面已过期，请刷新后重新提交")
        assert reverse("accounts:login") in page

    def test_it_warns_before_the_last_attempt_and_then_shows_the_lockout(self, mode, world, client):
        login = reverse("accounts:login")
        for _ in range(3):
            page = client.post(login, {"username": "resp_lly", "password": "wrong"}).content.decode()
            assert "再输错 1 次" not in page
        page = client.post(login, {"username": "resp_lly", "password": "wrong"}).content.decode()
        assert "再输错 1 次，账号“resp_lly”在本地址将被锁定 30 分钟" in page
        response = client.post(login, {"username": "resp_lly", "password": "wrong"})
        page = _chinese_page(response, 429, "在本地址因连续 5 次登录失败已被锁定")
        assert "30 分钟后再试" in page


class TestDeveloperDebugPages:
    def test_a_developer_can_ask_for_the_debug_page_of_a_failure(self, settings, world):
        settings.DEBUG = True
        settings.DEBUG_TECHNICAL_500 = True
        client = Client(raise_request_exception=False)
        response = client.get("/test-failing-page/")
        assert response.status_code == 500
        assert "RuntimeError" in response.content.decode()
