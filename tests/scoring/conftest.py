"""The scoring fixtures live in tests/shared_fixtures.py, shared with other packages."""
