from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import chain_verify


class Command(BaseCommand):
    help = "校验审计日志的哈希链：报告第一条被改动、删除或插入的记录。链完整时退出码为 0，否则为 1。"

    def handle(self, *args, **options):
        broken, checked = chain_verify()
        if broken is not None:
            raise CommandError(
                f"审计日志哈希链在第 {broken.event_id} 号记录处断裂：{broken.reason}（此前 {checked} 条完整）。"
            )
        self.stdout.write(self.style.SUCCESS(f"审计日志哈希链完整：共校验 {checked} 条记录。"))
