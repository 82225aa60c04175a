"""Branches of a session (Agents SDK `AdvancedSQLiteSession`): create one from a user turn,
list them with their sizes, delete one. Events are written to a branch with the event's
`branch` field and read with `?branch=`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Router, Status
from pydantic import BaseModel, Field

from ..models import AgentSession, SessionBranch
from ..selectors.branches import branch_counts, session_branches
from ..selectors.sessions import chain_base, session_pk
from ..services.branches import branch_create_from_turn, branch_delete
from .auth import ApiRequest
from .convert import check_path_id
from .schemas import ERRORS, CleanStr, DeletedOut, StrictIn

router = Router(tags=["branches"])


BranchName = Annotated[CleanStr, Field(min_length=1, max_length=100)]


class BranchIn(StrictIn):
    """A branch from a user turn of another branch (Agents SDK `create_branch_from_turn`)."""

    name: BranchName
    parent: BranchName = "main"
    from_turn: int = Field(ge=1, le=2**31 - 1, description="The parent's user turn (1-based).")


class BranchOut(BaseModel):
    name: str
    parent: str
    fork_seq: int = Field(description="The parent's events up to this seq belong to it too.")
    from_turn: int
    created_at: datetime
    message_count: int | None = None
    user_turns: int | None = None


class BranchListOut(BaseModel):
    items: list[BranchOut]


def _branch_dict(branch: SessionBranch) -> dict[str, Any]:
    return {
        "name": branch.name,
        "parent": branch.parent,
        "fork_seq": branch.fork_seq,
        "from_turn": branch.from_turn,
        "created_at": branch.created_at,
    }


def _conversation(request: ApiRequest, external_id: str) -> AgentSession:
    """The session whose branches these are: a segment has none of its own, its id stands for
    the conversation its chain continues (where the branches and their events are)."""
    return chain_base(session_pk(request.auth.project, check_path_id(external_id)))


@router.post(
    "/sessions/{external_id}/branches",
    response={200: BranchOut, 201: BranchOut, **ERRORS},
    summary="Create a branch from a user turn",
)
def post_branch(request: ApiRequest, external_id: str, payload: BranchIn) -> Status:
    """A new branch sharing `parent`'s events before its user turn `from_turn` (201); a retry
    of the same request returns it (200); 409 when the name was used for another fork, 422
    when the parent has no such turn."""
    session = _conversation(request, external_id)
    branch, created = branch_create_from_turn(
        session=session, name=payload.name, parent=payload.parent, from_turn=payload.from_turn
    )
    return Status(201 if created else 200, _branch_dict(branch))


@router.get(
    "/sessions/{external_id}/branches",
    response={200: BranchListOut, **ERRORS},
    summary="List a session's branches",
)
def get_branches(request: ApiRequest, external_id: str) -> dict[str, Any]:
    """The session's branches (main first) with their live items and user turns."""
    session = _conversation(request, external_id)
    items = []
    for branch in session_branches(session):
        messages, turns = branch_counts(session, branch.name)
        items.append({**_branch_dict(branch), "message_count": messages, "user_turns": turns})
    return {"items": items}


@router.delete(
    "/sessions/{external_id}/branches/{name}",
    response={200: DeletedOut, **ERRORS},
    summary="Delete a branch",
)
def delete_branch(request: ApiRequest, external_id: str, name: str) -> dict[str, int]:
    """Delete a branch (Agents SDK `delete_branch`): gone from the list and from reads (404
    after), its name stays taken (409 on reuse); its own events are marked removed by
    `delete_branch` and stay in the record and the costs (`deleted` counts them), except those
    that branches forked from it still read. 404 for an unknown or deleted branch, 422 for
    main."""
    session = _conversation(request, external_id)
    return {"deleted": branch_delete(session=session, name=check_path_id(name, field="name"))}
