"""Projects, memberships and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from ..db import columns_of, instance_from_row, server_bound
from ..errors import Conflict, InvalidInput
from ..models import ApiKey, Membership, Project

KEY_PREFIX = "ss"
# last_used_at is written at most once a minute per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def project_create(*, slug: str, name: str = "") -> Project:
    """Create a project; the slug must be new."""
    clean = slugify(slug)
    if not clean or clean != slug:
        raise InvalidInput(
            f"Slug {slug!r} must be lowercase letters, digits and hyphens.", field="slug"
        )
    if Project.objects.filter(slug=slug).exists():
        raise Conflict(f"A project with slug {slug!r} already exists.", code="project_exists")
    return Project.objects.create(slug=slug, name=name or slug)


def membership_set(
    *,
    user: User,
    project: Project,
    role: str,
    acting_user: User | None = None,
) -> Membership:
    """Give a user a role in a project, replacing any role they had; an admin acting on
    themselves cannot lower their own role, and the project's last admin keeps theirs."""
    if role not in Membership.Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    if acting_user is not None and acting_user == user and role != Membership.Role.ADMIN:
        # An admin demoting themselves could leave a project nobody can administer.
        raise InvalidInput("You cannot lower your own role.", field="role")
    with transaction.atomic():
        if role != Membership.Role.ADMIN:
            # As in membership_remove: the admins' rows are locked, so two admins demoting
            # each other cannot both succeed.
            admins = _admin_users_locked(project)
            if admins == {user.pk}:
                raise Conflict(
                    "The project's last admin cannot be given another role: make someone "
                    "else an admin first.",
                    code="last_admin",
                    field="role",
                )
        membership, _ = Membership.objects.update_or_create(
            user=user, project=project, defaults={"role": role}
        )
    return membership


def _admin_users_locked(project: Project | int) -> set[int]:
    """The ids of the project's admins, their membership rows locked until the transaction
    ends."""
    return set(
        Membership.objects.select_for_update()
        .filter(project=project, role=Membership.Role.ADMIN)
        .values_list("user_id", flat=True)
    )


def membership_remove(*, membership: Membership, acting_user: User | None = None) -> None:
    """Take a user out of a project; an admin cannot remove themselves (as they cannot lower
    their own role), and the project's last admin is never removed."""
    if acting_user is not None and acting_user.pk == membership.user_id:
        raise InvalidInput("You cannot remove yourself from the project.", field="user")
    with transaction.atomic():
        # Locking the admins' rows serialises two admins removing each other: the second sees
        # the first's removal and is refused instead of leaving the project with none.
        if _admin_users_locked(membership.project_id) == {membership.user_id}:
            raise Conflict("The project's last admin cannot be removed.", code="last_admin")
        Membership.objects.filter(pk=membership.pk).delete()


def _hash_secret(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is safe here and keeps auth cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *, project: Project, name: str, created_by: User | None = None, secret: str = ""
) -> tuple[ApiKey, str]:
    """Create a key and return it with its full token, which is never shown again."""
    secret = secret or secrets.token_urlsafe(32)
    for _ in range(5):
        prefix = secrets.token_hex(4)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    key = ApiKey.objects.create(
        project=project,
        name=name,
        prefix=prefix,
        secret_hash=_hash_secret(secret),
        created_by=created_by,
    )
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Revoke a key. Requests with it get 401 from now on in this process, and in other
    processes once their cached lookup expires (API_KEY_CACHE_SECONDS)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    # Now, and again at commit: a request in between may have cached the key as it still was.
    api_key_cache_clear()
    transaction.on_commit(api_key_cache_clear)
    return key


# Every API request authenticates; a verified key (with its project) is kept in the process for
# API_KEY_CACHE_SECONDS, keyed by the full token, so most requests skip the lookup. Unknown and
# revoked tokens are never cached: a new key works at once, and a revoked one stops within the
# cache's lifetime everywhere (at once in the process that revoked it).
_verified: dict[str, tuple[float, ApiKey]] = {}
_VERIFIED_MAX = 1000


def api_key_cache_clear() -> None:
    """Forget every cached key of this process."""
    _verified.clear()


def _key_with_project(prefix: str) -> ApiKey | None:
    """The key with this prefix and its project: one prepared statement on PostgreSQL, since
    every API request starts here."""
    if connection.vendor != "postgresql":
        return ApiKey.objects.select_related("project").filter(prefix=prefix).first()
    sql = (
        f"SELECT {columns_of(ApiKey, 'k')}, {columns_of(Project, 'p')} "
        f"FROM {ApiKey._meta.db_table} k JOIN {Project._meta.db_table} p ON p.id = k.project_id "
        "WHERE k.prefix = %s"
    )
    rows = server_bound(sql, [prefix])
    if not rows:
        return None
    split = len(ApiKey._meta.concrete_fields)
    key = instance_from_row(ApiKey, rows[0][:split])
    key.project = instance_from_row(Project, rows[0][split:])
    return key


def api_key_authenticate(token: str) -> ApiKey | None:
    """The active key for a full token, or None. Touches last_used_at at most once a minute.

    The key returned may be shared with concurrent requests: treat it and its project as
    read-only."""
    ttl = settings.API_KEY_CACHE_SECONDS
    if ttl > 0:
        hit = _verified.get(token)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
    key = _verify(token)
    if key is not None and ttl > 0:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[token] = (time.monotonic() + ttl, key)
    return key


def _verify(token: str) -> ApiKey | None:
    parts = (token or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = _key_with_project(parts[1])
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash_secret(parts[2])):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        with transaction.atomic():
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
