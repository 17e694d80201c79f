"""Group robots, the system administrator's channel page, escalation to the next channel, and the
office's per-unit counts of what was sent, delivered and read.

Each platform is a small HTTP server on 127.0.0.1 (``Platform`` from test_notify_channels) that
checks the request as the platform documents it and answers as the platform does.
"""

import base64
import datetime
import hashlib
import hmac
import json
import re
import time
import urllib.parse

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from rectification.models import ChannelSetup, GroupRobot, Notification, OutboxMessage
from rectification.services.channel_setup import channel_setup_save, group_robot_save
from rectification.services.channels import WECOM_TOKEN_CACHE_KEY, channel_on
from rectification.services.notifications import notices_escalate, notify
from rectification.services.outbox import outbox_send, robots_post

from .test_notify_channels import CORP_ID, CORP_SECRET, Platform, gettoken, message_send, sms_gateway
from .test_weekly_cycle import at

ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_TOKEN = "robot-access-token-1"
DING_SECRET = "SECb6e4ba3a7f0c2d1e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6"
SITE = "https://zg.example.gov.cn"


@pytest.fixture
def platform():
    server = Platform()
    yield server
    server.close()


@pytest.fixture
def robots(settings, world):
    settings.NOTIFY_CHANNELS = ["wecom_robot", "dingtalk_robot"]
    settings.SITE_URL = SITE


def _robot(world, platform, *, kind="wecom_robot", unit=None, secret=""):
    if kind == "wecom_robot":
        webhook = f"{platform.url}/cgi-bin/webhook/send?key={ROBOT_KEY}"
    else:
        webhook = f"{platform.url}/robot/send?access_token={DING_TOKEN}"
    return group_robot_save(
        actor=world.sysadmin,
        name="责任局工作群" if unit else "整改办工作群",
        platform=kind,
        unit=unit,
        enabled=True,
        webhook=webhook,
        secret=secret,
    )


def wecom_robot(errcode=0, errmsg="ok"):
    """企业微信 group robot: POST .../cgi-bin/webhook/send?key=KEY with a JSON body; a wrong key is
    93000, more than 20 messages a minute 45009."""

    def answer(request):
        assert request["method"] == "POST" and request["path"] == "/cgi-bin/webhook/send"
        assert request["content_type"].startswith("application/json")
        if request["query"] != {"key": ROBOT_KEY}:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        return 200, {"errcode": errcode, "errmsg": errmsg}

    return answer


def _ding_sign(timestamp, secret):
    # The documented algorithm written out: HmacSHA256(secret, timestamp + "\n" + secret), Base64.
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_robot(errcode=0, errmsg="ok", *, signed=True):
    """钉钉 custom robot: POST .../robot/send?access_token=T[&timestamp=ms&sign=urlencoded]; a wrong
    signature or a timestamp off by more than an hour is 310000, sending too fast 130101."""

    def answer(request):
        assert request["method"] == "POST" and request["path"] == "/robot/send"
        assert request["content_type"].startswith("application/json")
        query = request["query"]
        if query.get("access_token") != DING_TOKEN:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if signed:
            assert set(query) == {"access_token", "timestamp", "sign"}
            # The sign travels URL-encoded (Base64 has + / =): the raw query must not carry them bare.
            raw_sign = dict(part.split("=", 1) for part in request["raw_query"].split("&"))["sign"]
            assert not set("+/=") & set(raw_sign)
            timestamp = int(query["timestamp"])
            if abs(time.time() * 1000 - timestamp) > 3600 * 1000:
                return 200, {"errcode": 310000, "errmsg": "sign not match, timestamp is expired"}
            if query["sign"] != _ding_sign(query["timestamp"], DING_SECRET):
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        else:
            assert set(query) == {"access_token"}
        return 200, {"errcode": errcode, "errmsg": errmsg}

    return answer


def _post(world, unit=None):
    return robots_post(
        unit=unit,
        key="cycle:1:dispatch",
        text="责任局第48周调度单：未销号措施1项，本周到期0项，已逾期1项；距整改时限还有38天。",
        link="/unit/dispatch/",
    )


