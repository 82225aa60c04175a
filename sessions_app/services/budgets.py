"""Budgets: spending limits per project, end user or session over a period, and their alerts.

Crossing is detected after an ingest commits (events_append schedules `budgets_check_after`
with `transaction.on_commit`), never inside the ingest transaction. An alert is recorded once
per budget, period and level thanks to the `budget_alert_once` constraint, however many events
push the spend further; the webhook is POSTed by a task.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import socket
import ssl
import urllib.parse
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q

from ..errors import Conflict, InvalidInput
from ..models import AgentSession, Budget, BudgetAlert, Project
from ..money import money_text
from ..selectors.budgets import BudgetStatus, budget_spent, period_start, project_has_budgets

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 5


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"{field} must be a number.", field=field) from exc
    if not number.is_finite():
        raise InvalidInput(f"{field} must be a number.", field=field)
    return number


def budget_create(
    *,
    project: Project,
    scope: str,
    target: str = "",
    period: str,
    amount_usd: Any,
    warn_ratio: Any = Decimal("0.8"),
) -> Budget:
    """Create a budget; a project budget has no target, a user or session budget needs one."""
    if scope not in Budget.Scope.values:
        raise InvalidInput(f"scope must be one of {', '.join(Budget.Scope.values)}.", field="scope")
    if period not in Budget.Period.values:
        raise InvalidInput(
            f"period must be one of {', '.join(Budget.Period.values)}.", field="period"
        )
    target = (target or "").strip()
    if scope == Budget.Scope.PROJECT and target:
        raise InvalidInput("A project budget has no target.", field="target")
    if scope != Budget.Scope.PROJECT and not target:
        raise InvalidInput(
            "A user budget needs the user_ref, a session budget the session id.", field="target"
        )
    if len(target) > 255:
        raise InvalidInput("target is at most 255 characters.", field="target")
    amount = _decimal(amount_usd, "amount_usd")
    if amount <= 0 or amount >= Decimal("1e14"):
        raise InvalidInput("amount_usd must be positive.", field="amount_usd")
    ratio = _decimal(warn_ratio, "warn_ratio")
    if not Decimal(0) < ratio <= Decimal(1):
        raise InvalidInput("warn_ratio must be above 0 and at most 1.", field="warn_ratio")
    try:
        with transaction.atomic():
            budget = Budget.objects.create(
                project=project,
                scope=scope,
                target=target,
                period=period,
                amount_usd=amount.quantize(Decimal("1e-6")),
                warn_ratio=ratio.quantize(Decimal("1e-3")),
            )
    except IntegrityError as exc:
        raise Conflict(
            "This project already has a budget for that scope, target and period.",
            code="budget_exists",
            field="target",
        ) from exc
    # A budget that is already near or over when created gets its alert now, not at the
    # next ingest.
    from ..tasks.pricing import budgets_check_task
    from .outbox import task_send_on_commit

    task_send_on_commit(task=budgets_check_task, args=[project.pk, None])
    return budget


class WebhookHostUnresolved(Exception):
    """The webhook's host name does not resolve."""


def _address_refused(address: str) -> bool:
    """Whether a webhook may not be sent to this IP address: anything but a public unicast one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        # Also shared (100.64/10), benchmarking and other special-purpose ranges.
        or not ip.is_global
    )


def _webhook_addresses(url: str) -> list[str]:
    """The addresses the URL's host is or resolves to; WebhookHostUnresolved when it does not."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookHostUnresolved(host) from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _first_refused(addresses: list[str]) -> str | None:
    """The first address a webhook may not reach, or None when all are public (or the
    ALERT_WEBHOOK_ALLOW_PRIVATE setting is True).

    Every address counts, not just the first: the sender may connect to any of them.
    """
    if getattr(settings, "ALERT_WEBHOOK_ALLOW_PRIVATE", False):
        return None
    return next((address for address in addresses if _address_refused(address)), None)


