"""FastAPI without its pydantic.v1 import at start-up (issue 21, cold start).

FastAPI asks of every route's annotations and every response object "is this a pydantic v1 model?", and
answers by importing `pydantic.v1` (~30-70 ms of a cold start) to compare against its BaseModel. No v1 model can
exist before `pydantic.v1` is imported, so the answer is "no" until then: the checks below read the module from
`sys.modules` instead of importing it, and answer exactly as FastAPI's own once anything has imported it.
Imported by sentrix.http.app before any route exists.
"""

from __future__ import annotations

import sys
from typing import Any

import fastapi._compat
import fastapi._compat.shared as shared
import fastapi.encoders


def is_pydantic_v1_model_class(cls: Any) -> bool:
    v1 = sys.modules.get("pydantic.v1")
    return v1 is not None and shared.lenient_issubclass(cls, v1.BaseModel)


def is_pydantic_v1_model_instance(obj: Any) -> bool:
    v1 = sys.modules.get("pydantic.v1")
    return v1 is not None and isinstance(obj, v1.BaseModel)


# Every place FastAPI 0.165 holds these two functions (annotation_is_pydantic_v1 calls the first through
# `shared`'s globals); tests/unit/shared/test_fastapi_compat.py fails when a FastAPI upgrade moves them.
shared.is_pydantic_v1_model_class = is_pydantic_v1_model_class
shared.is_pydantic_v1_model_instance = is_pydantic_v1_model_instance
fastapi._compat.is_pydantic_v1_model_instance = is_pydantic_v1_model_instance
fastapi.encoders.is_pydantic_v1_model_instance = is_pydantic_v1_model_instance