class TestWecomRobot:
    def test_it_posts_markdown_to_the_groups_webhook(self, world, robots, platform):
        robot = _robot(world, platform, unit=world.resp_unit)
        platform.answers = [wecom_robot()]
        assert _post(world, world.resp_unit) == 1
        assert outbox_send() == 1
        assert platform.requests[0]["body"] == {
            "msgtype": "markdown",
            "markdown": {
                "content": "**【巡视整改督办台账】责任局工作群**\n"
                "责任局第48周调度单：未销号措施1项，本周到期0项，已逾期1项；距整改时限还有38天。\n"
                f"[点击查看]({SITE}/unit/dispatch/)"
            },
        }
        row = OutboxMessage.objects.get(robot=robot)
        assert row.state == OutboxMessage.State.SENT and row.channel == "wecom_robot"

    def test_it_posts_once_per_group_and_key(self, world, robots, platform):
        _robot(world, platform, unit=world.resp_unit)
        platform.answers = [wecom_robot()]
        assert _post(world, world.resp_unit) == 1
        _post(world, world.resp_unit)
        outbox_send()
        outbox_send()
        assert len(platform.requests) == 1 and OutboxMessage.objects.count() == 1

    def test_it_tries_again_when_the_group_is_rate_limited(self, world, robots, platform):
        _robot(world, platform, unit=world.resp_unit)
        platform.answers = [wecom_robot(45009, "api freq out of limit")]
        _post(world, world.resp_unit)
        assert outbox_send() == 0
        row = OutboxMessage.objects.get()
        assert row.state == OutboxMessage.State.PENDING and "45009" in row.last_error

    def test_it_fails_a_wrong_webhook_without_retrying(self, world, robots, platform):
        robot = _robot(world, platform, unit=world.resp_unit)
        group_robot_save(
            actor=world.sysadmin,
            robot=robot,
            name=robot.name,
            platform=robot.platform,
            unit=robot.unit,
            enabled=True,
            webhook=f"{platform.url}/cgi-bin/webhook/send?key=removed",
        )
        platform.answers = [wecom_robot()]
        _post(world, world.resp_unit)
        outbox_send()
        row = OutboxMessage.objects.get()
        assert row.state == OutboxMessage.State.FAILED and "93000" in row.last_error

    def test_it_tells_only_that_units_groups(self, world, robots, platform):
        _robot(world, platform, unit=world.resp_unit)
        assert _post(world, world.coop_unit) == 0
        assert _post(world, None) == 0

    def test_it_posts_nothing_unless_the_deployment_allows_robots(self, world, robots, platform, settings):
        _robot(world, platform, unit=world.resp_unit)
        settings.NOTIFY_CHANNELS = ["email", "wecom"]
        assert _post(world, world.resp_unit) == 0


class TestDingtalkRobot:
    def test_it_signs_each_request_and_posts_markdown(self, world, robots, platform):
        _robot(world, platform, kind="dingtalk_robot", secret=DING_SECRET)
        platform.answers = [dingtalk_robot()]
        assert _post(world) == 1
        assert outbox_send() == 1
        assert platform.requests[0]["body"] == {
            "msgtype": "markdown",
            "markdown": {
                "title": "【巡视整改督办台账】整改办工作群",
                "text": "#### 【巡视整改督办台账】整改办工作群\n\n"
                "责任局第48周调度单：未销号措施1项，本周到期0项，已逾期1项；距整改时限还有38天。\n\n"
                f"[点击查看]({SITE}/unit/dispatch/)",
            },
        }

    def test_it_sends_no_signature_for_a_robot_without_one(self, world, robots, platform):
        _robot(world, platform, kind="dingtalk_robot")
        platform.answers = [dingtalk_robot(signed=False)]
        _post(world)
        assert outbox_send() == 1

    def test_it_fails_on_a_wrong_secret(self, world, robots, platform):
        _robot(world, platform, kind="dingtalk_robot", secret="SECnot-the-robots-secret")
        platform.answers = [dingtalk_robot()]
        _post(world)
        outbox_send()
        row = OutboxMessage.objects.get()
        assert row.state == OutboxMessage.State.FAILED and "310000" in row.last_error

    def test_it_tries_again_when_sending_too_fast(self, world, robots, platform):
        _robot(world, platform, kind="dingtalk_robot", secret=DING_SECRET)
        platform.answers = [dingtalk_robot(130101, "send too fast, exceed 20 times per minute"), dingtalk_robot()]
        _post(world)
        now = timezone.now()
        assert outbox_send(now=now) == 0
        assert outbox_send(now=now + datetime.timedelta(minutes=2)) == 1
        assert OutboxMessage.objects.get().attempts == 2


