"""The rectification domain's models, one module per concept; import them from here."""

from ..holidays import CalendarDay, CalendarYear
from .closeout import CloseOutRequest, CriterionCheck, SignOffStep
from .cycle import DispatchSheet, MissedReport, Penalty, StepState, SupervisionNotice, WeeklyCycle, WeeklySnapshot
from .jobs import ExportJob
from .ledger import (
    AcceptanceCriterion,
    Aspect,
    Campaign,
    CloseOutState,
    DeadlineCategory,
    InspectionRound,
    Manifestation,
    Measure,
    MeasureGroupObjectPermission,
    MeasureUserObjectPermission,
    Milestone,
    Problem,
    ProblemGroupObjectPermission,
    ProblemUserObjectPermission,
    ProgressState,
    Track,
    measure_due_refusal,
)
from .outbox import CHANNEL_FIELDS, ChannelSetup, GroupRobot, OutboxMessage
from .records import AccountabilityRecord, PetitionClue, Recovery, RuleRecord, WorkActivity
from .setup import MeasureChangeRequest, RoundMember
from .work import CoordinationItem, Evidence, Notification, ProgressReport

__all__ = [
    "CHANNEL_FIELDS",
    "AcceptanceCriterion",
    "AccountabilityRecord",
    "Aspect",
    "CalendarDay",
    "CalendarYear",
    "Campaign",
    "ChannelSetup",
    "CloseOutRequest",
    "CloseOutState",
    "CoordinationItem",
    "CriterionCheck",
    "DeadlineCategory",
    "DispatchSheet",
    "Evidence",
    "ExportJob",
    "GroupRobot",
    "InspectionRound",
    "Manifestation",
    "Measure",
    "MeasureChangeRequest",
    "MeasureGroupObjectPermission",
    "MeasureUserObjectPermission",
    "Milestone",
    "MissedReport",
    "Notification",
    "OutboxMessage",
    "Penalty",
    "PetitionClue",
    "Problem",
    "ProblemGroupObjectPermission",
    "ProblemUserObjectPermission",
    "ProgressReport",
    "ProgressState",
    "Recovery",
    "RoundMember",
    "RuleRecord",
    "SignOffStep",
    "StepState",
    "SupervisionNotice",
    "Track",
    "WeeklyCycle",
    "WeeklySnapshot",
    "WorkActivity",
    "measure_due_refusal",
]
