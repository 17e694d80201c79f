"""The pictures of the user manual (docs/manual/), taken in a real browser on the demo district.

One story, in the order the work happens: a township's liaison reports and uploads evidence, its
head confirms and applies to close a measure, the lead unit reviews, the lead official signs off,
supervision records who was held accountable, the office checks the three tests and closes it;
then the office's other pages, the provincial team's, and the three administrators'. Every
picture is written into docs/manual/img/ by this run (the PNGs are not committed), and the test
ends by checking that every picture the manual shows is there and was written by this run.
"""

import re
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Unit, User
from rectification import access, services
from rectification.demo import DEMO_PASSWORD, demo_load
from rectification.models import CloseOutRequest, CloseOutState, Measure, WeeklyCycle

from .e2e import login

MANUAL = Path(__file__).resolve().parent.parent / "docs" / "manual"
IMAGES = MANUAL / "img"
# The names of the pictures written since the test started (``shot`` adds them).
TAKEN = []
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def shot(page, name, *, full_page=True, target=None):
    """Write docs/manual/img/<name>.png: the page, or only ``target`` (a locator) when given."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"{name}.png"
    if target is not None:
        target.scroll_into_view_if_needed()
        target.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    TAKEN.append(name)
    return path


@contextmanager
def signed_in(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, live_server, username, DEMO_PASSWORD)
        expect(page.get_by_role("button", name="退出")).to_be_visible()
        yield page
    finally:
        context.close()


def _story_measure():
    """A 城关街道 measure under a problem that 区财政局 leads, open and not in a close-out."""
    township = Unit.objects.get(name="城关街道")
    finance = Unit.objects.get(name="区财政局")
    candidates = (
        Measure.objects.filter(owner_unit=township)
        .exclude(problem__lead_unit=township)
        .filter(closeout_state__in=[CloseOutState.NOT_APPLIED, CloseOutState.RETURNED, CloseOutState.REOPENED])
        .select_related("problem__lead_unit", "problem__lead_official")
    )
    ranked = sorted(candidates, key=lambda m: (m.problem.lead_unit_id != finance.pk, -m.percent, m.code))
    assert ranked, "the demo has no open 城关街道 measure under another unit's problem"
    return ranked[0]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_takes_the_pictures_of_the_manual(live_server, browser, settings, tmp_path):
    started = time.time()
    TAKEN.clear()
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "media"
    demo_load()
    measure = _story_measure()
    problem = measure.problem
    lead_reviewer = access.unit_liaisons(problem.lead_unit).first().username
    leader = problem.lead_official.username
    url = live_server.url
    evidence = tmp_path / f"{measure.code}清退情况报告.pdf"
    evidence.write_bytes(PDF)

    # --- common: signing in ----------------------------------------------------------------
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{url}/accounts/login/")
    shot(page, "common-login", full_page=False)
    context.close()

    # --- liaison (联络员) ----------------------------------------------------------------------
    with signed_in(browser, live_server, "cgjd_lly") as page:
        assert page.locator("h1").inner_text() == "城关街道 · 工作台"
        shot(page, "liaison-worklist")
        page.get_by_role("link", name="调度单").click()
        shot(page, "liaison-dispatch")

        page.goto(f"{url}{measure.get_absolute_url()}")
        page.set_input_files("form.upload input[type=file]", str(evidence))
        page.select_option("form.upload select", "report")
        page.get_by_role("button", name="上传", exact=True).click()
        page.wait_for_load_state()
        expect(page.get_by_role("link", name=evidence.name).first).to_be_visible()
        # The work is done: the milestones still open are marked done (close-out asks for it).
        done_buttons = page.get_by_role("button", name="标记完成")
        while done_buttons.count():
            done_buttons.first.click()
            page.wait_for_load_state()
        shot(page, "liaison-measure")

        page.get_by_role("link", name="周报填报").click()
        rows = page.locator("section.report-row")
        for index in range(rows.count()):
            row = rows.nth(index)
            row.locator("textarea[name$=progress_this_week]").fill(
                "本周按整改方案推进，已完成阶段性任务并收集佐证材料。"
            )
            row.locator("textarea[name$=next_week_plan]").fill("继续推进，按时间节点完成剩余工作。")
        story_row = page.locator(f"#m{measure.pk}")
        story_row.locator("textarea[name$=progress_this_week]").fill(
            "已对街道本级及所属事业单位工资外收入逐人逐笔清理，违规发放资金已全部清退，清退凭证已上传。"
        )
        story_row.locator("input[name$=percent]").fill("100")
        story_row.locator("select[name$=cumulative_state]").select_option("completed")
        story_row.locator("textarea[name$=difficulties]").fill("个别已调离人员清退款项需区财政局协助追缴。")
        shot(page, "liaison-report", target=story_row)
        page.get_by_role("button", name="提交勾选的措施").click()
        page.wait_for_load_state()
        assert page.locator(".messages").inner_text().startswith("第"), page.locator(".messages").inner_text()
        shot(page, "liaison-report-submitted", full_page=False)

        page.get_by_role("link", name="督办单").first.click()
        shot(page, "liaison-notices", full_page=False)
        page.get_by_role("link", name="通知").click()
        shot(page, "common-notifications", full_page=False)
        page.get_by_role("link", name="修改密码").click()
        shot(page, "common-password")

    # --- unit head (单位负责人) ----------------------------------------------------------------
    with signed_in(browser, live_server, "cgjd_fzr") as page:
        page.get_by_role("link", name="周报填报").click()
        confirm = page.locator("section.card.attention")
        expect(page.get_by_role("heading", name="单位负责人确认")).to_be_visible()
        shot(page, "head-confirm", full_page=False)
        page.get_by_role("button", name="确认全部").click()
        page.wait_for_load_state()
        expect(confirm).not_to_be_visible()
        page.goto(f"{url}{measure.get_absolute_url()}")
        page.get_by_role("link", name="申请销号").click()
        page.fill(
            "textarea[name=statement]",
            "街道本级及所属事业单位2021年以来违规发放的工资外收入已全部清退，清退凭证和情况报告已上传，经自查达到验收标准。",
        )
        boxes = page.locator("fieldset.criterion input[type=checkbox]")
        for index in range(boxes.count()):
            boxes.nth(index).check()
        # One report proves every criterion: said so under each one.
        notes = page.locator("fieldset.criterion input[name^=note_]")
        for index in range(notes.count()):
            notes.nth(index).fill("清退情况报告逐项载明了本条标准的完成情况。")
        page.get_by_label("本人作为单位负责人承诺", exact=False).check()
        shot(page, "head-closeout-apply")
        page.get_by_role("button", name="提交销号申请").click()
        page.wait_for_load_state()
        assert page.locator(".state.big").inner_text() == "待牵头单位审核"
        shot(page, "head-closeout-submitted", full_page=False)

    request = CloseOutRequest.objects.get(measure=measure, state=CloseOutRequest.State.PENDING_LEAD_UNIT)

    # --- lead unit reviewer (牵头单位) ---------------------------------------------------------
    with signed_in(browser, live_server, lead_reviewer) as page:
        page.get_by_role("link", name="牵头事项进展").click()
        shot(page, "lead-reports", full_page=False)
        page.get_by_role("link", name="待我审核").click()
        shot(page, "lead-pending", full_page=False)
        page.goto(f"{url}{request.get_absolute_url()}")
        page.fill("textarea[name=comment]", "清退台账和凭证齐全，同意报牵头领导审核。")
        shot(page, "lead-review")
        page.get_by_role("button", name="审核通过").click()
        page.wait_for_load_state()
        assert page.locator(".state.big").inner_text() == "待领导审核"

        page.goto(f"{url}{problem.get_absolute_url()}")
        shot(page, "lead-problem", full_page=False)
        page.get_by_role("link", name="分解整改措施").click()
        shot(page, "lead-decompose", full_page=False)
        page.goto(f"{url}/problems/{problem.pk}/map/")
        shot(page, "lead-battle-map")

    # --- leader (区领导) ----------------------------------------------------------------------
    with signed_in(browser, live_server, leader) as page:
        page.get_by_role("link", name="我的牵头事项").click()
        expect(page.get_by_text(measure.code).first).to_be_visible()
        shot(page, "leader-home", full_page=False)
        page.get_by_role("link", name="协调事项").click()
        page.locator("textarea").first.fill(
            "请区财政局会同城关街道于下周五前完成调离人员款项追缴，追缴情况报区整改办。"
        )
        shot(page, "leader-coordination", full_page=False)
        page.get_by_role("button", name="答复").first.click()
        page.wait_for_load_state()
        page.goto(f"{url}{request.get_absolute_url()}")
        page.fill("textarea[name=comment]", "同意。")
        page.fill("input[name=password]", DEMO_PASSWORD)
        shot(page, "leader-signoff")
        page.get_by_role("button", name="审核通过").click()
        page.wait_for_load_state()
        assert page.locator(".state.big").inner_text() == "待整改办审核"

    # --- supervision (监督): who was held accountable --------------------------------------------
    with signed_in(browser, live_server, "jw_jd") as page:
        page.goto(f"{url}/problems/{problem.pk}/records/")
        page.get_by_text("录入追责问责记录").click()
        page.fill("#id_accountability-person_name", "王某")
        page.fill("#id_accountability-person_unit", "城关街道财政所")
        page.fill("#id_accountability-post", "所长")
        page.select_option("#id_accountability-kind", "first_form_criticism")
        page.fill("#id_accountability-decision_document", "示纪〔2026〕12号")
        page.fill("#id_accountability-decided_on", "2026-11-20")
        shot(page, "supervision-records")
        page.locator("form.record-form").first.get_by_role("button", name="保存").click()
        page.wait_for_load_state()
        expect(page.get_by_text("王某").first).to_be_visible()
    # Friday evening: the cut-off has passed and the week's summary is frozen (beat would do this).
    cycle = WeeklyCycle.objects.order_by("-iso_year", "-iso_week").first()
    for step in (WeeklyCycle.Step.COLLECT, WeeklyCycle.Step.SUMMARY):
        services.step_run(cycle, step, force=True)

    # --- office (整改办) ----------------------------------------------------------------------
    with signed_in(browser, live_server, "zgb") as page:
        shot(page, "office-home", full_page=False)
        page.get_by_role("link", name="总览").click()
        expect(page.locator(".countdown.big")).to_be_visible()
        shot(page, "office-dashboard")
        page.get_by_role("link", name="待我审核").click()
        shot(page, "office-pending", full_page=False)
        page.goto(f"{url}{request.get_absolute_url()}")
        for reason, text in (
            ("no_accountability_reason", "已对相关责任人批评教育。"),
            ("no_rules_reason", "全区津补贴发放清单管理制度已覆盖本项，无需另行建制。"),
        ):
            field = page.locator(f"textarea[name={reason}]")
            if field.count():
                field.fill(text)
        page.fill("textarea[name=comment]", "经核查，符合销号条件。")
        shot(page, "office-check")
        page.get_by_role("button", name="审核通过").click()
        page.wait_for_load_state()
        assert page.locator(".state.big").inner_text() == "已通过"

        page.get_by_role("link", name="问题清单").click()
        shot(page, "office-problems", full_page=False)
        page.get_by_role("link", name="轮次设置").click()
        page.locator("table a").first.click()
        shot(page, "office-round-setup", full_page=False)
        page.get_by_role("link", name="周工作循环").click()
        shot(page, "office-cycles", full_page=False)
        page.goto(f"{url}/cycles/{cycle.pk}/")
        shot(page, "office-cycle-detail", full_page=False)
        page.get_by_role("link", name="督办单").first.click()
        shot(page, "office-notices", full_page=False)
        page.get_by_role("link", name="通报扣分").click()
        shot(page, "office-penalties", full_page=False)
        page.get_by_role("link", name="报送省巡视组").click()
        # The demo office has released its newest weekly package: listed as released, downloadable.
        expect(page.get_by_role("heading", name="已报送")).to_be_visible()
        expect(page.get_by_role("link", name="下载").first).to_be_visible()
        shot(page, "office-release", full_page=False)
        page.get_by_role("link", name="工作记录").click()
        shot(page, "office-records", full_page=False)
        page.get_by_role("link", name="报表导出").click()
        shot(page, "office-excel")
        # The example ledger the page offers, uploaded as it is: the preview, before anything is saved.
        with page.expect_download() as download:
            page.get_by_role("link", name=re.compile("^填写示例")).click()
        example = tmp_path / "填写示例.xlsx"
        download.value.save_as(example)
        upload = page.locator("form", has=page.get_by_role("button", name="上传并预览"))
        upload.locator("input[type=file]").set_input_files(str(example))
        upload.get_by_role("button", name="上传并预览").click()
        expect(page.get_by_role("heading", name=re.compile("^预览"))).to_be_visible()
        expect(page.get_by_role("button", name="确认导入")).to_be_visible()
        shot(page, "office-import-preview")

    # --- supervision again: look-back -------------------------------------------------------------
    with signed_in(browser, live_server, "jw_jd") as page:
        page.goto(f"{url}{request.get_absolute_url()}")
        page.fill("input[name=reason], textarea[name=reason]", "回头看抽查发现仍有1人未清退到位。")
        expect(page.get_by_role("heading", name="回头看：重启已销号事项")).to_be_visible()
        shot(page, "supervision-reopen")
        page.get_by_role("link", name="总览").click()
        heading = page.get_by_role("heading", name="形式主义预警")
        shot(page, "supervision-formalism", target=heading.locator(".."))

    # --- provincial team (省巡视组) --------------------------------------------------------------
    with signed_in(browser, live_server, "sxsz") as page:
        shot(page, "provincial-home", full_page=False)
        expect(page.get_by_role("link", name="总览")).to_have_count(0)
        expect(page.get_by_role("link", name="报表导出")).to_have_count(0)
        page.get_by_role("link", name="报送省巡视组").first.click()
        expect(page.get_by_role("link", name="下载").first).to_be_visible()
        shot(page, "provincial-weekly", full_page=False)
        page.get_by_role("link", name="数字").first.click()
        expect(page.get_by_role("heading", name="分专项整改措施")).to_be_visible()
        shot(page, "provincial-figures", full_page=False)

    # --- the three administrators (三员) ---------------------------------------------------------
    with signed_in(browser, live_server, "xtgly") as page:
        shot(page, "admin-home", full_page=False)
        page.get_by_role("link", name="用户管理").click()
        shot(page, "sysadmin-users", full_page=False)
        page.get_by_role("link", name="单位列表").click()
        shot(page, "sysadmin-units", full_page=False)
    with signed_in(browser, live_server, "aqgly") as page:
        page.get_by_role("link", name="安全管理").click()
        shot(page, "security-lockouts", full_page=False)
        page.get_by_role("link", name="角色授权").click()
        shot(page, "security-roles", full_page=False)
    with signed_in(browser, live_server, "sjgly") as page:
        page.get_by_role("link", name="审计日志").click()
        shot(page, "audit-log", full_page=False)

    measure.refresh_from_db()
    assert measure.closeout_state == CloseOutState.CLOSED
    assert not User.objects.filter(username=lead_reviewer, unit=measure.owner_unit).exists()
    _assert_the_manual_shows_exactly_these(TAKEN, written_since=started)


def _pictures_in_the_manual():
    names = set()
    for chapter in MANUAL.glob("*.md"):
        names |= set(re.findall(r"\]\(img/([a-z0-9-]+)\.png\)", chapter.read_text(encoding="utf-8")))
    return names


def _assert_the_manual_shows_exactly_these(taken, *, written_since):
    shown = _pictures_in_the_manual()
    assert shown, "the manual shows no pictures"
    assert not shown - set(taken), f"the manual shows pictures no test takes: {sorted(shown - set(taken))}"
    assert not set(taken) - shown, f"pictures taken but not shown in the manual: {sorted(set(taken) - shown)}"
    for name in shown:
        path = IMAGES / f"{name}.png"
        assert path.is_file(), path
        assert path.stat().st_mtime >= written_since, f"{path} was not written by this run"
        assert path.stat().st_size > 5000, f"{path} looks empty"