class TestRobotsInTheWeeklyCycle:
    def test_the_units_group_hears_of_its_dispatch_sheet_and_supervision_notices(self, world, robots, platform):
        # Week 48: the township's measure was due 31 October, so it is overdue.
        _robot(world, platform, unit=world.coop_unit)
        platform.answers = [wecom_robot()]
        from rectification import services

        with time_machine.travel(at(11, 23, 10), tick=False):
            cycle = services.cycle_for(world.round, 2026, 48)
            services.step_run(cycle, "dispatch")
            assert outbox_send() == 1
        content = platform.requests[0]["body"]["markdown"]["content"]
        assert "协办镇第48周调度单" in content and "已逾期1项" in content and "督办单" in content
        # Figures only: neither the measure's text nor its code (NOTIFY_EXTERNAL_DETAIL is "title").
        assert "镇街自查自纠" not in content and "1.1.2" not in content and "津贴" not in content

    def test_the_offices_group_hears_of_the_summary(self, world, robots, platform):
        _robot(world, platform)
        platform.answers = [wecom_robot()]
        from rectification import services

        with time_machine.travel(at(11, 27, 19), tick=False):
            cycle = services.cycle_for(world.round, 2026, 48)
            services.step_run(cycle, "collect")
            services.step_run(cycle, "summary")
            assert outbox_send() == 1
        content = platform.requests[0]["body"]["markdown"]["content"]
        assert "第48周小结已生成：逾期1项" in content and f"{SITE}/cycles/{cycle.pk}/" in content


# --- the system administrator's channel page -----------------------------------------------------


def _save_sms(client, platform, **extra):
    data = {
        "sms-enabled": "on",
        "sms-url": f"{platform.url}/api/sms/send",
        "sms-app_key": "zhenggai-app",
        "sms-secret": "sms-secret-from-env",
        "sms-sign_name": "某区整改办",
        "sms-template_id": "SMS_001",
        **extra,
    }
    return client.post(reverse("rectification:channel_setup_save", args=["sms"]), data)


@pytest.fixture
def sms_allowed(settings, world):
    settings.NOTIFY_CHANNELS = ["sms"]
    settings.SITE_URL = SITE
    # Nothing in the environment: the page's values alone reach the gateway.
    settings.SMS_GATEWAY_URL = ""
    settings.SMS_GATEWAY_SECRET = ""
    world.resp_staff.mobile = "13812345678"
    world.resp_staff.save(update_fields=["mobile"])


def _urgent(world):
    return notify(
        recipient=world.resp_staff,
        kind=Notification.Kind.DISPATCH,
        text="督办：措施1.1.1全面清理违规发放的津贴补贴进度滞后。",
        link=world.resp_measure.get_absolute_url(),
        dedup_key="dispatch:setup",
    )


