"""agentsilex's list session over Sessionscope and in memory, compared message by message, with
the litellm `Message` objects its Runner stores (no framework beyond litellm is installed)."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm
from sessionscope_client.agentsilex import SessionscopeListSession, chat_message


class ListSession:
    """agentsilex's own session: a list of whatever the Runner adds."""

    def __init__(self) -> None:
        self.dialogs: list = []

    def get_dialogs(self) -> list:
        return list(self.dialogs)

    def add_new_messages(self, messages: list) -> None:
        self.dialogs.extend(messages)

    def clean(self) -> None:
        self.dialogs.clear()


def turn(session, text: str, **mock) -> None:
    """One Runner turn: the user's message, then the model's `Message` object as it comes."""
    session.add_new_messages([{"role": "user", "content": text}])
    reply = litellm.completion(model="gpt-4o-mini", messages=session.get_dialogs(), **mock)
    session.add_new_messages([reply.choices[0].message])


def test_runner_turns_with_litellm_message_objects_store_what_the_list_session_holds(client, sid):
    ours, theirs = SessionscopeListSession(sid, client=client), ListSession()
    call = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    for session in (ours, theirs):
        session.add_new_messages([{"role": "system", "content": "Be brief."}])
        turn(session, "Weather?", mock_response="", mock_tool_calls=[call])
        session.add_new_messages([{"role": "tool", "tool_call_id": "call_1", "content": "Sunny"}])
        turn(session, "Thanks", mock_response="You are welcome.")

    assert ours.get_dialogs() == [chat_message(m) for m in theirs.get_dialogs()]
    assert len(ours.get_dialogs()) == 6
    assert ours.get_dialogs()[2]["tool_calls"][0]["function"]["name"] == "weather"
    # What comes back is what litellm takes as messages for the next call.
    answer = litellm.completion(
        model="gpt-4o-mini", messages=ours.get_dialogs(), mock_response="ok"
    )
    assert answer.choices[0].message.content == "ok"

    ours.clean()
    theirs.clean()
    assert ours.get_dialogs() == theirs.get_dialogs() == []
