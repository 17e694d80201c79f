"""Password rules: complexity, no reuse of recent passwords, expiry.

The two validators are listed in ``AUTH_PASSWORD_VALIDATORS``, so every form that sets a password
(the password change page, the admin, ``user_create``) applies them. ``HistoryValidator`` also
records each new password when it is saved (Django calls ``password_changed`` then).
"""

import datetime

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _


def character_classes(password):
    """Which of lowercase letters, uppercase letters, digits and other symbols the password uses."""
    found = set()
    for char in password:
        if "a" <= char <= "z":
            found.add("lower")
        elif "A" <= char <= "Z":
            found.add("upper")
        elif "0" <= char <= "9":
            found.add("digit")
        elif not char.isspace():
            found.add("symbol")
    return found


class ComplexityValidator:
    """At least ``min_length`` characters from at least ``min_classes`` of the four classes."""

    def __init__(self, min_length=8, min_classes=3):
        self.min_length = min_length
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if len(password) < self.min_length or len(character_classes(password)) < self.min_classes:
            raise ValidationError(self._text(), code="password_too_simple")

    def get_help_text(self):
        return self._text()

    def _text(self):
        return _("密码长度至少 %(length)d 位，且须包含大写字母、小写字母、数字、特殊符号中的至少 %(classes)d 类。") % {
            "length": self.min_length,
            "classes": self.min_classes,
        }


class HistoryValidator:
    """Refuses the current password and the ``count`` passwords before it; records each new one."""

    def __init__(self, count=5):
        self.count = count

    def _recent_hashes(self, user):
        from .models import PasswordHistory

        hashes = list(PasswordHistory.objects.filter(user=user).values_list("password", flat=True)[: self.count])
        # Accounts created with a ready-made hash (the demo) have no history row for it yet.
        if user.password and user.password not in hashes:
            hashes.insert(0, user.password)
        return hashes[: self.count]

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        for encoded in self._recent_hashes(user):
            if check_password(password, encoded):
                raise ValidationError(self._text(), code="password_reused")

    def password_changed(self, password, user=None):
        if user is None or user.pk is None:
            return
        password_history_record(user, keep=self.count)

    def get_help_text(self):
        return self._text()

    def _text(self):
        return _("新密码不能与最近使用过的 %(count)d 个密码相同。") % {"count": self.count}


def password_history_record(user, *, keep):
    """Remember the password just saved, forget older ones, and restart the expiry clock."""
    from .models import PasswordHistory, User

    now = timezone.now()
    PasswordHistory.objects.create(user=user, password=user.password, created_at=now)
    kept = list(PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[:keep])
    PasswordHistory.objects.filter(user=user).exclude(pk__in=kept).delete()
    User.objects.filter(pk=user.pk).update(password_changed_at=now)
    user.password_changed_at = now


def password_expired(user, now=None):
    """True when the person must change their password before doing anything else."""
    if user.password_changed_at is None:
        return True
    days = settings.PASSWORD_EXPIRY_DAYS
    if not days:
        return False
    now = now or timezone.now()
    return user.password_changed_at + datetime.timedelta(days=days) <= now
