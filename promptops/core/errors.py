"""One exception tree; each error carries a user-facing what/where/why/fix message."""

from __future__ import annotations


class PromptopsError(Exception):
    """Root of every error promptops raises on purpose."""

    exit_code = 1

    def __init__(
        self, what: str, *, where: str | None = None, why: str | None = None, fix: str | None = None
    ) -> None:
        self.what = what
        self.where = where
        self.why = why
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The full message: where: what (why). fix."""
        head = f"{self.where}: {self.what}" if self.where else self.what
        parts = [head]
        if self.why:
            parts.append(f"  why: {self.why}")
        if self.fix:
            parts.append(f"  fix: {self.fix}")
        return "\n".join(parts)


class ConfigError(PromptopsError):
    """Bad usage, config, prompt or suite: found before any model is called."""

    exit_code = 2


class InfraError(PromptopsError):
    """Providers unreachable or errors above the error budget."""

    exit_code = 3


class RemoteUnreachableError(InfraError):
    """The git remote could not be reached: a fetch or push failed for a reason other than a
    rejection (a rejected push is a ConflictError: the remote moved)."""

    exit_code = 3


class GateError(PromptopsError):
    """The gate failed."""

    exit_code = 1


class ProviderError(PromptopsError):
    """One model call failed; `kind` classifies it by status code, not exception class."""

    exit_code = 3

    def __init__(
        self,
        what: str,
        *,
        kind: str,
        status: int | None = None,
        retry_after_s: float | None = None,
        retryable: bool | None = None,
        fix: str | None = None,
    ) -> None:
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s
        self.retryable = retryable if retryable is not None else kind in RETRYABLE_KINDS
        super().__init__(what, fix=fix)


# Transient kinds worth another attempt; the rest would fail the same way again.
RETRYABLE_KINDS = frozenset(
    {"rate_limit", "overloaded", "server", "timeout", "connection", "malformed"}
)


def classify_status(status: int) -> str:
    """Map an HTTP status code to an error kind."""
    if status == 429:
        return "rate_limit"
    if status == 529:
        return "overloaded"
    if status in (408, 409):
        return "timeout" if status == 408 else "server"
    if status >= 500:
        return "server"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    return "bad_request"


class RegistryError(PromptopsError):
    """A release-flow refusal; each subclass has its own exit code (DESIGN §3: 4+)."""

    exit_code = 4


class DirtyTreeError(RegistryError):
    """The working tree has uncommitted changes the command would mix into its commit."""

    exit_code = 4


class TagExistsError(RegistryError):
    """The release tag already exists; release tags are never moved."""

    exit_code = 5


class ConflictError(RegistryError):
    """Another promptops command holds the lock, or the state changed underneath."""

    exit_code = 6


class PolicyDeniedError(RegistryError):
    """A release or promotion is not allowed by policy (gate, status, blocked version)."""

    exit_code = 7


class VerifyFailedError(RegistryError):
    """Hashes, tags or pointers do not match the registry."""

    exit_code = 8


class NoChangeError(RegistryError):
    """Nothing to do: the head's behaviour equals the latest version."""

    exit_code = 9


class BumpTooSmallError(RegistryError):
    """The declared bump level is smaller than the contract change requires."""

    exit_code = 10


class SloMissedError(RegistryError):
    """The change was made, but the probes did not confirm it within the SLO."""

    exit_code = 11
