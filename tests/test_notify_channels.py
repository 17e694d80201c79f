"""Notices that leave the system: the outbox, the channel adapters, read receipts and the pages.

Each platform is a small HTTP server on 127.0.0.1 started by the test, which checks each request
as the platform documents it and answers as the platform does, error codes included.
"""

import datetime
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from rectification.models import Notification, OutboxMessage
from rectification.services.channels import DINGTALK_TOKEN_CACHE_KEY, WECOM_TOKEN_CACHE_KEY
from rectification.services.notifications import notices_escalate, notify
from rectification.services.outbox import digests_write, outbox_send

CORP_ID = "ww1234567890abcdef"
CORP_SECRET = "corp-secret-from-env"
AGENT_ID = 1000002
SMS_KEY = "zhenggai-app"
SMS_SECRET = "sms-secret-from-env"


class Platform:
    """A fake platform: ``answers`` is a list of functions, one per request in order, each taking
    the request (method, path, query, body) and returning (HTTP status, JSON answer)."""

    def __init__(self):
        self.requests = []
        self.answers = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = {
                    "method": self.command,
                    "path": url.path,
                    "query": dict(urllib.parse.parse_qsl(url.query)),
                    "raw_query": url.query,
                    "content_type": self.headers.get("Content-Type", ""),
                    "body": json.loads(raw.decode("utf-8")) if raw else None,
                }
                platform.requests.append(request)
                answer = platform.answers.pop(0) if platform.answers else (lambda r: (500, {}))
                status, payload = answer(request)
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def platform():
    server = Platform()
    yield server
    server.close()


@pytest.fixture
def wecom(settings, platform, world):
    settings.NOTIFY_CHANNELS = ["wecom"]
    settings.WECOM_API_BASE = platform.url
    settings.WECOM_CORP_ID = CORP_ID
    settings.WECOM_CORP_SECRET = CORP_SECRET
    settings.WECOM_AGENT_ID = AGENT_ID
    settings.SITE_URL = "https://zg.example.gov.cn"
    cache.delete(WECOM_TOKEN_CACHE_KEY)
    world.resp_staff.wecom_userid = "ZhangLianLuo"
    world.resp_staff.save(update_fields=["wecom_userid"])
    yield platform
    cache.delete(WECOM_TOKEN_CACHE_KEY)


@pytest.fixture
def sms(settings, platform, world):
    settings.NOTIFY_CHANNELS = ["sms"]
    settings.SMS_GATEWAY_URL = f"{platform.url}/api/sms/send"
    settings.SMS_GATEWAY_APP_KEY = SMS_KEY
    settings.SMS_GATEWAY_SECRET = SMS_SECRET
    settings.SMS_GATEWAY_SIGN_NAME = "某区整改办"
    settings.SMS_GATEWAY_TEMPLATE_ID = "SMS_001"
    settings.SITE_URL = "https://zg.example.gov.cn"
    world.resp_staff.mobile = "13812345678"
    world.resp_staff.save(update_fields=["mobile"])
    return platform


def gettoken(token="TOKEN-1"):
    def answer(request):
        assert request["method"] == "GET" and request["path"] == "/cgi-bin/gettoken"
        assert request["query"] == {"corpid": CORP_ID, "corpsecret": CORP_SECRET}
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    return answer


def message_send(token="TOKEN-1", errcode=0, errmsg="ok", invaliduser=""):
    def answer(request):
        assert request["method"] == "POST" and request["path"] == "/cgi-bin/message/send"
        assert request["query"] == {"access_token": token}
        assert request["content_type"].startswith("application/json")
        if errcode:
            return 200, {"errcode": errcode, "errmsg": errmsg}
        return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": invaliduser, "msgid": "msg-1"}

    return answer


def _urgent(world, key="dispatch:1", link=None):
    """A supervision notice about unit A's measure: urgent, so it goes by every channel."""
    return notify(
        recipient=world.resp_staff,
        kind=Notification.Kind.DISPATCH,
        text="督办：措施1.1.1全面清理违规发放的津贴补贴进度滞后，请于三日内答复。",
        link=link or world.resp_measure.get_absolute_url(),
        dedup_key=key,
    )


def _rows(world, channel):
    return OutboxMessage.objects.filter(notification__recipient=world.resp_staff, channel=channel)


class TestWecomChannel:
    def test_it_sends_a_text_card_as_documented(self, world, wecom):
        notice = _urgent(world)
        wecom.answers = [gettoken(), message_send()]
        assert outbox_send() == 1
        assert wecom.requests[1]["body"] == {
            "touser": "ZhangLianLuo",
            "msgtype": "textcard",
            "agentid": AGENT_ID,
            "textcard": {
                "title": "【巡视整改督办台账】调度与督办",
                "description": "您有一条新的通知，请点击查看。",
                "url": f"https://zg.example.gov.cn/notifications/{notice.pk}/",
                "btntxt": "查看",
            },
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
        }
        row = _rows(world, "wecom").get()
        assert row.state == OutboxMessage.State.SENT and row.attempts == 1 and row.sent_at

    def test_it_keeps_the_findings_text_inside(self, world, wecom):
        _urgent(world)
        wecom.answers = [gettoken(), message_send()]
        outbox_send()
        sent = json.dumps(wecom.requests, ensure_ascii=False)
        assert "津贴补贴" not in sent and "督办：" not in sent

    def test_it_reuses_the_token_until_it_expires(self, world, wecom):
        _urgent(world, "dispatch:1")
        _urgent(world, "dispatch:2", link="/unit/")  # about another thing: not capped
        wecom.answers = [gettoken(), message_send(), message_send()]
        assert outbox_send() == 2
        assert [r["path"] for r in wecom.requests].count("/cgi-bin/gettoken") == 1

    @pytest.mark.parametrize("errcode, errmsg", [(42001, "access_token expired"), (40014, "invalid access_token")])
    def test_it_fetches_a_new_token_once_when_the_platform_refuses_it(self, world, wecom, errcode, errmsg):
        _urgent(world)
        wecom.answers = [
            gettoken("OLD"),
            message_send("OLD", errcode, errmsg),
            gettoken("NEW"),
            message_send("NEW"),
        ]
        assert outbox_send() == 1
        assert _rows(world, "wecom").get().state == OutboxMessage.State.SENT

    def test_it_tries_again_later_when_the_platform_is_busy(self, world, wecom):
        _urgent(world)
        wecom.answers = [gettoken(), message_send(errcode=-1, errmsg="system busy")]
        now = timezone.now()
        assert outbox_send(now=now) == 0
        row = _rows(world, "wecom").get()
        assert row.state == OutboxMessage.State.PENDING and row.attempts == 1
        assert row.next_attempt_at == now + datetime.timedelta(minutes=1)
        assert "-1" in row.last_error

    def test_it_fails_a_person_outside_the_applications_reach(self, world, wecom):
        _urgent(world)
        wecom.answers = [gettoken(), message_send(errcode=81013, errmsg="user & party & tag all invalid")]
        outbox_send()
        row = _rows(world, "wecom").get()
        assert row.state == OutboxMessage.State.FAILED and "81013" in row.last_error

    def test_it_fails_on_a_wrong_secret_without_retrying(self, world, wecom):
        _urgent(world)
        wecom.answers = [lambda r: (200, {"errcode": 40001, "errmsg": "invalid credential"})]
        outbox_send()
        assert _rows(world, "wecom").get().state == OutboxMessage.State.FAILED


