"""The Chinese names of what the findings' code writes to the audit log, registered with the audit
log's catalogue (``accounts.audit_catalogue``) when the app is ready.

Every action written here needs a name (a test walks the source and fails on one without). The
names say what was done to which kind of object, never anything of a finding's content.
"""

from accounts import audit_catalogue as catalogue

WORK = "整改业务"
FILES = "导入导出"
SYSTEM_TASKS = "系统任务"

# The system administrator's channel pages (secrets never in the row: only which were replaced).
CHANNEL_ACTIONS = {
    "channel.setup": "设置通知渠道",
    "channel.test": "发送渠道测试消息",
    "channel.robot_create": "添加群机器人",
    "channel.robot_update": "修改群机器人",
    "channel.robot_delete": "删除群机器人",
}

WORK_ACTIONS = {
    "round.create": "新建巡视轮次",
    "round.member_add": "添加领导小组或整改办成员",
    "round.after_deadline": "设置报送期限后的调度和回头看",
    "aspect.create": "新建问题方面",
    "campaign.create": "新建专项整治",
    "campaign.update": "修改专项整治",
    "leader.handover": "领导调整：批量移交牵头和负责事项",
    "problem.create": "新建反馈问题",
    "problem.assign": "调整问题责任分工",
    "problem.update": "修改反馈问题",
    "measure.create": "新建整改措施",
    "measure.update": "修改整改措施",
    "measure.withdraw": "撤回整改措施",
    "measure.reorder": "调整措施顺序",
    "measure.criteria": "设置措施验收标准",
    "measure.criteria_ask": "要求牵头单位补充验收标准",
    "measure.claim": "认领整改措施",
    "measure.object": "对措施提出异议",
    "measure.reassign": "改派整改措施",
    "measure.change_request": "申请变更措施",
    "measure.change_approved": "批准措施变更",
    "measure.change_rejected": "驳回措施变更",
    "milestone.generate": "倒排时间节点",
    "milestone.update": "修改时间节点",
    "milestone.done": "完成时间节点",
    "milestone.waive": "免除时间节点",
    "calendar.holidays_add": "录入放假安排",
    "calendar.workday_add": "录入调休上班日",
    "calendar.day_delete": "删除节假日安排",
    "calendar.year_confirm": "确认全年节假日安排",
    "report.save": "保存周进展报告",
    "report.submit": "提交周进展报告",
    "report.confirm": "确认周进展报告",
    "report.return": "退回周进展报告",
    "report.review": "逐项确认或退回周进展报告",
    "report.correct": "更正周进展报告",
    "evidence.upload": "上传佐证材料",
    "evidence.download": "下载佐证材料",
    "coordination.resolve": "答复协调事项",
    "notification.resend": "重新发送通知消息",
    "closeout.apply": "申请销号",
    "closeout.lead_unit.approved": "牵头单位审核通过",
    "closeout.lead_unit.returned": "牵头单位审核退回",
    "closeout.leader.approved": "领导审核通过",
    "closeout.leader.returned": "领导审核退回",
    "closeout.leader.password_failed": "领导签批密码错误",
    "closeout.office.approved": "整改办审核通过（销号）",
    "closeout.office.returned": "整改办审核退回",
    "closeout.reopen": "回头看重启",
    "record.accountability": "录入追责问责记录",
    "record.rule": "录入建章立制记录",
    "record.recovery": "录入资金追缴记录",
    "record.petition_clue": "录入信访件和问题线索",
    "record.meeting": "录入会议记录",
    "record.visit": "录入督导督查记录",
    "record.secretary_event": "录入书记领办活动",
    "record.file_upload": "上传记录附件",
    "record.file_download": "下载记录附件",
    "release.weekly_package": "向省巡视组报送周材料",
    "release.final_report": "向省巡视组报送整改情况报告",
    "notice.reply": "答复督办单",
    "penalty.confirmed": "确认通报与扣分",
    "penalty.dismissed": "撤销通报与扣分",
    "penalty.enter": "录入通报与扣分",
}
FILE_ACTIONS = {
    "excel.import_preview": "上传台账待导入",
    "excel.import_refused": "台账文件被拒收",
    "excel.import": "导入整改台账",
    "excel.import_failed": "导入整改台账失败",
    "excel.column_mapping": "设置导入列对应关系",
    "name.alias_add": "确认单位或领导的别名",
    "name.alias_remove": "删除单位或领导的别名",
    "excel.column_mapping_remove": "删除导入列对应关系",
    "pending.create": "登记待开通的领导或单位",
    "pending.send": "将待开通的领导和单位发送系统管理员",
    "pending.unit_bind": "绑定待开通单位",
    "pending.unit_open": "开通待开通单位",
    "pending.leader_bind": "绑定待开通领导",
    "excel.export_ledger": "导出整改台账",
    "excel.export_weekly": "导出整改进展周报表",
    "excel.export_statistics": "导出整改情况统计表",
    "excel.export_unit_tasks": "导出单位任务清单",
    "excel.export_requested": "申请后台导出",
    "excel.export_download": "下载后台导出文件",
    "package.download": "下载周报送材料包",
    "excel.export_deductions": "导出年末实绩考评扣分表",
    "document.profile_update": "修改公文格式",
    "document.briefing_draft": "下载整改工作简报草稿",
    "document.briefing_final_upload": "上传整改工作简报定稿",
    "document.briefing_final_download": "下载整改工作简报定稿",
    "document.final_report_final_upload": "上传整改情况报告定稿",
    "document.final_report_final_download": "下载整改情况报告定稿",
    "document.final_report_draft": "下载整改情况报告草稿",
}
SYSTEM_ACTIONS = {
    "cycle.rerun": "重新运行周工作环节",
    "cycle.package": "生成周报送材料包",
}
# Updates whose changes are ``[before, after]``.
PAIRED = {"problem.assign", "problem.update", "measure.update", "measure.reassign"}

