"""The rectification domain's models, one module per concept; import them from here."""

from ..holidays import CalendarDay, CalendarYear
from .closeout import CloseOutRequest, CriterionCheck, SignOffStep
from .cycle import DispatchSheet, MissedReport, Penalty, StepState, SupervisionNotice, WeeklyCycle, WeeklySnapshot
from .documents import BriefingFinal, DocumentProfile, doc_number_check
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
from .outbox import OutboxMessage
from .records import AccountabilityRecord, PetitionClue, Recovery, RuleRecord, WorkActivity
from .setup import MeasureChangeRequest, RoundMember
from .work import CoordinationItem, Evidence, Notification, ProgressReport

__all__ = [
    "AcceptanceCriterion",
    "AccountabilityRecord",
    "Aspect",
    "BriefingFinal",
    "CalendarDay",
    "CalendarYear",
    "Campaign",
    "CloseOutRequest",
    "CloseOutState",
    "CoordinationItem",
    "CriterionCheck",
    "DeadlineCategory",
    "DispatchSheet",
    "DocumentProfile",
    "Evidence",
    "ExportJob",
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
    "doc_number_check",
    "measure_due_refusal",
]
