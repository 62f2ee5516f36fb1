"""Database access: engine/session handling, ORM models and migrations."""
