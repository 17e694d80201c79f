"""Time-based one-time passwords (RFC 6238, the codes of any authenticator app)."""

import hmac
import time

import pyotp
from django.conf import settings

from . import crypto

# A code is accepted during its own 30-second step and one step either side (clock drift).
VALID_WINDOW = 1


def secret_new():
    return pyotp.random_base32()


def secret_seal(user, secret):
    """``secret`` as stored in ``user.totp_secret``: sealed for that one account (accounts.crypto)."""
    return crypto.seal(secret, context=f"accounts.User.totp_secret:{user.pk}")


def secret_of(user):
    """The clear secret of ``user``, "" without one; raises crypto.SealError when the stored value
    does not open (another key, or an altered row), so a bad row never passes for a good one."""
    if not user.totp_secret:
        return ""
    return crypto.unseal(user.totp_secret, context=f"accounts.User.totp_secret:{user.pk}")


def pending_seal(user, secret):
    """A secret offered during setup, as kept in the session (sessions live in the database too)."""
    return crypto.seal(secret, context=f"totp-setup:{user.pk}")


def pending_open(user, sealed):
    """The secret offered during setup, or None when the session holds none that opens."""
    try:
        return crypto.unseal(sealed, context=f"totp-setup:{user.pk}") if sealed else None
    except crypto.SealError:
        return None


def provisioning_uri(user, secret):
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=settings.TOTP_ISSUER)


def secret_grouped(secret):
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret, code, now=None):
    """The time step whose code equals ``code``, or None."""
    code = "".join((code or "").split())
    if not secret or len(code) != 6 or not code.isdecimal():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // totp.interval)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
