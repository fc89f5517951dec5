"""The OpenAI Realtime API (GA) on ``/v1/realtime``: the protocol's building blocks.

Each module has one job and no I/O of its own but the language model client:

- :mod:`~polyvox.gateway.realtime.client_events`: one client JSON message → a typed
  event, the schema fields Polyvox accepts but does not honour, or a typed error.
- :mod:`~polyvox.gateway.realtime.session_params` / :mod:`~polyvox.gateway.realtime.items`:
  the models of ``session.update``'s session and of conversation items.
- :mod:`~polyvox.gateway.realtime.server_events`: builders for every event sent.
- :mod:`~polyvox.gateway.realtime.conversation`: the ordered items, truncation of
  played audio, and the chat-completions ``messages`` a reply is asked with.
- :mod:`~polyvox.gateway.realtime.llm`: a streaming client for the user's
  OpenAI-compatible chat-completions endpoint.

The OpenAI Python SDK's ``openai.types.realtime`` models are the specification;
the unit tests hold these modules to them. The gateway does not import ``openai``.
"""