def _signature(body):
    # Written out here rather than imported: the test states the documented algorithm itself.
    canonical = "&".join(f"{k}={body[k]}" for k in sorted(body) if k != "sign")
    return hmac.new(SMS_SECRET.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def sms_gateway(code="0", message="ok", status=200):
    def answer(request):
        assert request["method"] == "POST" and request["path"] == "/api/sms/send"
        assert request["content_type"].startswith("application/json")
        body = request["body"]
        if body["sign"] != _signature(body):
            return 200, {"code": "4001", "message": "签名错误"}
        return status, {"code": code, "message": message}

    return answer


class TestSmsChannel:
    def test_it_posts_a_signed_request(self, world, sms):
        notice = _urgent(world)
        sms.answers = [sms_gateway()]
        assert outbox_send() == 1
        body = sms.requests[0]["body"]
        assert set(body) == {
            "app_key",
            "mobile",
            "content",
            "sign_name",
            "template_id",
            "request_id",
            "timestamp",
            "nonce",
            "sign",
        }
        assert body["app_key"] == SMS_KEY and body["mobile"] == "13812345678"
        assert body["sign_name"] == "某区整改办" and body["template_id"] == "SMS_001"
        assert body["request_id"] == _rows(world, "sms").get(notification=notice).key
        assert f"https://zg.example.gov.cn/notifications/{notice.pk}/" in body["content"]
        assert "津贴补贴" not in body["content"]
        assert abs(int(body["timestamp"]) - timezone.now().timestamp()) < 60

    def test_it_sends_only_urgent_notices(self, world, sms):
        notify(
            recipient=world.resp_staff,
            kind=Notification.Kind.NEW_ASSIGNMENT,
            text="新分配给本单位的整改措施",
            link="/unit/",
            dedup_key="assign:x",
        )
        assert not _rows(world, "sms").exists()

    def test_it_shows_the_gateways_refusal(self, world, sms, settings):
        settings.SMS_GATEWAY_SECRET = "another-secret"
        _urgent(world)
        sms.answers = [sms_gateway()]
        outbox_send()
        row = _rows(world, "sms").get()
        assert row.state == OutboxMessage.State.FAILED and "签名错误" in row.last_error

    def test_it_waits_while_the_gateway_answers_503(self, world, sms):
        _urgent(world)
        sms.answers = [lambda r: (503, {"code": "503", "message": "维护中"})]
        outbox_send()
        assert _rows(world, "sms").get().state == OutboxMessage.State.PENDING


class TestOutboxAcrossAnOutage:
    def test_it_delays_while_the_channel_is_down_and_sends_once_when_it_is_back(self, world, sms):
        _urgent(world)
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            sms.answers = [lambda r: (502, {})]
            assert outbox_send() == 0
        # Down again a minute later; the next try waits two minutes.
        with time_machine.travel(start + datetime.timedelta(minutes=1), tick=False):
            sms.answers = [lambda r: (502, {})]
            assert outbox_send() == 0
        row = _rows(world, "sms").get()
        assert row.attempts == 2 and row.next_attempt_at == start + datetime.timedelta(minutes=3)
        # Not yet due: nothing is asked of the gateway.
        with time_machine.travel(start + datetime.timedelta(minutes=2), tick=False):
            assert outbox_send() == 0
        assert len(sms.requests) == 2
        with time_machine.travel(start + datetime.timedelta(minutes=3), tick=False):
            sms.answers = [sms_gateway()]
            assert outbox_send() == 1
        # Later sweeps send nothing again.
        with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
            assert outbox_send() == 0
        assert len(sms.requests) == 3
        assert _rows(world, "sms").get().state == OutboxMessage.State.SENT

    def test_it_waits_while_nothing_listens(self, world, sms, settings):
        # The gateway's port closed altogether: a connection refused is a channel down, not a loss.
        settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/api/sms/send"
        _urgent(world)
        assert outbox_send() == 0
        assert _rows(world, "sms").get().state == OutboxMessage.State.PENDING

    def test_it_writes_one_row_per_person_and_channel(self, world, sms):
        first = _urgent(world)
        again = _urgent(world)
        assert first.pk == again.pk
        assert _rows(world, "sms").count() == 1

    def test_it_gives_up_after_the_last_attempt_and_the_office_resends(self, world, sms, settings, client):
        settings.NOTIFY_MAX_ATTEMPTS = 2
        _urgent(world)
        start = timezone.now()
        for minutes in (0, 1):
            with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
                sms.answers = [lambda r: (502, {})]
                outbox_send()
        row = _rows(world, "sms").get()
        assert row.state == OutboxMessage.State.FAILED
        client.force_login(world.office)
        page = client.get(reverse("rectification:deliveries"), {"state": "failed"})
        assert page.status_code == 200 and "发送失败" in page.content.decode()
        response = client.post(reverse("rectification:delivery_resend", args=[row.pk]))
        assert response.status_code == 302
        row.refresh_from_db()
        assert row.state == OutboxMessage.State.PENDING and row.attempts == 0
        assert AuditEvent.objects.filter(action="notification.resend", target_id=str(row.pk)).exists()
        sms.answers = [sms_gateway()]
        assert outbox_send() == 1

    def test_it_refuses_to_resend_what_was_sent(self, world, sms, client):
        _urgent(world)
        sms.answers = [sms_gateway()]
        outbox_send()
        client.force_login(world.office)
        row = _rows(world, "sms").get()
        assert client.post(reverse("rectification:delivery_resend", args=[row.pk])).status_code == 403
        assert len(sms.requests) == 1


class TestEmailChannel:
    def test_it_e_mails_the_notice_after_the_sweep(self, world, settings, mailoutbox):
        settings.NOTIFY_CHANNELS = ["email"]
        world.resp_staff.email = "lly@example.gov.cn"
        world.resp_staff.save(update_fields=["email"])
        notice = _urgent(world)
        assert outbox_send() == 1
        [mail] = mailoutbox
        assert mail.to == ["lly@example.gov.cn"] and mail.subject == "【巡视整改督办台账】调度与督办"
        assert f"/notifications/{notice.pk}/" in mail.body

    def test_it_leaves_out_a_channel_the_person_switched_off(self, world, settings):
        settings.NOTIFY_CHANNELS = ["email"]
        world.resp_staff.email = "lly@example.gov.cn"
        world.resp_staff.channels_off = ["email"]
        world.resp_staff.save(update_fields=["email", "channels_off"])
        _urgent(world)
        assert not _rows(world, "email").exists()


class TestReadReceipts:
    def test_it_marks_a_notice_read_when_opened_and_goes_on(self, world, client):
        notice = _urgent(world)
        client.force_login(world.resp_staff)
        bell = client.get(reverse("rectification:notifications")).content.decode()
        assert f'href="/notifications/{notice.pk}/"' in bell
        response = client.get(reverse("rectification:notification_open", args=[notice.pk]))
        assert response.status_code == 302 and response["Location"] == world.resp_measure.get_absolute_url()
        notice.refresh_from_db()
        assert notice.read_at is not None

    def test_it_is_nobody_elses_to_open(self, world, client):
        notice = _urgent(world)
        client.force_login(world.outsider)
        assert client.get(reverse("rectification:notification_open", args=[notice.pk])).status_code == 404
        notice.refresh_from_db()
        assert notice.read_at is None

    def test_it_shows_the_office_who_has_read(self, world, sms, client):
        notice = _urgent(world)
        sms.answers = [sms_gateway()]
        outbox_send()
        client.force_login(world.resp_staff)
        client.get(reverse("rectification:notification_open", args=[notice.pk]))
        client.force_login(world.office)
        page = client.get(reverse("rectification:deliveries")).content.decode()
        # The table, below the filters (which offer "未读" as a choice).
        table = page.split("<tbody>")[1]
        assert "已发送" in table and "未读" not in table


class TestDeliveriesPage:
    def test_it_masks_the_mobile_number(self, world, sms, client):
        _urgent(world)
        client.force_login(world.office)
        page = client.get(reverse("rectification:deliveries"), {"channel": "sms"}).content.decode()
        assert "138****5678" in page and "13812345678" not in page

    @pytest.mark.parametrize("who", ["outsider", "resp_staff", "resp_head", "leader", "sysadmin"])
    def test_it_is_the_offices_alone(self, world, sms, client, who):
        _urgent(world)
        row = _rows(world, "sms").get()
        OutboxMessage.objects.filter(pk=row.pk).update(state=OutboxMessage.State.FAILED)
        client.force_login(getattr(world, who))
        assert client.get(reverse("rectification:deliveries")).status_code == 404
        assert client.post(reverse("rectification:delivery_resend", args=[row.pk])).status_code == 404
        assert _rows(world, "sms").get().state == OutboxMessage.State.FAILED

    def test_it_takes_no_get_for_a_resend(self, world, client):
        client.force_login(world.office)
        assert client.get(reverse("rectification:delivery_resend", args=[1])).status_code == 405

    def test_it_ignores_unknown_filters(self, world, client):
        client.force_login(world.office)
        response = client.get(reverse("rectification:deliveries"), {"state": "<x>", "channel": "fax", "page": "zz"})
        assert response.status_code == 200


class TestChannelsPage:
    def test_it_lets_a_person_switch_a_channel_off(self, world, client, settings):
        settings.NOTIFY_CHANNELS = ["email", "wecom"]
        client.force_login(world.resp_staff)
        page = client.get(reverse("accounts:channels")).content.decode()
        assert page.count('name="channels"') == 2 and 'value="sms"' not in page
        assert 'value="22:00"' in page and 'value="07:30"' in page
        quiet = {"quiet_from": "22:00", "quiet_until": "07:30"}
        response = client.post(reverse("accounts:channels"), {"channels": ["email"], **quiet})
        assert response.status_code == 302
        world.resp_staff.refresh_from_db()
        assert world.resp_staff.channels_off == ["wecom"]
        event = AuditEvent.objects.get(action="user.channels_set", target_id=str(world.resp_staff.pk))
        assert event.changes == {"channels_off": [[], ["wecom"]]}

    def test_it_lets_a_person_set_their_quiet_hours(self, world, client, settings):
        settings.NOTIFY_CHANNELS = ["email"]
        client.force_login(world.resp_staff)
        data = {"channels": ["email"], "quiet_from": "21:30", "quiet_until": "08:00"}
        assert client.post(reverse("accounts:channels"), data).status_code == 302
        world.resp_staff.refresh_from_db()
        assert (world.resp_staff.quiet_from, world.resp_staff.quiet_until) == (
            datetime.time(21, 30),
            datetime.time(8, 0),
        )
        event = AuditEvent.objects.get(action="user.channels_set", target_id=str(world.resp_staff.pk))
        assert event.changes == {"quiet_hours": [["22:00", "07:30"], ["21:30", "08:00"]]}
        # Both empty: no quiet hours.
        client.post(reverse("accounts:channels"), {"channels": ["email"], "quiet_from": "", "quiet_until": ""})
        world.resp_staff.refresh_from_db()
        assert world.resp_staff.quiet_from is None and world.resp_staff.quiet_until is None

    @pytest.mark.parametrize(
        "quiet_from, quiet_until, message",
        [
            ("22:00", "", "都填写，或都留空"),
            ("07:00", "07:00", "不能相同"),
            ("25:00", "07:00", "时:分"),
            ("晚上", "07:00", "时:分"),
        ],
    )
    def test_it_explains_wrong_quiet_hours(self, world, client, settings, quiet_from, quiet_until, message):
        settings.NOTIFY_CHANNELS = ["email"]
        client.force_login(world.resp_staff)
        data = {"channels": ["email"], "quiet_from": quiet_from, "quiet_until": quiet_until}
        response = client.post(reverse("accounts:channels"), data)
        assert response.status_code == 200 and message in response.content.decode()
        world.resp_staff.refresh_from_db()
        assert world.resp_staff.quiet_from == datetime.time(22, 0)

    def test_it_shows_the_person_their_own_number_in_full(self, world, client):
        world.resp_staff.mobile = "13812345678"
        world.resp_staff.save(update_fields=["mobile"])
        client.force_login(world.resp_staff)
        assert "13812345678" in client.get(reverse("accounts:channels")).content.decode()

    def test_it_refuses_an_unknown_channel(self, world, client, settings):
        settings.NOTIFY_CHANNELS = ["email"]
        client.force_login(world.resp_staff)
        response = client.post(reverse("accounts:channels"), {"channels": ["fax"]})
        assert response.status_code == 200 and "有效" in response.content.decode()

    def test_it_sends_an_anonymous_visitor_to_sign_in(self, client):
        response = client.get(reverse("accounts:channels"))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


class TestContactPage:
    def test_it_lets_the_system_administrator_set_the_contact(self, world, client):
        client.force_login(world.sysadmin)
        url = reverse("accounts:system_user_contact", args=[world.resp_staff.pk])
        response = client.post(url, {"mobile": "13812345678", "wecom_userid": "ZhangLianLuo"})
        assert response.status_code == 302
        world.resp_staff.refresh_from_db()
        assert (world.resp_staff.mobile, world.resp_staff.wecom_userid) == ("13812345678", "ZhangLianLuo")
        event = AuditEvent.objects.get(action="system.contact_set")
        # The audit administrator reads that it changed, not the number.
        assert event.changes == {"mobile": ["", "138****5678"], "wecom_userid": ["", "Zh**********"]}
        assert "13812345678" in client.get(url).content.decode()

    def test_it_explains_a_wrong_number(self, world, client):
        client.force_login(world.sysadmin)
        url = reverse("accounts:system_user_contact", args=[world.resp_staff.pk])
        response = client.post(url, {"mobile": "12345", "wecom_userid": ""})
        assert response.status_code == 200 and "11位手机号码" in response.content.decode()

    @pytest.mark.parametrize("who", ["office", "secadmin", "auditadmin", "resp_staff", "outsider"])
    def test_it_is_the_system_administrators_alone(self, world, client, who):
        client.force_login(getattr(world, who))
        url = reverse("accounts:system_user_contact", args=[world.resp_staff.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {"mobile": "13812345678"}).status_code == 403
        world.resp_staff.refresh_from_db()
        assert world.resp_staff.mobile == ""


class TestEscalation:
    """An urgent notice left unread goes on to the unit head, once, after the set time."""

    def _escalated_to_head(self, world):
        return Notification.objects.filter(recipient=world.resp_head, dedup_key__startswith="escalate:")

    def test_it_tells_the_unit_head_once_after_the_unread_window(self, world, settings, sms):
        settings.NOTIFY_ESCALATE_AFTER_MINUTES = 120
        world.resp_head.mobile = "13900000000"
        world.resp_head.save(update_fields=["mobile"])
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            notice = _urgent(world)
        with time_machine.travel(start + datetime.timedelta(minutes=119), tick=False):
            assert notices_escalate() == 0
        with time_machine.travel(start + datetime.timedelta(minutes=121), tick=False):
            assert notices_escalate() == 1
        with time_machine.travel(start + datetime.timedelta(minutes=180), tick=False):
            assert notices_escalate() == 0
        [told] = self._escalated_to_head(world)
        assert told.kind == Notification.Kind.DISPATCH and told.link == notice.link
        assert "张联络" in told.text and "津贴" not in told.text
        # Urgent, so the head's phone is told as well.
        assert OutboxMessage.objects.filter(notification=told, channel="sms").exists()

    def test_it_leaves_a_notice_that_was_read(self, world, settings, client):
        settings.NOTIFY_ESCALATE_AFTER_MINUTES = 120
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            notice = _urgent(world)
            client.force_login(world.resp_staff)
            client.get(reverse("rectification:notification_open", args=[notice.pk]))
        with time_machine.travel(start + datetime.timedelta(hours=3), tick=False):
            assert notices_escalate() == 0
        assert not self._escalated_to_head(world).exists()

    def test_it_leaves_routine_notices(self, world, settings):
        settings.NOTIFY_ESCALATE_AFTER_MINUTES = 120
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            notify(
                recipient=world.resp_staff,
                kind=Notification.Kind.NEW_ASSIGNMENT,
                text="新分配的措施",
                link="/unit/",
                dedup_key="assign:routine",
            )
        with time_machine.travel(start + datetime.timedelta(hours=3), tick=False):
            assert notices_escalate() == 0

    def test_it_can_be_turned_off(self, world, settings):
        settings.NOTIFY_ESCALATE_AFTER_MINUTES = 0
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            _urgent(world)
        with time_machine.travel(start + datetime.timedelta(hours=3), tick=False):
            assert notices_escalate() == 0


class TestDeliveriesQueries:
    def test_its_queries_do_not_grow_with_the_rows(self, world, client, settings):
        settings.NOTIFY_CHANNELS = ["email"]
        client.force_login(world.office)

        def page_queries():
            with CaptureQueriesContext(connection) as context:
                assert client.get(reverse("rectification:deliveries")).status_code == 200
            return len(context.captured_queries)

        def add(people):
            for person in people:
                person.email = f"{person.username}@example.gov.cn"
                person.save(update_fields=["email"])
                for i in range(3):
                    notify(recipient=person, kind="dispatch", text="督办", link=f"/unit/{i}/", dedup_key=f"q:{i}")

        add([world.resp_staff])
        few = page_queries()
        add([world.resp_head, world.coop_staff])
        assert OutboxMessage.objects.count() == 9
        assert page_queries() == few


DINGTALK_KEY = "dingabcdef123456"
DINGTALK_SECRET = "dingtalk-secret-from-env"
DINGTALK_AGENT = 2890001


@pytest.fixture
def dingtalk(settings, platform, world):
    settings.NOTIFY_CHANNELS = ["dingtalk"]
    settings.DINGTALK_API_BASE = platform.url
    settings.DINGTALK_APP_KEY = DINGTALK_KEY
    settings.DINGTALK_APP_SECRET = DINGTALK_SECRET
    settings.DINGTALK_AGENT_ID = DINGTALK_AGENT
    settings.SITE_URL = "https://zg.example.gov.cn"
    cache.delete(DINGTALK_TOKEN_CACHE_KEY)
    world.resp_staff.dingtalk_userid = "manager4220"
    world.resp_staff.save(update_fields=["dingtalk_userid"])
    yield platform
    cache.delete(DINGTALK_TOKEN_CACHE_KEY)


def ding_gettoken(token="DT-1"):
    def answer(request):
        assert request["method"] == "GET" and request["path"] == "/gettoken"
        assert request["query"] == {"appkey": DINGTALK_KEY, "appsecret": DINGTALK_SECRET}
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    return answer


def ding_send(token="DT-1", errcode=0, errmsg="ok"):
    def answer(request):
        assert request["method"] == "POST"
        assert request["path"] == "/topapi/message/corpconversation/asyncsend_v2"
        assert request["query"] == {"access_token": token}
        if errcode:
            return 200, {"errcode": errcode, "errmsg": errmsg, "request_id": "r1"}
        return 200, {"errcode": 0, "errmsg": "ok", "task_id": 256271667526, "request_id": "r1"}

    return answer


class TestDingtalkChannel:
    def test_it_sends_a_work_notification_as_documented(self, world, dingtalk):
        notice = _urgent(world)
        dingtalk.answers = [ding_gettoken(), ding_send()]
        assert outbox_send() == 1
        assert dingtalk.requests[1]["body"] == {
            "agent_id": DINGTALK_AGENT,
            "userid_list": "manager4220",
            "msg": {
                "msgtype": "action_card",
                "action_card": {
                    "title": "【巡视整改督办台账】调度与督办",
                    "markdown": "#### 【巡视整改督办台账】调度与督办\n\n您有一条新的通知，请点击查看。",
                    "single_title": "查看",
                    "single_url": f"https://zg.example.gov.cn/notifications/{notice.pk}/",
                },
            },
        }
        assert _rows(world, "dingtalk").get().state == OutboxMessage.State.SENT

    def test_it_fetches_a_new_token_once_when_it_expired(self, world, dingtalk):
        _urgent(world)
        dingtalk.answers = [
            ding_gettoken("OLD"),
            ding_send("OLD", 42001, "access_token超时"),
            ding_gettoken("NEW"),
            ding_send("NEW"),
        ]
        assert outbox_send() == 1

    def test_it_fails_without_retrying_on_a_refusal(self, world, dingtalk):
        _urgent(world)
        dingtalk.answers = [ding_gettoken(), ding_send(errcode=33012, errmsg="无效的userid")]
        outbox_send()
        row = _rows(world, "dingtalk").get()
        assert row.state == OutboxMessage.State.FAILED and "33012" in row.last_error


class TestNagCap:
    """No one gets the same reminder (same kind, about the same thing) twice in a day by an outside
    channel; the bell still shows each one."""

    @pytest.fixture
    def mail(self, world, settings):
        settings.NOTIFY_CHANNELS = ["email"]
        world.resp_staff.email = "lly@example.gov.cn"
        world.resp_staff.save(update_fields=["email"])

    def _nag(self, world, key, *, kind=Notification.Kind.DISPATCH, link=None):
        return notify(
            recipient=world.resp_staff,
            kind=kind,
            text="请尽快报送本周进展。",
            link=world.resp_measure.get_absolute_url() if link is None else link,
            dedup_key=key,
        )

    def test_it_sends_the_same_reminder_once_a_day(self, world, mail, mailoutbox):
        # 09:00 and 17:30 Beijing time, the same day.
        with time_machine.travel(datetime.datetime(2026, 3, 2, 1, 0, tzinfo=datetime.UTC), tick=False):
            self._nag(world, "nag:morning")
            assert outbox_send() == 1
        with time_machine.travel(datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC), tick=False):
            self._nag(world, "nag:evening")
            assert outbox_send() == 0
        assert len(mailoutbox) == 1
        assert Notification.objects.filter(recipient=world.resp_staff, dedup_key__startswith="nag:").count() == 2

    def test_it_sends_it_again_the_next_local_day(self, world, mail, mailoutbox):
        # 23:30 Beijing time, then 00:10 the next day there (both the same UTC day).
        with time_machine.travel(datetime.datetime(2026, 3, 2, 15, 30, tzinfo=datetime.UTC), tick=False):
            self._nag(world, "nag:late")
            outbox_send()
        with time_machine.travel(datetime.datetime(2026, 3, 2, 16, 10, tzinfo=datetime.UTC), tick=False):
            self._nag(world, "nag:after-midnight")
            outbox_send()
        assert len(mailoutbox) == 2

    def test_another_kind_or_subject_is_another_reminder(self, world, mail, mailoutbox):
        with time_machine.travel(datetime.datetime(2026, 3, 2, 2, 0, tzinfo=datetime.UTC), tick=False):
            self._nag(world, "nag:1")
            self._nag(world, "nag:2", kind=Notification.Kind.REPORT_RETURNED)
            self._nag(world, "nag:3", link="/unit/")
            outbox_send()
        assert len(mailoutbox) == 3

    def test_it_caps_each_person_alone(self, world, mail, mailoutbox):
        world.resp_head.email = "head@example.gov.cn"
        world.resp_head.save(update_fields=["email"])
        with time_machine.travel(datetime.datetime(2026, 3, 2, 2, 0, tzinfo=datetime.UTC), tick=False):
            self._nag(world, "nag:1")
            notify(
                recipient=world.resp_head,
                kind=Notification.Kind.DISPATCH,
                text="请尽快报送本周进展。",
                link=world.resp_measure.get_absolute_url(),
                dedup_key="nag:1",
            )
            outbox_send()
        assert sorted(m.to[0] for m in mailoutbox) == ["head@example.gov.cn", "lly@example.gov.cn"]


class TestQuietHours:
    """A routine notice written in the person's quiet hours (22:00 to 07:30 Beijing time unless they
    set others) waits until they end; an urgent one goes at once. (With the daily digest off: with
    it on, routine notices wait for the digest, which waits for the quiet hours in turn.)"""

    @pytest.fixture
    def mail(self, world, settings):
        settings.NOTIFY_DIGEST_HOUR = -1
        settings.NOTIFY_CHANNELS = ["email"]
        world.resp_staff.email = "lly@example.gov.cn"
        world.resp_staff.save(update_fields=["email"])

    def _routine(self, world, key="assign:quiet"):
        return notify(
            recipient=world.resp_staff,
            kind=Notification.Kind.NEW_ASSIGNMENT,
            text="新分配的措施",
            link="/unit/",
            dedup_key=key,
        )

    @staticmethod
    def _beijing(day, hour, minute=0):
        return datetime.datetime(2026, 3, day, hour, minute, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))

    def test_it_holds_a_routine_notice_until_the_morning(self, world, mail, mailoutbox):
        with time_machine.travel(self._beijing(2, 23, 15), tick=False):
            self._routine(world)
            assert outbox_send() == 0
        with time_machine.travel(self._beijing(3, 7, 29), tick=False):
            assert outbox_send() == 0
        with time_machine.travel(self._beijing(3, 7, 30), tick=False):
            assert outbox_send() == 1
        assert [m.to for m in mailoutbox] == [["lly@example.gov.cn"]]

    def test_it_holds_one_written_after_midnight_until_the_same_morning(self, world, mail, mailoutbox):
        with time_machine.travel(self._beijing(3, 5, 0), tick=False):
            self._routine(world)
            assert outbox_send() == 0
        with time_machine.travel(self._beijing(3, 7, 30), tick=False):
            assert outbox_send() == 1

    def test_it_sends_an_urgent_notice_at_once(self, world, mail, mailoutbox):
        with time_machine.travel(self._beijing(2, 23, 15), tick=False):
            _urgent(world)
            assert outbox_send() == 1

    def test_it_sends_at_once_outside_the_quiet_hours(self, world, mail, mailoutbox):
        with time_machine.travel(self._beijing(2, 21, 59), tick=False):
            self._routine(world)
            assert outbox_send() == 1

    def test_it_follows_the_persons_own_hours(self, world, mail, mailoutbox):
        world.resp_staff.quiet_from, world.resp_staff.quiet_until = datetime.time(12, 0), datetime.time(14, 0)
        world.resp_staff.save(update_fields=["quiet_from", "quiet_until"])
        with time_machine.travel(self._beijing(2, 23, 15), tick=False):
            self._routine(world, "assign:night")
            assert outbox_send() == 1
        with time_machine.travel(self._beijing(3, 12, 30), tick=False):
            self._routine(world, "assign:noon")
            assert outbox_send() == 0
        with time_machine.travel(self._beijing(3, 14, 0), tick=False):
            assert outbox_send() == 1

    def test_a_person_without_quiet_hours_is_reached_at_night(self, world, mail, mailoutbox):
        world.resp_staff.quiet_from = world.resp_staff.quiet_until = None
        world.resp_staff.save(update_fields=["quiet_from", "quiet_until"])
        with time_machine.travel(self._beijing(2, 23, 15), tick=False):
            self._routine(world)
            assert outbox_send() == 1


