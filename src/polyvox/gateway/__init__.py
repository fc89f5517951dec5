"""The gateway: HTTP API in front of the engine workers."""
