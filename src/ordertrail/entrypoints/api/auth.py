"""Bearer-key authentication and role checks, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action, allows
from ordertrail.services.keys import Principal, authenticate

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ordertrail"'}


def container(request: Request) -> Ordertrail:
    app: Ordertrail = request.app.state.ordertrail
    return app


def require(action: Action) -> Callable[[Request], Principal]:
    """A dependency that authenticates the caller and checks that a role allows `action`."""

    def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                401,
                "unauthenticated",
                "send an API key as 'Authorization: Bearer <key>'",
                headers=CHALLENGE,
            )
        principal = authenticate(store=container(request).keys, token=token.strip())
        if principal is None:
            raise ApiError(
                401, "unauthenticated", "the API key is unknown or revoked", headers=CHALLENGE
            )
        if not allows(roles=principal.roles, action=action):
            raise ApiError(
                403,
                "forbidden",
                f"roles {', '.join(principal.roles)} may not perform {action.value}",
            )
        request.state.principal = principal
        return principal

    return dependency
