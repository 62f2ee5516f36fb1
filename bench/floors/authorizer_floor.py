"""The authorizer's cold-start floor (issue 21): PyJWT and the cryptography primitives an ES256 check needs."""

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["ec", "jwt", "serialization"]
