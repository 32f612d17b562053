"""Docker's ``tag`` log-opt: rendered with Go's text/template as Docker does (``gotemplate``).

moby's loggerutils.ParseLogTag parses the template with Docker's functions (json split join
title lower upper pad truncate) and executes it with ``*logger.Info`` as dot; any parse or
execution error refuses the container's start. The same here: every error is a SinkOptionError
naming ``tag``. Limits on runaway templates (each refused naming ``tag``): 100 nested
parentheses or actions, numerals Go's int64/uint64/float64 cannot hold, 65,536 characters of
output or of any function's result, 200,000 evaluation steps, 100 nested {{template}} calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..util.record import TagInfo
from .gotemplate import (
    FUNCS,
    MAX_NESTING,
    MAX_TAG_CHARS,
    Info,
    TemplateError,
    Tree,
    execute,
    parse,
)

TAG = "tag"  # Docker's log-opt (moby daemon/logger/loggerutils/log_tag.go)

_INVALID_BYTE = re.compile("[\udc80-\udcff]")  # surrogateescape's stand-ins for bytes

__all__ = ["DEFAULT_TEMPLATE", "MAX_NESTING", "MAX_TAG_CHARS", "TAG", "TagTemplate",
           "parse_template", "render_tag", "validate_tag"]

DEFAULT_TEMPLATE = "{{.ID}}"  # moby loggerutils.DefaultTemplate


def parse_template(template: str) -> Tree:
    """Parse once; raises SinkOptionError naming ``tag``."""
    try:
        return parse(template, FUNCS)
    except TemplateError as exc:
        raise named(exc) from None


def render_tag(template: str | None, info: TagInfo) -> str:
    """The ``tag`` log-opt rendered for one container.

    Absent means Docker's default ``{{.ID}}``; an empty string means no tag, as Docker's splunk
    driver reads it (its other drivers fall back to the default). Each byte of invalid UTF-8 the
    template makes (a ``"\\xff"`` literal, ``truncate`` inside a character) becomes U+FFFD, as
    Go's JSON encoder writes it in Docker's envelope.
    """
    return TagTemplate.from_option(template).render(info)


@dataclass(frozen=True, slots=True)
class TagTemplate:
    """The ``tag`` log-opt parsed once (``tree`` None: the empty template, no tag)."""

    tree: Tree | None

    @classmethod
    def from_option(cls, template: str | None) -> TagTemplate:
        """Absent -> Docker's default ``{{.ID}}``; raises SinkOptionError naming ``tag``."""
        if template is None:
            template = DEFAULT_TEMPLATE
        return cls(parse_template(template) if template else None)

    def render(self, info: TagInfo) -> str:
        """``render_tag`` with the parse done: execution errors name ``tag``."""
        if self.tree is None:
            return ""
        try:
            tag = execute(self.tree, Info(info))
        except TemplateError as exc:
            raise named(exc) from None
        return _INVALID_BYTE.sub("\ufffd", tag)


def validate_tag(template: str) -> None:
    """Parse a ``tag`` template as Go does (no I/O). Execution errors depend on the container
    (an index out of range, a missing method argument) and surface in ``render_tag`` when the
    container starts, as in Docker."""
    parse_template(template)


def named(exc: TemplateError) -> TemplateError:
    """The engine's error (the problem alone) as a refusal naming ``tag``, of the same type."""
    return type(exc)(f"invalid value for log-opt {TAG!r}: {exc}")
