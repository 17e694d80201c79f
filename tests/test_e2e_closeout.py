"""One measure walks from application to closed through four people in a real browser."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from accounts.models import User
from rectification import services
from rectification.models import AccountabilityRecord, CloseOutRequest

from .conftest import PASSWORD, measure_finished
from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _switch(page, live_server, username):
    page.get_by_role("button", name="退出").click()
    login(page, live_server, username, PASSWORD)


def test_it_closes_a_measure_through_four_people(world, live_server, page, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    # The unit reported the measure finished this week (close-out takes nothing less).
    measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
    services.evidence_upload(
        actor=world.resp_staff,
        measure=world.resp_measure,
        uploaded=SimpleUploadedFile("清退凭证.pdf", PDF),
        kind="receipt",
    )
    services.accountability_record_create(
        actor=world.supervision,
        problem=world.problem,
        person_name="钱某",
        person_unit="责任局",
        post="财务科科长",
        kind=AccountabilityRecord.Kind.PARTY_WARNING,
        decided_on=datetime.date(2026, 11, 10),
    )
    measure_url = f"{live_server.url}{world.resp_measure.get_absolute_url()}"

    # 1. The responsible unit's head applies, ticking the criterion with its evidence.
    login(page, live_server, "resp_fzr", PASSWORD)
    page.goto(measure_url)
    page.get_by_role("link", name="申请销号").click()
    page.fill("textarea[name=statement]", "违规发放的津贴补贴12万元已全部清退，并建立审核制度。")
    page.get_by_label("清退凭证.pdf（退款凭证）").check()
    page.get_by_label("本人作为单位负责人承诺", exact=False).check()
    screenshot(page, "closeout-apply")
    page.get_by_role("button", name="提交销号申请").click()
    expect(page.get_by_text("待牵头单位审核").first).to_be_visible()
    # 2. The lead unit reviews.
    _switch(page, live_server, "lead_lly")
    page.get_by_role("link", name="待我审核").click()
    page.get_by_role("link", name="1.1.1").click()
    page.fill("textarea[name=comment]", "材料齐全，同意。")
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_text("待领导审核").first).to_be_visible()
    # 3. The lead official signs, re-entering the password.
    _switch(page, live_server, "leader")
    page.goto(f"{live_server.url}/closeout/pending/")
    page.get_by_role("link", name="1.1.1").click()
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_text("待整改办审核").first).to_be_visible()
    # 4. The office checks the three tests and closes it.
    _switch(page, live_server, "office")
    page.goto(f"{live_server.url}/closeout/pending/")
    page.get_by_role("link", name="1.1.1").click()
    page.fill("textarea[name=no_rules_reason]", "已有《津贴补贴管理办法》，本措施无需新建制度。")
    screenshot(page, "closeout-office-check")
    page.get_by_role("button", name="审核通过").click()
    assert page.locator(".state.big").inner_text() == "已通过"
    screenshot(page, "closeout-closed-chain")

    request = CloseOutRequest.objects.get()
    assert request.state == CloseOutRequest.State.CLOSED
    assert [s.actor.username if s.actor else None for s in request.steps.all()] == [
        "resp_fzr",
        "lead_lly",
        "leader",
        "office",
    ]
    assert User.objects.get(username="leader").pk == request.steps.get(step="leader").actor_id
