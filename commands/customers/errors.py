"""The customers context's refusals."""

from commands.errors import DomainError


class EmailTaken(DomainError):
    """Says only that the address cannot be registered: not whose it is or since when."""

    status = 409
    type = "email-taken"

    def __init__(self, _: str = "") -> None:
        super().__init__("An account with this email already exists; sign in or reset "
                         "the password")


class WeakPassword(DomainError):
    status = 422
    type = "weak-password"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The password " + "; ".join(problems))
        self.problems = problems


class InvalidCredentials(DomainError):
    """The same answer for an unknown email, a wrong password and an erased account."""

    status = 401
    type = "invalid-credentials"

    def __init__(self) -> None:
        super().__init__("Wrong email or password")


class InvalidRefreshToken(DomainError):
    status = 401
    type = "invalid-refresh-token"

    def __init__(self) -> None:
        super().__init__("The refresh token is unknown, expired, revoked or used already; "
                         "sign in again")


class InvalidLinkToken(DomainError):
    """A verification or reset link's token that is unknown, used, expired or replaced."""

    status = 400
    type = "invalid-token"

    def __init__(self) -> None:
        super().__init__("This link is invalid or has expired; ask for a new one")


class CustomerErased(DomainError):
    status = 410
    type = "customer-erased"

    def __init__(self) -> None:
        super().__init__("This customer's data has been erased")
