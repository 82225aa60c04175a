"""Score configs (what a project measures) and scores (values on sessions and events) from
people and programs. A program's retry with the same `id` is answered with the stored score;
the same `id` with another body is a conflict."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from ..errors import Conflict, InvalidInput
from ..models import AgentSession, DataType, Event, Project, Score, ScoreConfig
from ..selectors.review import score_config_usage
from .history import review_event_add
from .score_values import MAX_SCORE_NUMBER, score_value_add

MAX_LABELS = 50


@dataclass(frozen=True)
class ScoreValue:
    """A value checked against its config: the type and the column it is stored in."""

    data_type: str
    number: float | None = None
    label: str = ""


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, field="value")


def score_value_check(config: ScoreConfig | None, value: Any) -> ScoreValue:
    """The value as stored, or a 422 naming `value`. With no config the JSON type decides:
    true/false is boolean, a number numeric, a string categorical."""
    data_type = config.data_type if config else _type_of(value)
    if data_type == DataType.BOOLEAN:
        if not isinstance(value, bool):
            raise _bad("This score is boolean: send true or false.")
        return ScoreValue(data_type, number=1.0 if value else 0.0)
    if data_type == DataType.NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad("This score is numeric: send a number.")
        number = _number(value)
        if number is None:
            raise _bad(f"A score is a number from {-MAX_SCORE_NUMBER:g} to {MAX_SCORE_NUMBER:g}.")
        if config and config.min_value is not None and number < config.min_value:
            raise _bad(f"{config.name} is at least {config.min_value:g}.")
        if config and config.max_value is not None and number > config.max_value:
            raise _bad(f"{config.name} is at most {config.max_value:g}.")
        return ScoreValue(data_type, number=number)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise _bad("This score is categorical: send a label (text, at most 200 characters).")
    if config and value not in config.categories:
        raise _bad(f"{config.name} is one of: {', '.join(config.categories)}.")
    return ScoreValue(DataType.CATEGORICAL, label=value)


def _number(value: int | float) -> float | None:
    """The value as a float, or None when it is not finite or outside the score range (an
    integer of thousands of digits does not even convert to a float)."""
    if isinstance(value, int) and abs(value) > MAX_SCORE_NUMBER:
        return None
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_SCORE_NUMBER:
        return None
    return number


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, int | float):
        return DataType.NUMERIC
    if isinstance(value, str):
        return DataType.CATEGORICAL
    raise _bad("A score's value is a number, true/false or a label.")


def _body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@transaction.atomic
def score_record(
    *,
    session: AgentSession,
    name: str,
    value: Any,
    config: ScoreConfig | None,
    event: Event | None = None,
    comment: str = "",
    external_id: str | None = None,
    body: dict[str, Any] | None = None,
    user: User | None = None,
    author_name: str = "",
) -> tuple[Score, bool]:
    """Store a score; returns it and whether it is new. With `external_id`, a retry of the same
    body returns the stored score and another body is a Conflict."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("A score's name is 1 to 100 characters.", field="name")
    if event is not None and event.session_id != session.pk:
        raise InvalidInput("That event is not in this session.", field="event_id")
    body_hash = _body_hash(body) if body is not None else ""
    if external_id:
        stored = Score.objects.filter(project_id=session.project_id, external_id=external_id)
        existing = stored.first()
        if existing is not None:
            return _replay(existing, body_hash, external_id), False
    checked = score_value_check(config, value)
    try:
        with transaction.atomic():
            score = Score.objects.create(
                project_id=session.project_id,
                session=session,
                event=event,
                external_id=external_id or None,
                body_hash=body_hash,
                name=name,
                config=config,
                data_type=checked.data_type,
                value_number=checked.number,
                value_label=checked.label,
                comment=comment,
                source=Score.Source.PERSON if user else Score.Source.API,
                author=user,
                author_name=author_name or (user.get_username() if user else ""),
            )
    except IntegrityError:
        # A concurrent retry with the same id won the race.
        existing = Score.objects.get(project_id=session.project_id, external_id=external_id)
        return _replay(existing, body_hash, external_id or ""), False
    score_value_add(score, session.agent_name)
    where = f" on event #{event.seq}" if event else ""
    review_event_add(
        session=session,
        actor=user,
        actor_name=score.author_name,
        kind="score",
        summary=f"scored {name} = {score.display}{where}",
    )
    return score, True


