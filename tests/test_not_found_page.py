"""A wrong address in the demo (DEBUG on) shows the project's Chinese 404 page, not Django's English
debug page with the list of every URL; a developer can ask for the debug page explicitly."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

DEBUG_PAGE = "Using the URLconf defined in"


class TestNotFoundPageInDemoMode:
    @pytest.fixture(autouse=True)
    def demo_mode(self, settings):
        settings.DEBUG = True
        settings.DEBUG_TECHNICAL_404 = False

    def test_it_shows_the_chinese_page_for_a_wrong_address(self, world, client):
        client.force_login(world.resp_staff)
        response = client.get("/no-such-page/")
        page = response.content.decode()
        assert response.status_code == 404
        assert "页面不存在，或您无权查看" in page
        assert DEBUG_PAGE not in page and "admin/" not in page
        # The signed-in menu is there, so the way back is one click.
        assert "本单位工作台" in page and "退出" in page

    def test_it_shows_the_chinese_page_for_someone_elses_measure(self, world, client):
        client.force_login(world.outsider)
        response = client.get(reverse("rectification:measure_detail", args=[world.resp_measure.pk]))
        assert response.status_code == 404
        assert "页面不存在，或您无权查看" in response.content.decode()
        assert "Http404" not in response.content.decode()

    def test_it_shows_the_chinese_page_to_someone_not_signed_in(self, client):
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert "页面不存在，或您无权查看" in response.content.decode()
        assert DEBUG_PAGE not in response.content.decode()

    def test_a_developer_can_ask_for_the_debug_page(self, settings, client):
        settings.DEBUG_TECHNICAL_404 = True
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert DEBUG_PAGE in response.content.decode()


class TestNotFoundPageInProduction:
    def test_it_shows_the_same_chinese_page(self, world, client, settings):
        settings.DEBUG = False
        client.force_login(world.resp_staff)
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert "页面不存在，或您无权查看" in response.content.decode()
