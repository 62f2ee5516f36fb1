"""API Gateway entry point of the auth function."""

from fastapi import APIRouter, Depends

from sentrix.http.app import create_app, lambda_handler
from sentrix.http.health import router as health_router
from sentrix.http.identity import Principal, current_principal

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.get("/me", summary="The caller's identity as the authorizer established it")
def me(principal: Principal = Depends(current_principal)) -> dict:
    return {"id": str(principal.user_id), "role": principal.role.value, "email": principal.email}


app = create_app("Sentrix auth", [router, health_router], description="Users, tokens and settings.")
handler = lambda_handler(app)
