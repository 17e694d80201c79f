"""``manage.py migrate`` as the owner role when one is configured, then the application role's grants.

With ``DATABASE_OWNER_URL`` set, the migrations connect as that role (which owns the tables), and
afterwards the role of ``DATABASE_URL`` is granted what the application may do
(``accounts.database``). Without it, this is Django's own ``migrate``."""

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections

from accounts.database import grant_application_role

OWNER_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT")


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        owner = dict(settings.DATABASE_OWNER or {}) or None
        if owner is None or options["database"] != DEFAULT_DB_ALIAS:
            return super().handle(*args, **options)
        connection = connections[DEFAULT_DB_ALIAS]
        settings_dict: dict = connection.settings_dict
        application = dict(settings_dict)
        if owner["NAME"] != application["NAME"] or owner["HOST"] != application["HOST"]:
            raise CommandError(
                "DATABASE_OWNER_URL 与 DATABASE_URL 必须指向同一个数据库，只是角色（用户名和密码）不同。"
            )
        connection.close()
        settings_dict.update({key: owner[key] for key in OWNER_KEYS})
        try:
            super().handle(*args, **options)
            if application["USER"] and application["USER"] != owner["USER"]:
                grant_application_role(application["USER"], connection=connection)
                if options["verbosity"] >= 1:
                    self.stdout.write(f"已授予应用角色 {application['USER']} 所需权限（审计日志只可查询和追加）。")
        finally:
            connection.close()
            settings_dict.update({key: application[key] for key in OWNER_KEYS})
