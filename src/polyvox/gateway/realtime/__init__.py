"""The OpenAI Realtime API (GA) on ``/v1/realtime``.

The session and its parts (they do the I/O):

- ``session``: one WebSocket; parses and acts on client events in order; barge-in.
- ``session_checks``: what the server checks before taking settings, items, responses.
- ``input_audio``: the user's audio on a streaming Transcribe call; turns, transcripts.
- ``responses``: one response: the language model asked, its text segmented, spoken.
- ``speaker``: a reply's segments on one Synthesize stream; audio deltas as they come.
- ``tool_calls``: a response's ``function_call`` items and their argument deltas.
- ``audio_formats``: PCM 24 kHz and G.711 in and out; ``host``: what the parts need
  of the session.

The protocol's building blocks, each with one job and no I/O of its own but the
language model client:

- ``client_events``: one client JSON message → a typed event and the schema fields
  it carried that Polyvox accepts but does not honour, or a typed error.
- ``session_params`` / ``items``: the models of ``session.update``'s session and
  of conversation items; ``wire`` their base (unknown fields refused, ignored
  fields marked and collected).
- ``session_config``: the effective session, updates applied, as a GA session object.
- ``server_events``: builders for every event the server sends; ``ids`` their ids.
- ``conversation``: the ordered items, bounds, truncation of played audio
  (``spoken`` cuts a transcript at a time in its audio).
- ``chat_messages``: the conversation and tools in chat-completions form.
- ``llm``: a streaming client for the user's OpenAI-compatible chat-completions
  endpoint.

The OpenAI Python SDK's ``openai.types.realtime`` models are the specification;
the unit tests hold these modules to them. The gateway does not import ``openai``.
"""
