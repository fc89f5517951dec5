"""What the parts of a realtime session (input audio, responses) need from the session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from polyvox.config import RealtimeSettings
from polyvox.gateway.realtime.conversation import Conversation
from polyvox.gateway.realtime.session_config import SessionConfig
from polyvox.gateway.routing import Router

if TYPE_CHECKING:
    from polyvox.gateway.realtime.responses import Response


class SessionHost(Protocol):
    """The session as its parts see it: its settings, state, and one way to send."""

    router: Router
    settings: RealtimeSettings
    request_id: str
    conversation: Conversation
    #: ``conv_...``: what responses in the conversation name as theirs.
    conversation_id: str

    @property
    def config(self) -> SessionConfig: ...

    async def send(self, event: dict[str, Any]) -> None:
        """Send one server event (one at a time, in the order of the calls)."""

    async def send_error(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        event_id: str | None = None,
        server: bool = False,
    ) -> None:
        """Send an ``error`` event; the session goes on."""

    def interrupt(self) -> None:
        """Server VAD heard the user start speaking: stop the reply in progress now,
        before ``speech_started`` goes out (barge-in)."""

    async def user_turn_started(self) -> None:
        """``speech_started`` went out: wait until the interrupted reply is done."""

    async def user_turn_transcribed(self, item_id: str, transcript: str) -> None:
        """A user turn the server VAD ended has its transcript (auto response)."""

    async def response_finished(self, response: Response) -> None:
        """``response.done`` was sent (the idle timeout starts)."""