def project_alert_webhook_set(*, project: Project, url: str) -> Project:
    """Set (or clear, with "") the URL that budget alerts are POSTed to: http(s) only, to a host
    with public addresses only unless the ALERT_WEBHOOK_ALLOW_PRIVATE setting is True."""
    url = (url or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise InvalidInput("The webhook must be an http(s) URL.", field="url") from exc
        if len(url) > 200:
            raise InvalidInput("The webhook URL is at most 200 characters.", field="url")
        host = urllib.parse.urlsplit(url).hostname
        try:
            refused = _first_refused(_webhook_addresses(url))
        except WebhookHostUnresolved as exc:
            raise InvalidInput(
                f"The webhook host {host} does not resolve: check the name.", field="url"
            ) from exc
        if refused is not None:
            raise InvalidInput(
                f"The webhook host {host} is or resolves to {refused}, a private, loopback, "
                "link-local or otherwise non-public address: alerts are only sent to public "
                "addresses.",
                field="url",
            )
    project.alert_webhook_url = url
    project.save(update_fields=["alert_webhook_url"])
    return project


def budget_delete(*, budget: Budget) -> None:
    """Delete a budget and its alerts."""
    budget.delete()


def _record(status: BudgetStatus) -> BudgetAlert | None:
    """Record the alert for the level reached, once per budget, period and level."""
    level = status.level
    if not level:
        return None
    recorded = BudgetAlert.objects.filter(
        budget=status.budget, period_start=status.period_start, level=level
    )
    # The usual case after a crossing: every later ingest finds the alert already there.
    # Reading first spares a failing INSERT (and an error line in the server log) each time.
    if recorded.exists():
        return None
    try:
        with transaction.atomic():
            return BudgetAlert.objects.create(
                project_id=status.budget.project_id,
                budget=status.budget,
                period_start=status.period_start,
                level=level,
                spent_usd=status.spent_usd,
            )
    except IntegrityError:
        return None  # recorded by a concurrent check in the meantime


def budgets_check(
    *, project: Project, session: AgentSession | None = None, now: datetime | None = None
) -> list[BudgetAlert]:
    """Check the budgets a session's new usage counts against (all project budgets, the
    session's user's and its own); record new alerts and schedule their webhooks."""
    budgets = Budget.objects.filter(project=project)
    if session is not None:
        budgets = budgets.filter(
            Q(scope=Budget.Scope.PROJECT)
            | Q(scope=Budget.Scope.USER, target=session.user_ref)
            | Q(scope=Budget.Scope.SESSION, target=session.external_id)
        )
    created: list[BudgetAlert] = []
    for budget in budgets:
        status = BudgetStatus(
            budget, budget_spent(budget, now=now), period_start(budget.period, now)
        )
        alert = _record(status)
        if alert is not None:
            created.append(alert)
    if created and project.alert_webhook_url:
        from ..tasks.pricing import budget_alert_webhook_task
        from .outbox import task_send_on_commit

        for alert in created:
            task_send_on_commit(task=budget_alert_webhook_task, args=[alert.pk])
    return created


def budgets_check_queue(*, project_id: int, session_id: int) -> None:
    """Check the project's budgets against this session's spend, in a task."""
    from ..tasks.pricing import budgets_check_task
    from .outbox import task_send

    task_send(task=budgets_check_task, args=[project_id, session_id])


def budgets_check_after(*, project_id: int, session_id: int) -> None:
    """After an ingest commits: check budgets if the project has any (one indexed query when
    it has none, so ingest stays cheap), in a task."""
    if project_has_budgets(project_id):
        budgets_check_queue(project_id=project_id, session_id=session_id)


def budgets_check_on_commit(
    *, project_id: int, session_id: int, known_to_exist: bool = False
) -> None:
    """Schedule the budget check for when the current (ingest) transaction commits; with
    `known_to_exist` the caller has already seen that the project has budgets."""
    check = budgets_check_queue if known_to_exist else budgets_check_after

    # A named function, not a functools.partial: when a robust callback fails, Django logs its
    # __qualname__, which a partial has not (that AttributeError was the request's 500).
    def check_budgets() -> None:
        check(project_id=project_id, session_id=session_id)

    transaction.on_commit(check_budgets, robust=True)


def alert_payload(alert: BudgetAlert) -> dict[str, Any]:
    """The JSON an alert is shown as in the API and POSTed to the project's webhook."""
    budget = alert.budget
    return {
        "id": alert.pk,
        "level": alert.level,
        "spent_usd": money_text(alert.spent_usd),
        "period_start": alert.period_start.isoformat(),
        "created_at": alert.created_at.isoformat(),
        "budget": {
            "id": budget.pk,
            "scope": budget.scope,
            "target": budget.target,
            "period": budget.period,
            "amount_usd": money_text(budget.amount_usd),
        },
    }


def budget_alert_notify(*, alert: BudgetAlert) -> str:
    """POST an alert to its project's webhook once and record the outcome on the alert.

    The host is resolved and checked again at send time (the name may resolve elsewhere now
    than when it was saved), and the request goes to the addresses checked, not to a second
    lookup's answer. Statuses: "sent <code>"; "failed: ..." (retried by the task); "blocked:
    ..." (not retried: a non-public address, or a redirect, which is never followed).
    """
    url = alert.project.alert_webhook_url
    if not url or alert.webhook_status.startswith("sent"):
        return alert.webhook_status
    try:
        addresses = _webhook_addresses(url)
    except WebhookHostUnresolved:
        status = "failed: the host does not resolve"
    else:
        refused = _first_refused(addresses)
        if refused is not None:
            status = f"blocked: host resolves to non-public address {refused}"
        else:
            status = _webhook_post(url, addresses, alert)
    status = status[:100]
    if not status.startswith("sent"):
        logger.warning("Budget alert webhook %s not sent: %s", url, status)
    BudgetAlert.objects.filter(pk=alert.pk).update(webhook_status=status)
    alert.webhook_status = status
    return status


def _webhook_connection(url: str, addresses: list[str]) -> http.client.HTTPConnection:
    """A connection to the URL's host that connects to `addresses` (in order), whatever the
    name resolves to by then. HTTPS still verifies the certificate against the host name."""
    parts = urllib.parse.urlsplit(url)
    # The port is always given: http.client would read the end of an IPv6 address as one.
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "",
            parts.port or 443,
            timeout=WEBHOOK_TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        connection = http.client.HTTPConnection(
            parts.hostname or "", parts.port or 80, timeout=WEBHOOK_TIMEOUT_SECONDS
        )

    def connect(target: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        error: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((address, target[1]), *args, **kwargs)
            except OSError as exc:
                error = exc
        raise error or OSError("no address to connect to")

    # http.client opens its socket through this attribute (HTTPS wraps it afterwards).
    connection._create_connection = connect  # type: ignore[attr-defined]
    return connection


def _webhook_post(url: str, addresses: list[str], alert: BudgetAlert) -> str:
    """POST the alert once; "sent <code>", "blocked: ..." for a redirect, or "failed: ..."."""
    body = json.dumps(
        {"type": "budget_alert", "project": alert.project.slug, "alert": alert_payload(alert)}
    ).encode()
    parts = urllib.parse.urlsplit(url)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    connection = _webhook_connection(url, addresses)
    try:
        connection.request("POST", target, body=body, headers={"Content-Type": "application/json"})
        code = connection.getresponse().status
    except Exception as exc:
        # A failed webhook must not lose the alert: it stays visible in the dashboard and API.
        return f"failed: {type(exc).__name__}"
    finally:
        connection.close()
    if 200 <= code < 300:
        return f"sent {code}"
    if 300 <= code < 400:
        # Following it would reach an address nobody checked (an internal one, say).
        return f"blocked: the webhook answered {code}, a redirect, which is not followed"
    return f"failed: the webhook answered {code}"
