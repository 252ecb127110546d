"""The one exception the emulator raises, rendered as Stripe's error body."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """A Stripe API error: an HTTP status plus the fields of Stripe's ``{"error": {...}}`` body.

    The same exception is used by the test controls, so a misuse of a control (paying an
    expired session, say) reads like the Stripe error a real integration would see.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.code = code
        self.param = param

    def to_body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.error_type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        if request_id:
            error["request_log_url"] = (
                f"https://dashboard.stripe.com/test/logs/{request_id}?t=emulator"
            )
        return {"error": error}


def missing(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", code="parameter_missing", param=param)


def unknown(param: str) -> StripeError:
    return StripeError(
        f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def invalid(message: str, param: str, code: str | None = None) -> StripeError:
    return StripeError(message, code=code, param=param)


def no_such(kind: str, object_id: str, param: str) -> StripeError:
    return StripeError(
        f"No such {kind}: '{object_id}'", status=404, code="resource_missing", param=param
    )
