"""The outside channels a notice can take: one small adapter per platform.

Each adapter knows where a person is reached on it (``address``) and how to hand one message to the
platform (``send``). ``send`` returns on success and raises ``ChannelDown`` when the platform could
not take the message now (network, timeout, "busy", an expired token after one refresh): the outbox
tries again later. It raises ``ChannelRefused`` when trying again would not help (no such user, a
wrong secret): the office sees the message as failed and may resend it once the cause is fixed.

How a channel is reached comes from the system administrator's setup in the browser
(``ChannelSetup``: on or off, parameters, secrets sealed at rest), each empty field falling back to
its environment setting; ``NOTIFY_CHANNELS`` still decides which channels the deployment has at all.
Secrets are opened only to send and never written to a log. What goes to an outside platform is a
short title and a link (``Outgoing``), never a finding's text.

Group robots (``GroupRobot``: 企业微信 group robots, 钉钉 custom robots) post to a whole group by
its webhook; they are switched on for the deployment by ``wecom_robot`` / ``dingtalk_robot`` in
``NOTIFY_CHANNELS``.
"""

import base64
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

from accounts import crypto
from accounts.models import Channel

from ..models import CHANNEL_FIELDS, ChannelSetup, GroupRobot

# The administrator's setups, as stored (secrets still sealed), cached for every notice written;
# ``channel_setup_save`` deletes it.
SETUP_CACHE_KEY = "notify:channel-setups"


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


def _setups():
    rows = cache.get(SETUP_CACHE_KEY)
    if rows is None:
        rows = {
            setup.kind: {"enabled": setup.enabled, "params": setup.params, "sealed": setup.sealed}
            for setup in ChannelSetup.objects.all()
        }
        cache.set(SETUP_CACHE_KEY, rows, 60)
    return rows


def deployment_has(kind):
    """Whether the deployment's settings allow this channel or robot platform (``NOTIFY_CHANNELS``)."""
    return kind in set(getattr(settings, "NOTIFY_CHANNELS", ()))


def channel_on(kind):
    """Allowed by the deployment and not switched off by the system administrator."""
    return deployment_has(kind) and _setups().get(kind, {}).get("enabled", True)


def secret_context(kind, field):
    return f"channel:{kind}:{field}"


def channel_values(kind):
    """The parameters a channel is sent with: the administrator's value of each field, or the
    environment setting where the field was left empty. Secrets are opened here, only to send."""
    setup = _setups().get(kind, {})
    values = {}
    for name, _label, setting, secret in CHANNEL_FIELDS[kind]:
        if secret:
            sealed = setup.get("sealed", {}).get(name)
            value = _unsealed(sealed, secret_context(kind, name)) if sealed else ""
        else:
            value = setup.get("params", {}).get(name, "")
        values[name] = value if value not in ("", None) else getattr(settings, setting)
    return values


def _unsealed(sealed, context):
    try:
        return crypto.unseal(sealed, context=context)
    except crypto.SealError as error:
        # Another FIELD_ENCRYPTION_KEY, or an altered row: retrying would not help.
        raise ChannelRefused("保存的密钥无法解密（加密密钥已更换？），请系统管理员在“通知渠道”页面重新填写") from error


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
        config = channel_values(self.channel)
        if not (config["url"] and config["secret"]):
            raise ChannelRefused("短信网关未配置（网关地址、签名密钥）")
        params = {
            "app_key": config["app_key"],
            "mobile": message.address,
            "content": f"{message.title}：{message.text} {message.link}",
            "sign_name": config["sign_name"],
            "template_id": config["template_id"],
            "request_id": message.key,
            "timestamp": str(int(time.time())),
            "nonce": secrets.token_hex(8),
        }
        params["sign"] = sms_signature(params, config["secret"])
        answer = _http_json(config["url"], payload=params)
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

    def _configured(self) -> dict:
        raise NotImplementedError

    def _token_url(self, config):
        raise NotImplementedError

    def _send_url(self, config, token):
        raise NotImplementedError

    def _body(self, config, message):
        raise NotImplementedError

    def _token(self, config, *, fresh=False):
        token = None if fresh else cache.get(self.cache_key)
        if token:
            return token
        answer = _http_json(self._token_url(config))
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
        config = self._configured()
        body = self._body(config, message)
        for fresh in (False, True):
            answer = _http_json(self._send_url(config, self._token(config, fresh=fresh)), payload=body)
            errcode = answer.get("errcode", 0)
            if errcode == 0:
                self._accepted(answer)
                return
            if errcode in TOKEN_INVALID and not fresh:
                cache.delete(self.cache_key)
                continue
            text = f"{self.name}返回 {errcode}：{answer.get('errmsg', '')}"
            raise (ChannelDown if errcode in RETRY_LATER | TOKEN_INVALID else ChannelRefused)(text)


