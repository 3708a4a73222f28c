"""Helpline's data model: one module per aggregate, re-exported here."""

from helpline.models.administration import AdminAuditEntry, AgentAccount
from helpline.models.agentday import Mention, OutOfOffice, SavedSearch
from helpline.models.api_tokens import ApiToken, TokenScope
from helpline.models.articles import Article, ArticleChannel, Attachment, SenderType
from helpline.models.automation import (
    AutomationEvent,
    AutomationJob,
    AutomationRun,
    AutomationSend,
    AutomationTicket,
    RunStatus,
)
from helpline.models.blobs import Blob
from helpline.models.drafts import ComposeDraft, DraftKind
from helpline.models.history import HistoryEntry, HistoryType
from helpline.models.imports import ImportedObject, ImportRun, ImportRunStatus
from helpline.models.jobs import JobLease, PeriodicRun
from helpline.models.mail import (
    AutoResponseLog,
    InboundMessage,
    InboundStatus,
    MailAccount,
    OutboxMessage,
    OutboxStatus,
    PostmasterFilter,
)
from helpline.models.monitoring import WorkerBeat
from helpline.models.people import AgentProfile, Customer
from helpline.models.permissions import Grant, Group, Permission, Role
from helpline.models.presence import Presence
from helpline.models.privacy import (
    PrivacyRun,
    PrivacyRunKind,
    PrivacyRunStatus,
    ReadChannel,
    ReadEvent,
    ReadKind,
    RetentionAction,
)
from helpline.models.queues import FollowUpOption, Queue, SystemAddress
from helpline.models.reports import ReportCursor, ReportDay, ReportTicket
from helpline.models.responses import (
    AutoResponse,
    AutoResponseType,
    Salutation,
    Signature,
    Template,
    TemplateAttachment,
    TemplateType,
)
from helpline.models.search import CommonWord, IndexState
from helpline.models.service_levels import Calendar, ServiceLevel, TicketServiceLevel
from helpline.models.sessions import AgentSession
from helpline.models.sso import IdpGroupMapping
from helpline.models.tickets import (
    LinkType,
    Priority,
    StateType,
    Ticket,
    TicketCounter,
    TicketLink,
    TicketState,
    TicketWatcher,
)
from helpline.models.twofactor import TwoFactorPolicy, WebAuthnCredential

__all__ = [
    "Mention",
    "OutOfOffice",
    "SavedSearch",
    "ReportCursor",
    "ReportDay",
    "ReportTicket",
    "AdminAuditEntry",
    "AgentAccount",
    "AgentProfile",
    "AgentSession",
    "ApiToken",
    "Article",
    "ArticleChannel",
    "Attachment",
    "AutomationEvent",
    "AutomationJob",
    "AutomationRun",
    "AutomationSend",
    "AutomationTicket",
    "AutoResponse",
    "AutoResponseLog",
    "AutoResponseType",
    "Blob",
    "Calendar",
    "CommonWord",
    "ComposeDraft",
    "Customer",
    "DraftKind",
    "FollowUpOption",
    "Grant",
    "Group",
    "HistoryEntry",
    "HistoryType",
    "IdpGroupMapping",
    "ImportRun",
    "ImportRunStatus",
    "ImportedObject",
    "InboundMessage",
    "InboundStatus",
    "IndexState",
    "JobLease",
    "LinkType",
    "MailAccount",
    "OutboxMessage",
    "OutboxStatus",
    "PeriodicRun",
    "Permission",
    "PostmasterFilter",
    "Presence",
    "Priority",
    "PrivacyRun",
    "PrivacyRunKind",
    "PrivacyRunStatus",
    "Queue",
    "ReadChannel",
    "ReadEvent",
    "ReadKind",
    "RetentionAction",
    "Role",
    "RunStatus",
    "Salutation",
    "ServiceLevel",
    "SenderType",
    "Signature",
    "StateType",
    "SystemAddress",
    "Template",
    "TemplateAttachment",
    "TemplateType",
    "Ticket",
    "TicketCounter",
    "TicketLink",
    "TicketState",
    "TicketServiceLevel",
    "TicketWatcher",
    "TokenScope",
    "TwoFactorPolicy",
    "WebAuthnCredential",
    "WorkerBeat",
]
