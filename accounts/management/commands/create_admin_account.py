"""Create one of the three administrators' accounts (三员) from the server's command line.

The first system, security and audit administrators have nobody to create them in the browser,
and no everyday account may be a Django superuser; this command is how they come to exist.
"""

import getpass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_create
from accounts.ui import error_text

ROLES = {"system": Role.SYSTEM_ADMIN, "security": Role.SECURITY_ADMIN, "audit": Role.AUDIT_ADMIN}


class Command(BaseCommand):
    help = "创建系统管理员、安全管理员或审计管理员账号（三员分立，各为专用账号，均不是超级用户）。"

    def add_arguments(self, parser):
        # No argparse choices: its refusal would be in English; handle() refuses in Chinese.
        parser.add_argument("role", help="system / security / audit")
        parser.add_argument("username")
        parser.add_argument("full_name")

    def handle(self, *args, role, username, full_name, **options):
        if role not in ROLES:
            raise CommandError("角色须为 system（系统管理员）、security（安全管理员）或 audit（审计管理员）。")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"用户名 {username} 已存在。")
        password = getpass.getpass("密码：")
        if password != getpass.getpass("再次输入密码："):
            raise CommandError("两次输入的密码不一致。")
        probe = User(username=username, full_name=full_name)
        try:
            validate_password(password, probe)
        except ValidationError as error:
            raise CommandError(error_text(error)) from None
        user_create(actor=None, username=username, full_name=full_name, password=password, roles=[ROLES[role]])
        self.stdout.write(self.style.SUCCESS(f"已创建{Role(ROLES[role]).label}账号 {username}。"))
