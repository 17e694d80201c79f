from django.core.management.base import BaseCommand, CommandError

from accounts import anchoring


class Command(BaseCommand):
    help = (
        "把审计日志哈希链的链头（条数、最后一条的编号和校验码）追加到锚点文件。"
        "先按已有锚点校验整条链，校验不通过时不锚定并以退出码 1 结束。每天由后台任务自动执行一次。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", help="锚点文件（默认为 DJANGO_AUDIT_ANCHOR_FILE）")

    def handle(self, *args, **options):
        try:
            anchor = anchoring.anchor_append(options["file"])
        except anchoring.ChainBroken as exc:
            raise CommandError(f"审计日志哈希链校验未通过，未锚定：{exc}") from exc
        path = anchoring.anchor_path(options["file"])
        self.stdout.write(
            self.style.SUCCESS(f"已锚定：共 {anchor.rows} 条，链头为第 {anchor.last_id} 号记录（{path}）。")
        )
        self.stdout.write(anchor.line())
