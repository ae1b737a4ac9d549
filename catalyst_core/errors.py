"""Domain errors: what went wrong in the business's terms, with no HTTP in them.

Entry points translate them (the HTTP middleware maps each class to one status code)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The resource does not exist, or the actor may not know that it does (other tenants' data)."""


class Forbidden(DomainError):
    """The actor can see the resource but its role is too small for the action."""


class Conflict(DomainError):
    """The action contradicts the current state: a duplicate, a final task, the last admin."""


class Unauthenticated(DomainError):
    """Credentials or token are missing, wrong, expired, or belong to a deactivated user."""


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a rule; `fields` maps each offending field to why."""

    def __init__(self, fields: Mapping[str, str], message: str = "Validation error") -> None:
        super().__init__(message)
        self.fields = dict(fields)


class TooLarge(DomainError):
    """The content is larger than the configured limit; nothing of it was kept."""


class UnsupportedMedia(DomainError):
    """The content is not of a kind the action accepts (an upload that is no image or video)."""


class Unavailable(DomainError):
    """A dependency (the database, say) is down or too busy; retrying later may succeed."""


class RateLimited(DomainError):
    """Too many requests or attempts in a window; more are allowed in `retry_after` whole seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


def check_each(*checks: tuple[Callable[[Any], Any], Any]) -> list[Any]:
    """Apply each `(check, value)` pair and return the results in order (a None value stays None).
    Every check runs before anything is raised, so one InvalidInput names all offending fields."""
    results: list[Any] = []
    problems: dict[str, str] = {}
    for check, value in checks:
        try:
            results.append(None if value is None else check(value))
        except InvalidInput as e:
            problems.update(e.fields)
            results.append(None)
    if problems:
        raise InvalidInput(problems)
    return results
