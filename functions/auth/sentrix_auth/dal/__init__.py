"""Data access of the auth function: users, refresh tokens, settings and activity queries."""
