"""The outside channels a notice can take: one small adapter per platform.

Each adapter knows where a person is reached on it (``address``) and how to hand one message to the
platform (``send``). ``send`` returns on success and raises ``ChannelDown`` when the platform could
not take the message now (network, timeout, "busy", an expired token after one refresh): the outbox
tries again later. It raises ``ChannelRefused`` when trying again would not help (no such user, a
wrong secret): the office sees the message as failed and may resend it once the cause is fixed.

Secrets come from the environment (``settings``) and are never written to the database or a log.
What goes to an outside platform is a short title and a link (``Outgoing``), never a finding's text.
"""

import hashlib
import hmac
import json
import secrets
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail

from accounts.models import Channel


class ChannelDown(Exception):
    """The platform did not take the message now; it is tried again later."""


class ChannelRefused(Exception):
    """The platform refused the message for a reason a retry does not fix."""


@dataclass(frozen=True)
class Outgoing:
    """One message for one person: ``key`` is the idempotency key, ``title`` short, ``link`` absolute."""

    key: str
    address: str
    title: str
    text: str
    link: str
    urgent: bool


def _timeout():
    return getattr(settings, "NOTIFY_HTTP_TIMEOUT", 10)


def _http_json(url, *, payload=None, headers=None):
    """GET (no payload) or POST a JSON body; the platform's JSON answer. A network failure, a timeout,
    an HTTP 5xx or 429 is ``ChannelDown``; another HTTP error, ``ChannelRefused``."""
    data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    if data is not None:
        request.add_header("Content-Type", "application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=_timeout()) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise ChannelDown(f"HTTP {error.code}") from error
        raise ChannelRefused(f"HTTP {error.code}") from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise ChannelDown(f"无法连接：{error}") from error
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ChannelDown("平台返回的不是 JSON") from error


class EmailChannel:
    channel = Channel.EMAIL
    urgent_only = False

    def address(self, person):
        return person.email

    def send(self, message):
        try:
            send_mail(
                subject=message.title,
                message=f"{message.text}\n\n{message.link}",
                from_email=None,
                recipient_list=[message.address],
                fail_silently=False,
            )
        except smtplib.SMTPRecipientsRefused as error:
            raise ChannelRefused("邮件服务器拒收该地址") from error
        except (smtplib.SMTPException, OSError) as error:
            raise ChannelDown(f"邮件服务器：{error}") from error


def sms_signature(params, secret):
    """The gateway's signature (docs/DEPLOYMENT.md): HMAC-SHA256, keyed with the secret, over the
    parameters other than ``sign`` sorted by name and joined as ``name=value&...``; lower-case hex."""
    canonical = "&".join(f"{name}={params[name]}" for name in sorted(params) if name != "sign")
    return hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


class SmsChannel:
    """An SMS gateway over HTTP, in the shape most district gateways take: a signed JSON POST
    answered by ``{"code": "0", "message": ...}``. Only urgent notices go by SMS (each costs money
    and interrupts the person)."""

    channel = Channel.SMS
    urgent_only = True

    def address(self, person):
        return person.mobile

    def send(self, message):
        if not (settings.SMS_GATEWAY_URL and settings.SMS_GATEWAY_SECRET):
            raise ChannelRefused("短信网关未配置（SMS_GATEWAY_URL、SMS_GATEWAY_SECRET）")
        params = {
            "app_key": settings.SMS_GATEWAY_APP_KEY,
            "mobile": message.address,
            "content": f"{message.title}：{message.text} {message.link}",
            "sign_name": settings.SMS_GATEWAY_SIGN_NAME,
            "template_id": settings.SMS_GATEWAY_TEMPLATE_ID,
            "request_id": message.key,
            "timestamp": str(int(time.time())),
            "nonce": secrets.token_hex(8),
        }
        params["sign"] = sms_signature(params, settings.SMS_GATEWAY_SECRET)
        answer = _http_json(settings.SMS_GATEWAY_URL, payload=params)
        code = str(answer.get("code", ""))
        if code == "0":
            return
        text = f"短信网关返回 {code}：{answer.get('message', '')}"
        # The gateway's own "busy" and "too many" codes are worth another try; anything else is not.
        if code in {"-1", "busy", "429", "503"}:
            raise ChannelDown(text)
        raise ChannelRefused(text)


# Error codes shared by 企业微信 (https://developer.work.weixin.qq.com/document/path/90313) and
# 钉钉's server API: 不合法的access_token, access_token已过期 — fetch a new token, once.
TOKEN_INVALID = {40014, 42001}
# 系统繁忙, and 企业微信's 接口调用超过限制 / 接口并发调用超过限制: worth another try later.
RETRY_LATER = {-1, 45009, 45033}


class TokenPlatform:
    """A platform whose send call carries an access token fetched with the application's secret
    (企业微信, 钉钉): the token is cached until five minutes before it expires, fetched again once
    when the platform says it is invalid or expired, and never written anywhere else."""

    channel: Channel
    urgent_only = False
    name = ""
    cache_key = ""

    def address(self, person):
        raise NotImplementedError

    def _configured(self):
        raise NotImplementedError

    def _token_url(self):
        raise NotImplementedError

    def _send_url(self, token):
        raise NotImplementedError

    def _body(self, message):
        raise NotImplementedError

    def _token(self, *, fresh=False):
        token = None if fresh else cache.get(self.cache_key)
        if token:
            return token
        answer = _http_json(self._token_url())
        errcode = answer.get("errcode", 0)
        if errcode != 0 or not answer.get("access_token"):
            text = f"{self.name}获取凭证失败 {errcode}：{answer.get('errmsg', '')}"
            raise (ChannelDown if errcode in RETRY_LATER else ChannelRefused)(text)
        token = answer["access_token"]
        cache.set(self.cache_key, token, max(int(answer.get("expires_in", 7200)) - 300, 60))
        return token

    def _accepted(self, answer):
        """Raise if a successful answer still says the person was not reached."""

    def send(self, message):
        self._configured()
        body = self._body(message)
        for fresh in (False, True):
            answer = _http_json(self._send_url(self._token(fresh=fresh)), payload=body)
            errcode = answer.get("errcode", 0)
            if errcode == 0:
                self._accepted(answer)
                return
            if errcode in TOKEN_INVALID and not fresh:
                cache.delete(self.cache_key)
                continue
            text = f"{self.name}返回 {errcode}：{answer.get('errmsg', '')}"
            raise (ChannelDown if errcode in RETRY_LATER | TOKEN_INVALID else ChannelRefused)(text)


WECOM_TOKEN_CACHE_KEY = "notify:wecom:access_token"


class WecomChannel(TokenPlatform):
    """企业微信 application messages (应用消息): ``gettoken`` then ``message/send`` with a text card
    whose button opens the notice in the system."""

    channel = Channel.WECOM
    name = "企业微信"
    cache_key = WECOM_TOKEN_CACHE_KEY

    def address(self, person):
        return person.wecom_userid

    def _configured(self):
        if not (settings.WECOM_CORP_ID and settings.WECOM_CORP_SECRET and settings.WECOM_AGENT_ID):
            raise ChannelRefused("企业微信未配置（WECOM_CORP_ID、WECOM_CORP_SECRET、WECOM_AGENT_ID）")

    def _token_url(self):
        query = urllib.parse.urlencode({"corpid": settings.WECOM_CORP_ID, "corpsecret": settings.WECOM_CORP_SECRET})
        return f"{settings.WECOM_API_BASE}/cgi-bin/gettoken?{query}"

    def _send_url(self, token):
        return f"{settings.WECOM_API_BASE}/cgi-bin/message/send?{urllib.parse.urlencode({'access_token': token})}"

    def _body(self, message):
        return {
            "touser": message.address,
            "msgtype": "textcard",
            "agentid": settings.WECOM_AGENT_ID,
            "textcard": {
                "title": message.title,
                "description": message.text,
                "url": message.link,
                "btntxt": "查看",
            },
            # The platform drops the same message sent again within 30 minutes (a retry after a
            # worker died between sending and recording it).
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
        }

    def _accepted(self, answer):
        if answer.get("invaliduser"):
            raise ChannelRefused(f"企业微信无此成员或不在应用可见范围：{answer['invaliduser']}")


DINGTALK_TOKEN_CACHE_KEY = "notify:dingtalk:access_token"


class DingtalkChannel(TokenPlatform):
    """钉钉 work notifications (工作通知): ``gettoken`` then ``asyncsend_v2`` with an action card
    whose one button opens the notice in the system."""

    channel = Channel.DINGTALK
    name = "钉钉"
    cache_key = DINGTALK_TOKEN_CACHE_KEY

    def address(self, person):
        return person.dingtalk_userid

    def _configured(self):
        if not (settings.DINGTALK_APP_KEY and settings.DINGTALK_APP_SECRET and settings.DINGTALK_AGENT_ID):
            raise ChannelRefused("钉钉未配置（DINGTALK_APP_KEY、DINGTALK_APP_SECRET、DINGTALK_AGENT_ID）")

    def _token_url(self):
        query = urllib.parse.urlencode({"appkey": settings.DINGTALK_APP_KEY, "appsecret": settings.DINGTALK_APP_SECRET})
        return f"{settings.DINGTALK_API_BASE}/gettoken?{query}"

    def _send_url(self, token):
        query = urllib.parse.urlencode({"access_token": token})
        return f"{settings.DINGTALK_API_BASE}/topapi/message/corpconversation/asyncsend_v2?{query}"

    def _body(self, message):
        return {
            "agent_id": settings.DINGTALK_AGENT_ID,
            "userid_list": message.address,
            "msg": {
                "msgtype": "action_card",
                "action_card": {
                    "title": message.title,
                    "markdown": f"#### {message.title}\n\n{message.text}",
                    "single_title": "查看",
                    "single_url": message.link,
                },
            },
        }


ADAPTERS: dict[str, EmailChannel | SmsChannel | TokenPlatform] = {
    adapter.channel.value: adapter for adapter in (EmailChannel(), SmsChannel(), WecomChannel(), DingtalkChannel())
}


def adapters_enabled():
    """The adapters of the channels this deployment has (``settings.NOTIFY_CHANNELS``)."""
    wanted = set(getattr(settings, "NOTIFY_CHANNELS", ()))
    return [adapter for channel, adapter in ADAPTERS.items() if channel in wanted]
