"""The ApplicationSet error tree: one base class, one branch per boundary.

Messages read ``failed to <verb> <what>: <cause>``; the object concerned is carried on
the exception so that callers can turn it into a condition without parsing text.
Nothing here ever holds a secret: tokens are read from Secrets and only sent in
request headers, never formatted into a message.
"""

from __future__ import annotations


class AppSetError(Exception):
    """Base class of every error this package raises."""


class TemplateError(AppSetError):
    """A template could not be parsed or executed."""


class TemplateSyntaxError(TemplateError):
    """A Go template does not parse (``template: name:line: <cause>``)."""


class TemplateExecError(TemplateError):
    """A Go template failed while executing (missing key, bad call, ...)."""


class GeneratorError(AppSetError):
    """A generator could not produce its parameters; nothing may change in this pass.

    ``generator`` is the generator's type (``git``, ``matrix``, ...); ``cause`` the
    underlying reason, already free of secrets.
    """

    def __init__(self, generator: str, cause: str) -> None:
        super().__init__(f"failed to generate parameters with the {generator} generator: {cause}")
        self.generator = generator
        self.cause = cause


class RenderError(AppSetError):
    """One parameter set could not be turned into a valid Application.

    Only that Application is affected; ``application`` is its name when known.
    """

    def __init__(self, application: str, cause: str) -> None:
        target = f"Application {application}" if application else "an Application"
        super().__init__(f"failed to render {target}: {cause}")
        self.application = application
        self.cause = cause