def _replay(existing: Score, body_hash: str, external_id: str) -> Score:
    if existing.body_hash != body_hash:
        raise Conflict(
            f"Score id {external_id!r} was already used with a different body.",
            code="idempotency_conflict",
            field="id",
        )
    return existing


@transaction.atomic
def score_config_save(
    *,
    project: Project,
    name: str,
    data_type: str,
    min_value: float | None = None,
    max_value: float | None = None,
    categories: list[str] | None = None,
    description: str = "",
    config: ScoreConfig | None = None,
) -> ScoreConfig:
    """Create a score config, or change `config`; names are unique in a project."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("A name is 1 to 100 characters.", field="name")
    if data_type not in DataType.values:
        raise InvalidInput("The type is numeric, categorical or boolean.", field="data_type")
    labels = [c.strip() for c in (categories or []) if c.strip()]
    if data_type == DataType.CATEGORICAL and not labels:
        raise InvalidInput("A categorical score needs its labels.", field="categories")
    if len(labels) > MAX_LABELS or len(set(labels)) != len(labels):
        raise InvalidInput(f"Up to {MAX_LABELS} different labels.", field="categories")
    for field, bound in (("min_value", min_value), ("max_value", max_value)):
        if bound is not None and _number(bound) is None:
            raise InvalidInput(
                f"A bound is a number from {-MAX_SCORE_NUMBER:g} to {MAX_SCORE_NUMBER:g}.",
                field=field,
            )
    if min_value is not None and max_value is not None and min_value > max_value:
        raise InvalidInput("The minimum is above the maximum.", field="min_value")
    clash = ScoreConfig.objects.filter(project=project, name=name)
    if config is not None:
        clash = clash.exclude(pk=config.pk)
    if clash.exists():
        raise InvalidInput(f"There is already a score named {name!r}.", field="name")
    if config is not None:
        _check_change(config, name=name, data_type=data_type, labels=labels)
    numeric = data_type == DataType.NUMERIC
    fields = {
        "name": name,
        "data_type": data_type,
        "min_value": min_value if numeric else None,
        "max_value": max_value if numeric else None,
        "categories": labels if data_type == DataType.CATEGORICAL else [],
        "description": description.strip(),
    }
    if config is None:
        return ScoreConfig.objects.create(project=project, **fields)
    for key, value in fields.items():
        setattr(config, key, value)
    config.save()
    return config


def _check_change(config: ScoreConfig, *, name: str, data_type: str, labels: list[str]) -> None:
    """Refuse what would strand stored scores: a new type or name (scores are stored under the
    name, with their type), or a label removed that scores still hold. Bounds may narrow:
    they check new scores, and older ones keep their values."""
    renamed = name != config.name
    retyped = data_type != config.data_type
    dropped = config.data_type == DataType.CATEGORICAL and bool(
        set(config.categories) - set(labels)
    )
    if not (renamed or retyped or dropped):
        return
    usage = score_config_usage(config)
    if not usage.scores:
        return
    held = f"{usage.scores} score{'' if usage.scores == 1 else 's'}"
    if retyped:
        raise InvalidInput(
            f"{config.name} already has {held}; its type cannot change.", field="data_type"
        )
    if renamed:
        raise InvalidInput(
            f"{config.name} already has {held} stored under its name; it cannot be renamed.",
            field="name",
        )
    in_use = sorted(usage.labels - set(labels))
    if in_use:
        raise InvalidInput(
            f"Scores still use {', '.join(in_use)}: keep {'it' if len(in_use) == 1 else 'them'}.",
            field="categories",
        )


@transaction.atomic
def project_viewers_may_review_set(*, project: Project, allowed: bool) -> Project:
    """Let viewers score, comment and work queues in this project (or stop them)."""
    Project.objects.filter(pk=project.pk).update(viewers_may_review=allowed)
    project.viewers_may_review = allowed
    return project
