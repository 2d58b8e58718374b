"""Roles and what each may do: one table, checked by every endpoint and documented from itself."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    INTEGRATION = "integration"
    VIEWER = "viewer"
    FULFILMENT = "fulfilment"
    REVENUE_ACCOUNTANT = "revenue_accountant"
    CONTROLLER = "controller"
    AUDITOR = "auditor"
    # The deployment's operators (Prometheus scrapes with such a key); no tenant's user.
    OPERATOR = "operator"


class Action(StrEnum):
    EVENTS_WRITE = "events:write"
    ORDERS_READ = "orders:read"
    QUARANTINE_READ = "quarantine:read"
    QUARANTINE_REPLAY = "quarantine:replay"
    SCHEMAS_READ = "schemas:read"
    KEYS_MANAGE = "keys:manage"
    DLQ_READ = "dlq:read"
    DLQ_MANAGE = "dlq:manage"
    REVENUE_PREVIEW = "revenue:preview"
    METRICS_READ = "metrics:read"
    REPORTS_READ = "reports:read"
    JOURNAL_READ = "journal:read"
    CARRIERS_MANAGE = "carriers:manage"
    ALERTS_READ = "alerts:read"
    ALERTS_MANAGE = "alerts:manage"
    ALERTS_CONFIGURE = "alerts:configure"
    ROOT_CAUSES_READ = "root_causes:read"
    REVENUE_CATALOG_READ = "revenue_catalog:read"
    REVENUE_CATALOG_WRITE = "revenue_catalog:write"
    REVENUE_SETTINGS_WRITE = "revenue_settings:write"
    REVENUE_FACTS_WRITE = "revenue_facts:write"
    LEDGER_READ = "ledger:read"
    LEDGER_ACCOUNTS_WRITE = "ledger_accounts:write"
    PERIODS_CLOSE = "periods:close"
    REVENUE_TREATMENT_REQUEST = "revenue_treatment:request"
    SOURCES_READ = "sources:read"
    SOURCES_MANAGE = "sources:manage"
    APPROVALS_READ = "approvals:read"
    APPROVALS_REQUEST = "approvals:request"
    APPROVALS_DECIDE = "approvals:decide"
    AUDIT_READ = "audit:read"
    AUDIT_CHECKPOINT = "audit:checkpoint"
    HOLDS_READ = "holds:read"
    HOLDS_PLACE = "holds:place"
    HOLDS_RELEASE = "holds:release"
    RULES_READ = "rules:read"
    RULES_PROPOSE = "rules:propose"
    DISPUTES_READ = "disputes:read"
    DISPUTES_OPEN = "disputes:open"
    DISPUTES_EVIDENCE = "disputes:evidence"
    DISPUTES_RESOLVE = "disputes:resolve"
    DISPUTES_CONFIGURE = "disputes:configure"
    DISPUTES_WEBHOOK_MANAGE = "disputes:webhook_manage"


R = Role
EVERYONE = frozenset(Role)

# Who may do what. Read the rows; a role missing from a row may not do it.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.EVENTS_WRITE: frozenset({R.ADMIN, R.INTEGRATION}),
    Action.ORDERS_READ: EVERYONE,
    Action.QUARANTINE_READ: frozenset(
        {R.ADMIN, R.INTEGRATION, R.FULFILMENT, R.CONTROLLER, R.AUDITOR, R.REVENUE_ACCOUNTANT}
    ),
    Action.QUARANTINE_REPLAY: frozenset({R.ADMIN, R.INTEGRATION, R.FULFILMENT}),
    Action.SCHEMAS_READ: EVERYONE,
    Action.KEYS_MANAGE: frozenset({R.ADMIN}),
    # Dead letters hold whole messages of any kind and replaying one re-runs consumers.
    Action.DLQ_READ: frozenset({R.ADMIN}),
    Action.DLQ_MANAGE: frozenset({R.ADMIN}),
    # A preview stores nothing and reads no tenant data, so every human role may test a policy;
    # integrations send facts, they do not design contracts.
    Action.REVENUE_PREVIEW: frozenset(
        {R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR, R.VIEWER}
    ),
    # The series count every tenant's traffic (no tenant labels), so not even a tenant's admin
    # reads them: only operator keys, which the deployment creates for its scrapers.
    Action.METRICS_READ: frozenset({R.OPERATOR}),
    # Revenue reports and the journal are the books: the people who keep, approve and audit
    # them read them; integrations and fulfilment send facts and have no need to.
    Action.REPORTS_READ: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR}),
    Action.JOURNAL_READ: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR}),
    # A carrier webhook secret lets whoever holds it book deliveries, which release revenue.
    Action.CARRIERS_MANAGE: frozenset({R.ADMIN}),
    # Alerts are for the people who act on stuck orders (fulfilment operations) and on what they
    # cost (finance: the last escalation level); integrations get them through the webhook sink.
    Action.ALERTS_READ: frozenset(
        {R.ADMIN, R.FULFILMENT, R.VIEWER, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR}
    ),
    Action.ALERTS_MANAGE: frozenset({R.ADMIN, R.FULFILMENT, R.CONTROLLER}),
    # Rules and escalation paths decide who gets paged: the tenant's admin sets them.
    Action.ALERTS_CONFIGURE: frozenset({R.ADMIN}),
    Action.ROOT_CAUSES_READ: frozenset(
        {R.ADMIN, R.FULFILMENT, R.VIEWER, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR}
    ),
    # Catalogs decide how every future contract is priced and recognized: the accountants who
    # own the policy and the admin edit them; the people who read the books may read them.
    Action.REVENUE_CATALOG_READ: frozenset(
        {R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR, R.VIEWER}
    ),
    Action.REVENUE_CATALOG_WRITE: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT}),
    # Settings (combination rule, allocation and returns policy) are policy the controller owns.
    Action.REVENUE_SETTINGS_WRITE: frozenset({R.ADMIN, R.CONTROLLER}),
    # Milestones and cost-to-cost progress move revenue; accountants record them.
    Action.REVENUE_FACTS_WRITE: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT}),
    Action.LEDGER_READ: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR}),
    # The chart maps to the general ledger: only the admin edits names, GL codes, active flags.
    Action.LEDGER_ACCOUNTS_WRITE: frozenset({R.ADMIN}),
    # Closing a month freezes it for good: the controller (or the admin) does it.
    Action.PERIODS_CLOSE: frozenset({R.ADMIN, R.CONTROLLER}),
    # Overriding the modification rules is a policy judgement; its dual approval comes with the
    # controls (issue 5). Until then the people who own the policy may request it.
    Action.REVENUE_TREATMENT_REQUEST: frozenset({R.ADMIN, R.CONTROLLER, R.REVENUE_ACCOUNTANT}),
    # Dual approval (issue 5): the people who keep and approve the books request overrides and
    # decide them; approving a kind further needs that kind's role (services/approvals.py), and
    # never the requester's own key or person. Auditors read every request and decision.
    Action.APPROVALS_READ: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR}),
    Action.APPROVALS_REQUEST: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER}),
    Action.APPROVALS_DECIDE: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER}),
    # How a source synchronises: its integration may read it; switching a source between pushing
    # and scheduled imports changes where its events come from, so only the admin sets it.
    Action.SOURCES_READ: frozenset({R.ADMIN, R.INTEGRATION}),
    Action.SOURCES_MANAGE: frozenset({R.ADMIN}),
    # The audit chain proves the books were not altered: those who audit or own them read and
    # verify it; taking a checkpoint writes to the chain, so only the admin triggers one.
    Action.AUDIT_READ: frozenset({R.ADMIN, R.AUDITOR, R.CONTROLLER}),
    Action.AUDIT_CHECKPOINT: frozenset({R.ADMIN}),
    # Holds stop revenue (issue 5): the books' keepers and auditors see them; accountants and
    # controllers place them, and integrations too (a billing system's credit hold); releasing
    # lets revenue through, so only the controller (or admin) does it, and a hold whose reason
    # needs dual approval is released by an approved hold.release request instead.
    Action.HOLDS_READ: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR}),
    Action.HOLDS_PLACE: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.INTEGRATION}),
    Action.HOLDS_RELEASE: frozenset({R.ADMIN, R.CONTROLLER}),
    # Recognition rules and the decisions they made: read by those who keep and audit the books;
    # a rule change is proposed by an accountant or controller and approved by another person.
    Action.RULES_READ: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR}),
    Action.RULES_PROPOSE: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER}),
    # Disputes (issue 5): customer-service portals (integration keys) open them and attach
    # evidence; the books' keepers and auditors read them. Resolving moves revenue (a reversal,
    # or reinstatement of held revenue), so accountants and controllers do it, each rejection
    # further needing its reason's signer role (docs/revenue/disputes.md). Reasons and their
    # evidence thresholds are the controller's policy; the webhook secret, like the carriers',
    # lets its holder open disputes, so only the admin sets it.
    Action.DISPUTES_READ: frozenset(
        {R.ADMIN, R.INTEGRATION, R.REVENUE_ACCOUNTANT, R.CONTROLLER, R.AUDITOR}
    ),
    Action.DISPUTES_OPEN: frozenset({R.ADMIN, R.INTEGRATION, R.REVENUE_ACCOUNTANT, R.CONTROLLER}),
    Action.DISPUTES_EVIDENCE: frozenset(
        {R.ADMIN, R.INTEGRATION, R.REVENUE_ACCOUNTANT, R.CONTROLLER}
    ),
    Action.DISPUTES_RESOLVE: frozenset({R.ADMIN, R.REVENUE_ACCOUNTANT, R.CONTROLLER}),
    Action.DISPUTES_CONFIGURE: frozenset({R.ADMIN, R.CONTROLLER}),
    Action.DISPUTES_WEBHOOK_MANAGE: frozenset({R.ADMIN}),
}


def allows(*, roles: tuple[str, ...], action: Action) -> bool:
    """Say whether any of the roles may perform the action."""
    allowed = PERMISSIONS[action]
    return any(role in allowed for role in roles)
