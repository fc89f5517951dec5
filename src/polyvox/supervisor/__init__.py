"""Supervisor: provisions engine environments and spawns, watches and restarts local workers."""
