"""Bounds of numbers clients may send: the largest value a database integer column holds."""

MAX_DB_INT = 2**31 - 1  # PostgreSQL `integer`; larger values would fail in the database, not in validation
