"""The Wyoming protocol (Home Assistant's voice services), served by the gateway.

Events are the ``wyoming`` package's own classes; the engines are the gateway's, reached
through the same router, languages checks, segmenters, engine lines and contract client
as the HTTP routes. One module per job:

- :mod:`.wire`: reading events without trusting them (a malformed one is an error,
  never the end of the stream), writing them one at a time;
- :mod:`.info`: ``describe`` → ``info``, and finding a voice by name or language;
- :mod:`.tts`: ``synthesize`` and streaming synthesis (``synthesize-start`` ...);
- :mod:`.asr`: ``transcribe`` + audio → ``transcript`` (and its streaming events);
- :mod:`.handler`: one connection: dispatch, and an ``error`` event for whatever fails;
- :mod:`.server`: the listener (``tcp://``, ``unix://``) and its zeroconf advertisement.
"""
