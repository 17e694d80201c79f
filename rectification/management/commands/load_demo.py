from django.core.management.base import BaseCommand

from rectification.demo import DEMO_PASSWORD, demo_load, demo_logins


class Command(BaseCommand):
    help = "载入示范区演示数据（已载入时不重复创建），并列出演示账号。"

    def handle(self, *args, **options):
        if demo_load():
            self.stdout.write(self.style.SUCCESS("示范区演示数据已载入。"))
        else:
            self.stdout.write("示范区演示数据此前已载入，未作改动。")
        self.stdout.write("")
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for login in demo_logins():
            self.stdout.write(f"  {login.username:<10} {login.description}")
