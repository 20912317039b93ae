"""API clients, keys, roles and region scope."""