class TestChannelSetupPage:
    def test_it_sends_by_what_the_administrator_set_up(self, world, client, platform, sms_allowed):
        client.force_login(world.sysadmin)
        assert _save_sms(client, platform).status_code == 302
        _urgent(world)
        platform.answers = [sms_gateway()]  # checks the signature made with the page's secret
        assert outbox_send() == 1
        assert platform.requests[0]["body"]["app_key"] == "zhenggai-app"

    def test_it_stores_the_secret_sealed_and_never_shows_it(self, world, client, platform, sms_allowed):
        client.force_login(world.sysadmin)
        _save_sms(client, platform)
        setup = ChannelSetup.objects.get(kind="sms")
        assert setup.sealed["secret"].startswith("sm4gcm:v1:")
        assert "sms-secret-from-env" not in json.dumps([setup.params, setup.sealed])
        page = client.get(reverse("rectification:channel_setup")).content.decode()
        assert "sms-secret-from-env" not in page and "已设置；填写新值即替换" in page
        # The audit row says which secret was replaced, never the secret.
        event = AuditEvent.objects.filter(action="channel.setup").latest("id")
        assert "sms-secret-from-env" not in json.dumps(event.changes, ensure_ascii=False)
        assert event.changes["secrets_replaced"] == ["secret"]

    def test_an_empty_secret_keeps_the_stored_one(self, world, client, platform, sms_allowed):
        client.force_login(world.sysadmin)
        _save_sms(client, platform)
        _save_sms(client, platform, **{"sms-secret": "", "sms-sign_name": "某区整改落实办"})
        setup = ChannelSetup.objects.get(kind="sms")
        assert setup.params["sign_name"] == "某区整改落实办"
        _urgent(world)
        platform.answers = [sms_gateway()]
        assert outbox_send() == 1

    def test_it_switches_a_channel_off(self, world, client, platform, sms_allowed):
        client.force_login(world.sysadmin)
        _save_sms(client, platform)
        _save_sms(client, platform, **{"sms-enabled": ""})
        assert not channel_on("sms")
        _urgent(world)
        assert not OutboxMessage.objects.exists()

    def test_the_deployment_still_decides_which_channels_exist(self, world, client, platform, settings):
        settings.NOTIFY_CHANNELS = ["email"]
        client.force_login(world.sysadmin)
        _save_sms(client, platform)
        assert ChannelSetup.objects.get(kind="sms").enabled
        assert not channel_on("sms")
        page = client.get(reverse("rectification:channel_setup")).content.decode()
        assert "部署未允许" in page
        # The page does not show a channel the deployment forbids as ticked: its box is greyed out.
        box = re.search(r'<input[^>]*name="sms-enabled"[^>]*>', page).group(0)
        assert "disabled" in box and "checked" not in box
        assert "未允许此渠道，无法启用" in page

    @pytest.mark.parametrize(
        "field, value, message",
        [("sms-url", "ftp://sms.example", "地址须以 https:// 或 http:// 开头"), ("sms-app_key", "x" * 400, "")],
    )
    def test_it_explains_wrong_input(self, world, client, platform, sms_allowed, field, value, message):
        client.force_login(world.sysadmin)
        response = _save_sms(client, platform, **{field: value})
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not ChannelSetup.objects.exists()

    def test_it_refuses_an_agent_id_that_is_not_a_number(self, world, client, settings):
        settings.NOTIFY_CHANNELS = ["wecom"]
        client.force_login(world.sysadmin)
        response = client.post(
            reverse("rectification:channel_setup_save", args=["wecom"]),
            {"wecom-enabled": "on", "wecom-corp_id": CORP_ID, "wecom-agent_id": "一百"},
        )
        assert response.status_code == 400 and "AgentId 须为数字" in response.content.decode()

    def test_it_sends_a_test_message(self, world, client, platform, settings):
        settings.NOTIFY_CHANNELS = ["wecom"]
        settings.WECOM_CORP_ID = ""
        cache.delete(WECOM_TOKEN_CACHE_KEY)
        client.force_login(world.sysadmin)
        client.post(
            reverse("rectification:channel_setup_save", args=["wecom"]),
            {
                "wecom-enabled": "on",
                "wecom-api_base": platform.url,
                "wecom-corp_id": CORP_ID,
                "wecom-agent_id": "1000002",
                "wecom-corp_secret": CORP_SECRET,
            },
        )
        platform.answers = [gettoken(), message_send()]
        response = client.post(
            reverse("rectification:channel_test", args=["wecom"]), {"test-wecom-address": "ZhangSan"}, follow=True
        )
        assert "测试消息已发送至企业微信" in response.content.decode()
        body = platform.requests[1]["body"]
        assert body["touser"] == "ZhangSan" and body["agentid"] == 1000002
        assert AuditEvent.objects.filter(action="channel.test", outcome="success").exists()
        cache.delete(WECOM_TOKEN_CACHE_KEY)

    def test_it_says_why_a_test_message_failed(self, world, client, platform, sms_allowed):
        client.force_login(world.sysadmin)
        _save_sms(client, platform)
        platform.answers = [sms_gateway(code="4003", message="余额不足")]
        response = client.post(
            reverse("rectification:channel_test", args=["sms"]), {"test-sms-address": "13900000000"}, follow=True
        )
        assert "测试消息发送失败：短信网关返回 4003：余额不足" in response.content.decode()

    def test_it_adds_a_group_robot_with_its_webhook_sealed(self, world, client, platform, robots):
        client.force_login(world.sysadmin)
        webhook = f"{platform.url}/robot/send?access_token={DING_TOKEN}"
        response = client.post(
            reverse("rectification:group_robot_create"),
            {
                "name": "协办镇工作群",
                "platform": "dingtalk_robot",
                "unit": world.coop_unit.pk,
                "enabled": "on",
                "webhook": webhook,
                "secret": DING_SECRET,
            },
        )
        assert response.status_code == 302
        robot = GroupRobot.objects.get()
        assert DING_TOKEN not in robot.webhook_sealed and DING_SECRET not in robot.secret_sealed
        page = client.get(reverse("rectification:channel_setup")).content.decode()
        assert "协办镇工作群" in page and DING_TOKEN not in page and DING_SECRET not in page
        edit = client.get(reverse("rectification:group_robot_edit", args=[robot.pk])).content.decode()
        assert DING_TOKEN not in edit and DING_SECRET not in edit
        event = AuditEvent.objects.get(action="channel.robot_create")
        assert DING_TOKEN not in json.dumps(event.changes) and DING_SECRET not in json.dumps(event.changes)
        platform.answers = [dingtalk_robot()]
        response = client.post(reverse("rectification:group_robot_test", args=[robot.pk]), follow=True)
        assert "测试消息已发送至协办镇工作群" in response.content.decode()

    def test_it_explains_a_wrong_webhook(self, world, client, robots):
        client.force_login(world.sysadmin)
        response = client.post(
            reverse("rectification:group_robot_create"),
            {"name": "群", "platform": "wecom_robot", "enabled": "on", "webhook": "qyapi.weixin.qq.com/send"},
        )
        assert response.status_code == 200 and "地址须以 https:// 或 http:// 开头" in response.content.decode()
        assert not GroupRobot.objects.exists()

    def test_it_deletes_a_robot(self, world, client, platform, robots):
        robot = _robot(world, platform)
        client.force_login(world.sysadmin)
        client.post(reverse("rectification:group_robot_delete", args=[robot.pk]))
        assert not GroupRobot.objects.exists()
        assert AuditEvent.objects.filter(action="channel.robot_delete").exists()

    @pytest.mark.parametrize("who", ["office", "resp_staff", "secadmin", "auditadmin", "outsider"])
    def test_it_is_the_system_administrators_alone(self, world, client, platform, robots, who):
        robot = _robot(world, platform)
        client.force_login(getattr(world, who))
        assert client.get(reverse("rectification:channel_setup")).status_code == 403
        assert _save_sms(client, platform).status_code == 403
        assert (
            client.post(reverse("rectification:channel_test", args=["sms"]), {"test-sms-address": "1"}).status_code
            == 403
        )
        assert client.get(reverse("rectification:group_robot_create")).status_code == 403
        assert client.get(reverse("rectification:group_robot_edit", args=[robot.pk])).status_code == 403
        assert client.post(reverse("rectification:group_robot_delete", args=[robot.pk])).status_code == 403
        assert client.post(reverse("rectification:group_robot_test", args=[robot.pk])).status_code == 403
        assert not ChannelSetup.objects.exists() and GroupRobot.objects.filter(pk=robot.pk).exists()

    def test_it_answers_an_unknown_channel_or_robot_with_404(self, world, client):
        client.force_login(world.sysadmin)
        assert client.post(reverse("rectification:channel_setup_save", args=["fax"])).status_code == 404
        assert client.get(reverse("rectification:group_robot_edit", args=[9999])).status_code == 404

    def test_it_takes_no_get_for_a_change(self, world, client):
        client.force_login(world.sysadmin)
        assert client.get(reverse("rectification:channel_setup_save", args=["sms"])).status_code == 405
        assert client.get(reverse("rectification:channel_test", args=["sms"])).status_code == 405


