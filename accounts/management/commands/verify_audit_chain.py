from django.core.management.base import BaseCommand, CommandError

from accounts import anchoring, audit


class Command(BaseCommand):
    help = (
        "校验审计日志的哈希链（带密钥的 HMAC），并对照锚点文件中的每个链头："
        "报告第一条被改动、删除或插入的记录，以及锚定后被删除的记录或被清空的表。链完整时退出码为 0，否则为 1。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchors",
            action="append",
            default=[],
            metavar="FILE",
            help="锚点文件，可给多个（例如审计管理员保存的副本）；默认为 DJANGO_AUDIT_ANCHOR_FILE",
        )

    def handle(self, *args, **options):
        paths = options["anchors"]
        for path in paths:
            if not anchoring.anchor_path(path).exists():
                raise CommandError(f"找不到锚点文件 {path}。")
        try:
            (broken, checked), anchors = anchoring.chain_verify_anchored(paths)
        except audit.AnchorError as exc:
            raise CommandError(f"锚点文件不可信：{exc}") from exc
        if broken is not None:
            raise CommandError(f"审计日志哈希链在{broken}（此前 {checked} 条完整）。")
        if anchors:
            self.stdout.write(
                self.style.SUCCESS(f"审计日志哈希链完整：共校验 {checked} 条记录，与 {anchors} 个锚点相符。")
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"审计日志哈希链完整：共校验 {checked} 条记录。"))
            self.stdout.write(self.style.WARNING("没有锚点：只校验了链本身，无法发现末尾记录被删除或整表被清空。"))
