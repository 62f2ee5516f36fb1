"""Helpers shared by the test suites of several areas (identity, users, tokens)."""
