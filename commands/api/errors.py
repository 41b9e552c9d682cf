"""Domain errors as problem+json responses."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from commands.errors import DomainError
from runtime.problems import problem_response


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(request, exc.status, exc.type, str(exc))


def install_domain_errors(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _on_domain_error)
