"""Go's text/template, as Docker renders the ``tag`` log-opt: lexer, parser, executor, Go's
builtins and printing, Docker's functions, and ``*logger.Info`` as the data.

Modules: ``lex`` (parse/lex.go), ``nodes`` (parse/node.go), ``parse`` (parse/parse.go),
``literals`` (numbers and quoted strings), ``exec`` (exec.go), ``funcs`` (funcs.go: Go's
builtins), ``dockerfuncs`` (moby's functions and the FUNCS table), ``printf`` (fmt's
Sprint, Sprintln, Sprintf), ``fmtverb`` (fmt: one operand under one verb), ``values`` (Go
values, truth, %v), ``gotime`` (time.Time, Duration, Location), ``golayout`` (time.Format's
layouts), ``info`` (``*logger.Info``).

Written from Go's text/template (exec.go, funcs.go, parse/lex.go, parse/node.go,
parse/parse.go), fmt and time, and moby's daemon/logger/templates and loginfo.go; checked byte
for byte against Docker's own ``splunk`` driver in tests/e2e/test_tag_templates.py.
"""
from __future__ import annotations

from .dockerfuncs import FUNCS
from .exec import MAX_STEPS, execute
from .funcs import MAX_TAG_CHARS
from .info import Info
from .nodes import Tree
from .parse import MAX_NESTING, parse
from .values import TemplateError, Unsupported

__all__ = ["FUNCS", "MAX_NESTING", "MAX_STEPS", "MAX_TAG_CHARS", "Info", "TemplateError",
           "Tree", "Unsupported", "execute", "parse"]