def _base(config):
    return str(config["api_base"]).rstrip("/")


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
        config = channel_values(self.channel)
        if not (config["corp_id"] and config["corp_secret"] and config["agent_id"]):
            raise ChannelRefused("企业微信未配置（企业ID、应用Secret、应用AgentId）")
        return config

    def _token_url(self, config):
        query = urllib.parse.urlencode({"corpid": config["corp_id"], "corpsecret": config["corp_secret"]})
        return f"{_base(config)}/cgi-bin/gettoken?{query}"

    def _send_url(self, config, token):
        return f"{_base(config)}/cgi-bin/message/send?{urllib.parse.urlencode({'access_token': token})}"

    def _body(self, config, message):
        return {
            "touser": message.address,
            "msgtype": "textcard",
            "agentid": int(config["agent_id"]),
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
        config = channel_values(self.channel)
        if not (config["app_key"] and config["app_secret"] and config["agent_id"]):
            raise ChannelRefused("钉钉未配置（AppKey、AppSecret、AgentId）")
        return config

    def _token_url(self, config):
        query = urllib.parse.urlencode({"appkey": config["app_key"], "appsecret": config["app_secret"]})
        return f"{_base(config)}/gettoken?{query}"

    def _send_url(self, config, token):
        query = urllib.parse.urlencode({"access_token": token})
        return f"{_base(config)}/topapi/message/corpconversation/asyncsend_v2?{query}"

    def _body(self, config, message):
        return {
            "agent_id": int(config["agent_id"]),
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
    """The adapters of the channels this deployment has (``settings.NOTIFY_CHANNELS``) and the
    system administrator has not switched off."""
    return [adapter for channel, adapter in ADAPTERS.items() if channel_on(channel)]


# --- group robots ------------------------------------------------------------------------------------


def _robot_answer(name, answer, retry_later):
    errcode = answer.get("errcode", 0)
    if errcode == 0:
        return
    text = f"{name}返回 {errcode}：{answer.get('errmsg', '')}"
    raise (ChannelDown if errcode in retry_later else ChannelRefused)(text)


class WecomRobot:
    """企业微信 group robot (群机器人): a markdown message POSTed to the group's webhook
    (``.../cgi-bin/webhook/send?key=KEY``), answered by ``{"errcode": 0, "errmsg": "ok"}``. 45009
    (more than 20 messages a minute) and -1 (busy) are tried again later; anything else, such as
    93000 (the webhook address is wrong or the robot was removed), is refused."""

    platform = GroupRobot.Platform.WECOM
    name = "企业微信群机器人"
    retry_later = {-1, 45009}

    def body(self, message):
        # The markdown content may hold at most 4096 bytes; our messages are a few hundred.
        return {
            "msgtype": "markdown",
            "markdown": {"content": f"**{message.title}**\n{message.text}\n[点击查看]({message.link})"},
        }

    def url(self, webhook, secret):
        return webhook

    def send(self, message, *, secret=""):
        answer = _http_json(self.url(message.address, secret), payload=self.body(message))
        _robot_answer(self.name, answer, self.retry_later)


def dingtalk_robot_sign(timestamp, secret):
    """钉钉 加签: HmacSHA256 keyed with the secret over ``timestamp + "\n" + secret``, Base64, then
    URL-encoded (UTF-8)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


class DingtalkRobot(WecomRobot):
    """钉钉 custom robot (自定义机器人): a markdown message POSTed to the webhook
    (``.../robot/send?access_token=TOKEN``), with ``&timestamp=<ms>&sign=<sign>`` appended when the
    robot signs (加签, ``dingtalk_robot_sign``). 130101 and 410100 (sending too fast) and -1 are
    tried again later; 310000 (wrong signature, missing keyword, address not allowed), 300001 /
    400101 (no such robot) and the others are refused."""

    platform = GroupRobot.Platform.DINGTALK
    name = "钉钉群机器人"
    retry_later = {-1, 130101, 410100}

    def body(self, message):
        return {
            "msgtype": "markdown",
            "markdown": {
                "title": message.title,
                "text": f"#### {message.title}\n\n{message.text}\n\n[点击查看]({message.link})",
            },
        }

    def url(self, webhook, secret):
        if not secret:
            return webhook
        timestamp = str(round(time.time() * 1000))
        joiner = "&" if "?" in webhook else "?"
        return f"{webhook}{joiner}timestamp={timestamp}&sign={dingtalk_robot_sign(timestamp, secret)}"


ROBOTS: dict[str, WecomRobot] = {robot.platform.value: robot for robot in (WecomRobot(), DingtalkRobot())}


def robot_context(robot_pk, field):
    return f"robot:{robot_pk}:{field}"


def robot_secrets(robot):
    """The robot's webhook address and signing secret, opened only to send."""
    webhook = crypto.unseal(robot.webhook_sealed, context=robot_context(robot.pk, "webhook"))
    secret = (
        crypto.unseal(robot.secret_sealed, context=robot_context(robot.pk, "secret")) if robot.secret_sealed else ""
    )
    return webhook, secret
