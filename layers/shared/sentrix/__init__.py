"""Sentrix shared layer: configuration, domain rules, data access, adapters and the HTTP app factory.

Kept import-light on purpose: importing `sentrix` must not pull FastAPI, SQLAlchemy or boto3,
so the authorizer and the cold-start paths only pay for what they use.
"""

__version__ = "0.1.0"
