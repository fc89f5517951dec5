"""Engine adapters, one module per engine, discovered through entry points."""
