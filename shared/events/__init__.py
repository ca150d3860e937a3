"""Events: CloudEvents envelope, payload models, registry and codec."""
