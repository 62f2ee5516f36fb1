"""Auth function: users, tokens, settings, administration, and the API Gateway authorizer.

Kept empty: the authorizer imports this package and must not pay for FastAPI or SQLAlchemy.
"""
