"""The worker process: one engine behind a gRPC server and a model manager."""
