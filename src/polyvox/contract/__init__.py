"""The contract between gateway and workers: shared types, the protobuf codec, the client.

- :mod:`polyvox.contract.types`: what both sides mean by a model, a voice, audio and
  a transcript; free of grpc, so engines import it too.
- :mod:`polyvox.contract.codec`: those types to and from protobuf, both directions.
- :mod:`polyvox.contract.client`: the gateway's client of one worker; every gRPC
  status becomes a :class:`polyvox.errors.PolyvoxError`, so nothing above it imports grpc.

On the worker side only the servicer touches protobuf (through the codec).
"""
