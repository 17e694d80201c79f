from django.core.management.base import BaseCommand, CommandError

from rectification.models import InspectionRound, WeeklyCycle
from rectification.services import STEPS, cycle_for, cycle_tick, step_run
from rectification.workdays import week_from_key


class Command(BaseCommand):
    help = "运行周工作循环：不带参数时运行所有到期环节；也可指定轮次、周次和环节重新运行。"

    def add_arguments(self, parser):
        parser.add_argument("--round", type=int, help="巡视轮次编号")
        parser.add_argument("--week", help="ISO 周，例如 2026-W48")
        parser.add_argument("--step", choices=[*STEPS, "all"], default="all")
        parser.add_argument("--force", action="store_true", help="已完成的环节也重新运行（已发送的不会重复发送）")

    def handle(self, *args, round=None, week=None, step="all", force=False, **options):
        if round is None and week is None:
            ran = cycle_tick()
            self.stdout.write(f"已运行 {len(ran)} 个到期环节。")
            return
        if round is None or week is None:
            raise CommandError("指定周次时必须同时指定 --round 和 --week。")
        try:
            year, number = week_from_key(week)
        except ValueError as error:
            raise CommandError(f"周次“{week}”格式不对，应为 2026-W48 这样的写法。") from error
        inspection_round = InspectionRound.objects.filter(pk=round).first()
        if inspection_round is None:
            raise CommandError(f"没有编号为 {round} 的巡视轮次。")
        cycle = cycle_for(inspection_round, year, number)
        for name in STEPS if step == "all" else [step]:
            result = step_run(cycle, name, force=force)
            label = WeeklyCycle.Step(name).label
            self.stdout.write(f"{label}：{'已由他人运行或已完成，跳过' if result.get('skipped') else result}")
