"""A response's tool calls: ``function_call`` items and their argument deltas.

The language model's calls stream in as a start (the function's name), pieces of
the JSON arguments, and an end; each becomes a ``function_call`` item of the
response's output (and of the conversation, unless the response is out of band)
with ``response.function_call_arguments.delta`` / ``.done``. The client runs the
function and answers with a ``function_call_output`` item, then ``response.create``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from polyvox.gateway.realtime import server_events as se
from polyvox.gateway.realtime.host import SessionHost
from polyvox.gateway.realtime.ids import item_id as new_item_id
from polyvox.gateway.realtime.items import AnyItem, FunctionCall, item_to_wire
from polyvox.gateway.realtime.llm import ToolCallArgumentsDelta, ToolCallDone, ToolCallStart


class ToolCalls:
    def __init__(
        self,
        host: SessionHost,
        *,
        response_id: str,
        output: list[dict[str, Any]],
        add_to_conversation: Callable[[AnyItem], Awaitable[None]],
        out_of_band: bool,
    ) -> None:
        self._host = host
        self._response_id = response_id
        #: The response's output items (wire form), shared with the response.
        self._output = output
        self._add_to_conversation = add_to_conversation
        self._out_of_band = out_of_band
        #: Calls by the model's index: the item and its place in the output.
        self._calls: dict[int, tuple[FunctionCall, int]] = {}

    async def started(self, start: ToolCallStart) -> None:
        call = FunctionCall(
            id=new_item_id(),
            type="function_call",
            name=start.name,
            arguments="",
            call_id=start.call_id,
            status="in_progress",
        )
        self._calls[start.index] = (call, len(self._output))
        self._output.append(item_to_wire(call))
        await self._host.send(
            se.output_item_added(
                response_id=self._response_id,
                output_index=len(self._output) - 1,
                item=item_to_wire(call),
            )
        )
        await self._add_to_conversation(call)

    async def arguments(self, delta: ToolCallArgumentsDelta) -> None:
        call, index = self._calls[delta.index]
        await self._host.send(
            se.function_call_arguments_delta(
                response_id=self._response_id,
                item_id=call.id or "",
                output_index=index,
                call_id=delta.call_id,
                delta=delta.delta,
            )
        )

    async def done(self, done: ToolCallDone) -> None:
        call, index = self._calls[done.index]
        finished = call.model_copy(update={"arguments": done.arguments, "status": "completed"})
        await self._host.send(
            se.function_call_arguments_done(
                response_id=self._response_id,
                item_id=call.id or "",
                output_index=index,
                call_id=done.call_id,
                name=done.name,
                arguments=done.arguments,
            )
        )
        wire = item_to_wire(finished)
        self._output[index] = wire
        if not self._out_of_band and finished.id in self._host.conversation:
            conversation = self._host.conversation
            conversation.replace(finished)
            previous = conversation.previous_id(finished.id or "")
            await self._host.send(se.item_done(item=wire, previous_item_id=previous))
        await self._host.send(
            se.output_item_done(response_id=self._response_id, output_index=index, item=wire)
        )
