"""What every command endpoint shares: If-Match and the accepted response."""

from typing import Annotated

from fastapi import Depends, Header, Response

from commands.event_sourced import CommandResult
from runtime.problems import ProblemError
from schemas import consistency
from schemas.api import CommandAccepted


async def expected_version(
    if_match: Annotated[str | None, Header(
        alias="If-Match", description="The version you read (ETag); 409 if it changed since",
    )] = None,
) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ProblemError(400, "invalid-if-match", "If-Match must be a version like \"3\"")
    return int(text)


ExpectedVersion = Annotated[int | None, Depends(expected_version)]


def accepted(result: CommandResult, response: Response) -> CommandAccepted:
    token = result.token.encode()
    response.headers[consistency.HEADER] = token
    response.headers["ETag"] = f'"{result.version}"'
    return CommandAccepted(id=result.aggregate_id, version=result.version, consistency_token=token)
