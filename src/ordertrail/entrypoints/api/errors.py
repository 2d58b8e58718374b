"""One error shape for every failure: a machine-readable code and a sentence for a person."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ordertrail.services.ports import ConcurrentWrite

# Seconds a client should wait before resending after losing a write race.
RETRY_AFTER_S = 1
logger = logging.getLogger("ordertrail.api")


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        fields: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.fields = fields or []
        self.headers = headers
        self.extra = extra or {}


def error_body(
    code: str, message: str, fields: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or []}}


HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
        body = error_body(error.code, error.message, error.fields)
        body["error"].update(error.extra)
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            {
                "loc": ".".join(str(p) for p in item["loc"]),
                "code": item["type"],
                "message": item["msg"],
            }
            for item in error.errors()
        ]
        return JSONResponse(
            error_body("invalid_request", "the request parameters are not valid", fields),
            status_code=422,
        )

    @app.exception_handler(ConcurrentWrite)
    async def _concurrent(request: Request, error: ConcurrentWrite) -> JSONResponse:
        # Ingest already retried the whole transaction; nothing was written, so the client may
        # safely send the same request again. That is a 503 with Retry-After, not a 500. The
        # database's message goes to the log only: it names constraints and keys.
        logger.warning("ingest lost every retry to concurrent writers: %s", error)
        busy = ApiError(
            503,
            "concurrent_write",
            "other requests kept changing the same orders; nothing was written, "
            "send the request again",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
        return await _api_error(request, busy)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(error.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(error.detail)),
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )
