"""Go's text/template, as Docker renders the ``tag`` log-opt: lexer, parser, executor, Go's
builtins and printing, Docker's functions, and ``*logger.Info`` as the data.

Written from Go's text/template (exec.go, funcs.go, parse/lex.go, parse/parse.go), fmt and
time, and moby's daemon/logger/templates and loginfo.go; checked byte for byte against Docker's
own ``splunk`` driver in tests/e2e/test_tag_templates.py.
"""

from __future__ import annotations

from .exec import MAX_STEPS, execute
from .funcs import FUNCS, MAX_TAG_CHARS
from .info import Info
from .parse import MAX_NESTING, Tree, parse
from .values import TAG, TemplateError, Unsupported

__all__ = ["FUNCS", "MAX_NESTING", "MAX_STEPS", "MAX_TAG_CHARS", "TAG", "Info", "TemplateError",
           "Tree", "Unsupported", "execute", "parse"]