# Keys of ``changes`` that are no field of the object the row names.
FIELDS = {
    "step": "环节",
    "kind": "类别",
    "state": "状态",
    "week": "周次",
    "cycle": "第几次",
    "version": "版本",
    "owner_unit": "责任单位",
    "lead_unit": "牵头单位",
    "lead_official": "牵头领导",
    "responsible_leaders": "责任领导",
    "responsible_units": "责任单位",
    "measure": "措施",
    "measures": "措施数",
    "problems": "问题数",
    "order": "顺序",
    "reports": "报告数",
    "reported": "已报告数",
    "late": "逾期",
    "errors": "错误数",
    "user": "人员",
    "role": "职责",
    "handler": "经办人",
    "start_date": "开始日期",
    "due_date": "完成时限",
    "ongoing_after_due": "完成后长期坚持",
    "done_on": "完成日期",
    "report_deadline": "报告时限",
    "amount_wan": "金额（万元）",
    "doc_number": "文号",
    "iso_year": "年份",
    "iso_week": "周",
    "problems_created": "新增问题",
    "problems_updated": "修改问题",
    "problems_unchanged": "未变问题",
    "measures_created": "新增措施",
    "measures_updated": "修改措施",
    "measures_unchanged": "未变措施",
    "measures_withdrawn": "撤销措施",
    "aspects_created": "新增方面",
    "written": "台账中的写法",
    "header": "表头",
    "mapped_as": "对应项",
    "units": "单位数",
    "leaders": "领导数",
    "recipients": "接收人数",
    "title": "标题",
    "text": "内容",
    "comment": "意见",
    "reply": "答复",
    "resolution": "答复意见",
    "target": "销号事项",
    "criteria": "验收标准",
    "manifestations": "具体表现",
    "plan": "时间节点计划",
    "progress_this_week": "本周进展",
    "next_week_plan": "下周计划",
    "difficulties": "困难和问题",
    "date": "日期",
    "end_date": "截止日期",
    "holiday": "节日",
    "year": "年份",
    "channel": "渠道",
    "recipient": "接收人",
    "secrets_replaced": "已更换的密钥",
    "platform": "平台",
    "issue": "期号",
}


def register():
    from .models import RoundMember, SignOffStep, WeeklyCycle

    catalogue.register_actions(WORK, WORK_ACTIONS, paired=PAIRED & set(WORK_ACTIONS))
    catalogue.register_actions(FILES, FILE_ACTIONS)
    catalogue.register_actions("三员管理", CHANNEL_ACTIONS)
    catalogue.register_actions(SYSTEM_TASKS, SYSTEM_ACTIONS)
    catalogue.register_fields(FIELDS)
    catalogue.register_values("step", {**dict(SignOffStep.Step.choices), **dict(WeeklyCycle.Step.choices)})
    catalogue.register_values("role", dict(RoundMember.Role.choices))