def test_channel_setup_saved_by_a_service_needs_the_system_administrator(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        channel_setup_save(actor=world.office, kind="sms", enabled=True, params={}, secrets={})


# --- escalation to the next channel ----------------------------------------------------------------


class TestStepUp:
    @pytest.fixture
    def both(self, settings, world, platform):
        """企业微信 and SMS, both reaching the liaison and the head; the SMS gateway answers alone."""
        settings.NOTIFY_CHANNELS = ["wecom", "sms"]
        settings.NOTIFY_ESCALATE_AFTER_MINUTES = 120
        settings.WECOM_API_BASE = f"{platform.url}/down"  # 企业微信 is never asked in these tests
        settings.WECOM_CORP_ID, settings.WECOM_CORP_SECRET, settings.WECOM_AGENT_ID = CORP_ID, CORP_SECRET, 1
        settings.SMS_GATEWAY_URL = f"{platform.url}/api/sms/send"
        settings.SMS_GATEWAY_APP_KEY = "zhenggai-app"
        settings.SMS_GATEWAY_SECRET = "sms-secret-from-env"
        for person, userid, mobile in (
            (world.resp_staff, "ZhangLianLuo", "13812345678"),
            (world.resp_head, "ZhaoJu", "13900000000"),
        ):
            person.wecom_userid, person.mobile = userid, mobile
            person.save(update_fields=["wecom_userid", "mobile"])

    def _channels(self, notice):
        return sorted(OutboxMessage.objects.filter(notification=notice).values_list("channel", flat=True))

    def _told_head(self, world):
        return Notification.objects.filter(recipient=world.resp_head, dedup_key__startswith="escalate:")

    def test_it_goes_by_sms_when_the_first_channel_stays_unread_then_to_the_head(self, world, both):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            notice = _urgent(world)
        # At once by 企业微信 only: SMS is kept for when it stays unread.
        assert self._channels(notice) == ["wecom"]
        with time_machine.travel(start + datetime.timedelta(minutes=119), tick=False):
            assert notices_escalate() == 0
        with time_machine.travel(start + datetime.timedelta(minutes=121), tick=False):
            assert notices_escalate() == 1
        assert self._channels(notice) == ["sms", "wecom"]
        assert not self._told_head(world).exists()
        # The SMS is due at once.
        sms = OutboxMessage.objects.get(notification=notice, channel="sms")
        assert sms.next_attempt_at <= start + datetime.timedelta(minutes=121)
        with time_machine.travel(start + datetime.timedelta(minutes=240), tick=False):
            assert notices_escalate() == 0
        with time_machine.travel(start + datetime.timedelta(minutes=242), tick=False):
            assert notices_escalate() == 1
            assert notices_escalate() == 0
        [told] = self._told_head(world)
        assert "张联络已超过4小时未阅读紧急通知" in told.text and "津贴" not in told.text

    def test_a_notice_read_after_the_first_channel_goes_no_further(self, world, both, client):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            notice = _urgent(world)
        with time_machine.travel(start + datetime.timedelta(minutes=30), tick=False):
            client.force_login(world.resp_staff)
            client.get(reverse("rectification:notification_open", args=[notice.pk]))
        with time_machine.travel(start + datetime.timedelta(hours=5), tick=False):
            assert notices_escalate() == 0
        assert self._channels(notice) == ["wecom"] and not self._told_head(world).exists()

    def test_a_notice_read_after_the_sms_is_not_passed_to_the_head(self, world, both):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            notice = _urgent(world)
        with time_machine.travel(start + datetime.timedelta(minutes=121), tick=False):
            notices_escalate()
        Notification.objects.filter(pk=notice.pk).update(read_at=start + datetime.timedelta(minutes=150))
        with time_machine.travel(start + datetime.timedelta(hours=5), tick=False):
            assert notices_escalate() == 0
        assert not self._told_head(world).exists()

    def test_sms_goes_at_once_to_a_person_reached_by_nothing_else(self, world, both):
        world.resp_staff.wecom_userid = ""
        world.resp_staff.save(update_fields=["wecom_userid"])
        notice = _urgent(world)
        assert self._channels(notice) == ["sms"]

    def test_e_mail_alone_is_no_first_try(self, world, both, settings):
        # Reached by e-mail and SMS only: both at once (e-mail is not read in time on a phone).
        settings.NOTIFY_CHANNELS = ["email", "sms"]
        world.resp_staff.email = "lly@example.gov.cn"
        world.resp_staff.save(update_fields=["email"])
        notice = _urgent(world)
        assert self._channels(notice) == ["email", "sms"]

    def test_the_step_up_channels_follow_the_setting(self, world, both, settings):
        settings.NOTIFY_STEP_UP_CHANNELS = []
        notice = _urgent(world)
        assert self._channels(notice) == ["sms", "wecom"]


# --- the office's per-unit counts ------------------------------------------------------------------


class TestDeliveriesByUnit:
    @pytest.fixture
    def sent(self, world, settings):
        """Messages to people of three units in every state, some read."""
        settings.NOTIFY_CHANNELS = ["email"]
        settings.NOTIFY_DIGEST_HOUR = -1
        people = [world.resp_staff, world.resp_head, world.coop_staff, world.lead_staff]
        for person in people:
            person.email = f"{person.username}@example.gov.cn"
            person.quiet_from = person.quiet_until = None
            person.save(update_fields=["email", "quiet_from", "quiet_until"])
        states = [OutboxMessage.State.SENT, OutboxMessage.State.FAILED, OutboxMessage.State.PENDING]
        for i, person in enumerate(people * 2):
            notice = notify(recipient=person, kind="dispatch", text="督办", link=f"/n/{i}/", dedup_key=f"u:{i}")
            OutboxMessage.objects.filter(notification=notice).update(state=states[i % 3])
            if i % 2:
                Notification.objects.filter(pk=notice.pk).update(read_at=timezone.now())

    def _rows(self, client):
        page = client.get(reverse("rectification:deliveries_by_unit"))
        assert page.status_code == 200
        return page.context["rows"], page.content.decode()

    def test_each_count_equals_its_list_and_the_raw_rows(self, world, client, sent):
        client.force_login(world.office)
        rows, html = self._rows(client)
        assert {row["unit"].name for row in rows} == {"责任局", "协办镇", "牵头局"}
        links = {
            "total": {},
            "sent": {"state": "sent"},
            "read": {"read": "1"},
            "unread": {"read": "0"},
            "failed": {"state": "failed"},
            "waiting": {"state": "pending"},
        }
        for row in rows:
            raw = OutboxMessage.objects.filter(notification__recipient__unit=row["unit"])
            expected = {
                "total": raw.count(),
                "sent": raw.filter(state="sent").count(),
                "read": raw.filter(notification__read_at__isnull=False).count(),
                "unread": raw.filter(notification__read_at__isnull=True).count(),
                "failed": raw.filter(state="failed").count(),
                "waiting": raw.filter(state="pending").count(),
            }
            for name, query in links.items():
                assert row[name] == expected[name], (row["unit"], name)
                params = {"unit": row["key"], **query}
                href = f"{reverse('rectification:deliveries')}?{urllib.parse.urlencode(params)}".replace("&", "&amp;")
                assert f'href="{href}" data-count="{name}">{row[name]}</a>' in html
                listed = client.get(reverse("rectification:deliveries"), params)
                assert listed.context["page"].paginator.count == row[name], (row["unit"], name)
        assert sum(row["total"] for row in rows) == OutboxMessage.objects.count() == 8

    def test_the_list_names_the_unit_it_is_filtered_by(self, world, client, sent):
        client.force_login(world.office)
        page = client.get(reverse("rectification:deliveries"), {"unit": world.coop_unit.pk}).content.decode()
        assert "单位：协办镇" in page

    @pytest.mark.parametrize("who", ["resp_staff", "resp_head", "leader", "sysadmin", "auditadmin", "outsider"])
    def test_it_is_the_offices_alone(self, world, client, sent, who):
        client.force_login(getattr(world, who))
        assert client.get(reverse("rectification:deliveries_by_unit")).status_code == 404

    def test_it_ignores_wrong_filters(self, world, client, sent):
        client.force_login(world.office)
        for params in ({"unit": "abc"}, {"unit": "9" * 30}, {"read": "maybe"}, {"unit": "none"}):
            assert client.get(reverse("rectification:deliveries"), params).status_code == 200


class TestSealedSecrets:
    def test_a_secret_that_does_not_open_fails_the_message_and_says_why(self, world, client, platform, sms_allowed):
        client.force_login(world.sysadmin)
        _save_sms(client, platform)
        # A value sealed for another row (as after a copy, or with another key) does not open here.
        from accounts import crypto

        ChannelSetup.objects.filter(kind="sms").update(
            sealed={"secret": crypto.seal("sms-secret-from-env", context="channel:wecom:corp_secret")}
        )
        cache.clear()
        _urgent(world)
        assert outbox_send() == 0
        row = OutboxMessage.objects.get()
        assert row.state == OutboxMessage.State.FAILED and "无法解密" in row.last_error
        response = client.post(
            reverse("rectification:channel_test", args=["sms"]), {"test-sms-address": "13900000000"}, follow=True
        )
        assert "测试消息发送失败：保存的密钥无法解密" in response.content.decode()