def _beijing(day, hour, minute=0):
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


class TestDailyDigest:
    """Routine notices reach the outside channels as one message a day per person, at
    NOTIFY_DIGEST_HOUR (8:00 by default), counting each kind, with one link to the bell."""

    @pytest.fixture
    def mail(self, world, settings):
        settings.NOTIFY_CHANNELS = ["email"]
        settings.SITE_URL = "https://zg.example.gov.cn"
        world.resp_staff.email = "lly@example.gov.cn"
        world.resp_staff.save(update_fields=["email"])
        cache.clear()
        yield
        cache.clear()

    def _routine(self, world, key, kind=Notification.Kind.NEW_ASSIGNMENT, person=None):
        return notify(
            recipient=person or world.resp_staff,
            kind=kind,
            text="新分配给本单位的整改措施 1.1.1：全面清理违规发放的津贴补贴",
            link=f"/measures/{key}/",
            dedup_key=key,
        )

    def _sweep(self):
        digests_write()
        return outbox_send()

    def test_it_gathers_a_days_routine_notices_into_one_message(self, world, mail, mailoutbox):
        with time_machine.travel(_beijing(2, 10, 0), tick=False):
            self._routine(world, "a1")
            self._routine(world, "a2")
            self._routine(world, "c1", kind=Notification.Kind.REPORT_CONFIRMED)
            assert self._sweep() == 0
        with time_machine.travel(_beijing(3, 7, 59), tick=False):
            assert self._sweep() == 0
        with time_machine.travel(_beijing(3, 8, 0), tick=False):
            assert self._sweep() == 1
        with time_machine.travel(_beijing(3, 8, 1), tick=False):
            assert self._sweep() == 0
        [mail_] = mailoutbox
        assert mail_.subject == "【巡视整改督办台账】每日通知汇总"
        assert "您有3条未读的一般通知：" in mail_.body
        assert "新分配的任务2条" in mail_.body and "周报已确认1条" in mail_.body
        assert "https://zg.example.gov.cn/notifications/" in mail_.body
        assert "津贴补贴" not in mail_.body

    def test_it_leaves_out_what_was_read_and_sends_nothing_when_all_was(self, world, mail, mailoutbox, client):
        with time_machine.travel(_beijing(2, 10, 0), tick=False):
            notice = self._routine(world, "a1")
        client.force_login(world.resp_staff)
        client.get(reverse("rectification:notification_open", args=[notice.pk]))
        with time_machine.travel(_beijing(3, 8, 0), tick=False):
            assert self._sweep() == 0
        assert mailoutbox == []

    def test_it_never_holds_back_an_urgent_notice(self, world, mail, mailoutbox):
        with time_machine.travel(_beijing(2, 10, 0), tick=False):
            _urgent(world)
            self._routine(world, "a1")
            assert self._sweep() == 1
        with time_machine.travel(_beijing(3, 8, 0), tick=False):
            assert self._sweep() == 1
        assert [m.subject for m in mailoutbox] == ["【巡视整改督办台账】调度与督办", "【巡视整改督办台账】每日通知汇总"]
        assert "您有1条未读的一般通知：新分配的任务1条。" in mailoutbox[1].body

    def test_a_notice_after_the_digest_hour_waits_for_the_next_one(self, world, mail, mailoutbox):
        with time_machine.travel(_beijing(3, 8, 30), tick=False):
            self._routine(world, "late")
            assert self._sweep() == 0
        with time_machine.travel(_beijing(4, 8, 0), tick=False):
            assert self._sweep() == 1

    def test_it_writes_one_per_person(self, world, mail, mailoutbox):
        world.resp_head.email = "head@example.gov.cn"
        world.resp_head.save(update_fields=["email"])
        with time_machine.travel(_beijing(2, 10, 0), tick=False):
            self._routine(world, "a1")
            self._routine(world, "a2")
            self._routine(world, "a1", person=world.resp_head)
        with time_machine.travel(_beijing(3, 9, 15), tick=False):
            assert self._sweep() == 2
        assert sorted(m.to[0] for m in mailoutbox) == ["head@example.gov.cn", "lly@example.gov.cn"]

    def test_it_follows_the_digest_hour_setting(self, world, mail, mailoutbox, settings):
        settings.NOTIFY_DIGEST_HOUR = 17
        with time_machine.travel(_beijing(2, 16, 0), tick=False):
            self._routine(world, "a1")
        with time_machine.travel(_beijing(2, 16, 59), tick=False):
            assert self._sweep() == 0
        with time_machine.travel(_beijing(2, 17, 0), tick=False):
            assert self._sweep() == 1

    def test_it_waits_for_the_end_of_the_persons_quiet_hours(self, world, mail, mailoutbox):
        world.resp_staff.quiet_from, world.resp_staff.quiet_until = datetime.time(22, 0), datetime.time(9, 0)
        world.resp_staff.save(update_fields=["quiet_from", "quiet_until"])
        with time_machine.travel(_beijing(2, 10, 0), tick=False):
            self._routine(world, "a1")
        with time_machine.travel(_beijing(3, 8, 0), tick=False):
            assert self._sweep() == 0
        with time_machine.travel(_beijing(3, 9, 0), tick=False):
            assert self._sweep() == 1

    def test_it_is_sent_by_the_per_minute_sweep(self, world, mail, mailoutbox):
        from rectification.tasks import outbox_sweep

        with time_machine.travel(_beijing(2, 10, 0), tick=False):
            self._routine(world, "a1")
        with time_machine.travel(_beijing(3, 8, 0), tick=False):
            assert outbox_sweep() == 1
        assert len(mailoutbox) == 1

    def test_the_office_sees_it_as_a_digest(self, world, mail, client):
        with time_machine.travel(_beijing(2, 10, 0), tick=False):
            self._routine(world, "a1")
        with time_machine.travel(_beijing(3, 8, 0), tick=False):
            digests_write()
        client.force_login(world.office)
        page = client.get(reverse("rectification:deliveries")).content.decode()
        assert "每日通知汇总" in page and "您有1条未读的一般通知：新分配的任务1条。" in page

    def test_it_can_be_turned_off(self, world, mail, mailoutbox, settings):
        settings.NOTIFY_DIGEST_HOUR = -1
        with time_machine.travel(_beijing(2, 10, 0), tick=False):
            self._routine(world, "a1")
            assert self._sweep() == 1
        assert mailoutbox[0].subject == "【巡视整改督办台账】新分配的任务"
