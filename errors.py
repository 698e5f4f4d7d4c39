"""The project's error types and the exit statuses the CLI maps them to.

Anything a user can cause (bad model file, unsupported op, bad option) is a
:class:`SpintronError`: the CLI prints it as one line and exits with status 2.
A :class:`VerificationMismatch` is a design that does not agree with its
oracle: status 1.  Any other exception is a bug in this project.
"""


class SpintronError(Exception):
    """Bad input or usage; printed as ``spintronc: error: <message>``."""

    exit_status = 2

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class UnsupportedError(SpintronError):
    """A valid model that uses something this project does not implement."""


class VerificationMismatch(Exception):
    """A backend disagrees with its oracle beyond the stated bound."""

    exit_status = 1
