"""Docker's ``tag`` log-opt: the Go text/template subset Docker's drivers render, with its funcs.

Supported: text, ``{{ pipeline }}`` actions with ``{{-``/``-}}`` trimming and ``{{/* */}}``
comments; operands ``.Field`` (chains, map keys), string/raw-string/integer/bool literals,
``( pipeline )``; ``|`` pipes (the piped value is the last argument, as in Go); Docker's funcs
``json split join title lower upper pad truncate`` (moby ``daemon/logger/templates``) and Go's
``index``, ``len`` and ``printf`` (verbs %s %v %d %% only); see ``template_funcs.py``. Fields
are those of moby's ``logger.Info`` (``loginfo.go``), except ``Config`` and ``{{.}}``, which
would print every log-opt, secrets included. Control structures (``if``, ``range``, ``with``...)
and variables are refused with an error naming ``tag``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .record import TagInfo
from .template_funcs import FUNCS, MAX_TAG_CHARS, TAG, Value, error, print_value, type_name

__all__ = ["DEFAULT_TEMPLATE", "TAG", "parse_template", "render_tag", "validate_tag"]

DEFAULT_TEMPLATE = "{{.ID}}"  # moby loggerutils.DefaultTemplate
SHORT_ID_CHARS = 12  # Info.ID() and Info.ImageID() keep this many leading characters
MAX_NESTING = 100  # parentheses inside one action; deeper is abuse (and Python's stack)
MAX_INT_CHARS = 20  # an int literal fits Go's int64: 19 digits and a sign


_KEYWORDS = frozenset(
    {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
)
_SPACE = " \t\r\n"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_NUMBER = re.compile(r"[+-]?[0-9]+(?![0-9A-Za-z_.])")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", '"': '"'}


# ---- the data: moby's logger.Info, as fields and methods ---------------------------------------

def _fields(info: TagInfo) -> dict[str, Callable[[], Value]]:
    return {
        # methods (loginfo.go)
        "ID": lambda: info.container_id[:SHORT_ID_CHARS],
        "FullID": lambda: info.container_id,
        "Name": lambda: info.container_name.removeprefix("/"),
        # moby slices ContainerImageID, which keeps its "sha256:" prefix: "sha256:0123a"
        "ImageID": lambda: info.image_id[:SHORT_ID_CHARS],
        "ImageFullID": lambda: info.image_id,
        "ImageName": lambda: info.image_name,
        "Command": lambda: " ".join([info.entrypoint, *info.args]),
        "Hostname": lambda: info.hostname,
        # exported struct fields
        "ContainerID": lambda: info.container_id,
        "ContainerName": lambda: info.container_name,
        "ContainerEntrypoint": lambda: info.entrypoint,
        "ContainerArgs": lambda: list(info.args),
        "ContainerImageID": lambda: info.image_id,
        "ContainerImageName": lambda: info.image_name,
        "ContainerEnv": lambda: list(info.env),
        "ContainerLabels": lambda: dict(info.labels),
        "LogPath": lambda: info.log_path,
        "DaemonName": lambda: info.daemon_name,
    }


_REFUSED_FIELDS = {
    "Config": "it would print every log-opt, secrets included",
    "ContainerCreated": "Go's time formatting is not reproduced",
    "ExtraAttributes": "it needs an argument",
}


# ---- syntax tree --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Field:
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Const:
    value: Value


@dataclass(frozen=True, slots=True)
class _Func:
    name: str


@dataclass(frozen=True, slots=True)
class _Dot:
    pass


@dataclass(frozen=True, slots=True)
class _Pipe:
    commands: tuple[tuple[_Operand, ...], ...]


_Operand = _Field | _Const | _Func | _Dot | _Pipe
_Node = str | _Pipe


# ---- lexer and parser ---------------------------------------------------------------------------

def _unquote(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise error("bad escape in string literal")
        e = body[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2:i + 2 + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise error("bad escape in string literal")
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:  # Go: "invalid Unicode code point"
                raise error("escape sequence is invalid Unicode code point")
            out.append(chr(code))
            i += 2 + width
        elif e in "01234567":
            digits = body[i + 1:i + 4]
            if len(digits) != 3 or not all(d in "01234567" for d in digits):
                raise error("bad escape in string literal")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise error("bad escape in string literal")
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def parse(self) -> list[_Node]:
        nodes: list[_Node] = []
        text = self.text
        while self.pos < len(text):
            start = text.find("{{", self.pos)
            if start < 0:
                nodes.append(text[self.pos:])
                break
            literal = text[self.pos:start]
            self.pos = start + 2
            if text.startswith("-", self.pos) and text[self.pos + 1:self.pos + 2] in tuple(_SPACE):
                literal = literal.rstrip(_SPACE)
                self.pos += 1
            if literal:
                nodes.append(literal)
            action, trim_right = self._action()
            if action is not None:
                nodes.append(action)
            if trim_right:
                end = self.pos
                while end < len(text) and text[end] in _SPACE:
                    end += 1
                self.pos = end
        return nodes

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1

    def _close(self) -> bool | None:
        """At ``}}`` or `` -}}``: consume it and say whether it trims; else None."""
        text = self.text
        if text.startswith("}}", self.pos):
            self.pos += 2
            return False
        if (text.startswith("-}}", self.pos) and self.pos > 0
                and text[self.pos - 1] in _SPACE):
            self.pos += 3
            return True
        return None

    def _action(self) -> tuple[_Pipe | None, bool]:
        self._skip_space()
        if self.text.startswith("/*", self.pos):
            end = self.text.find("*/", self.pos + 2)
            if end < 0:
                raise error("unclosed comment")
            self.pos = end + 2
            self._skip_space()
            trim = self._close()
            if trim is None:
                raise error("comment ends before the action does")
            return None, trim
        pipe = self._pipeline(inner=False)
        trim = self._close()
        if trim is None:
            raise error("unclosed action")
        return pipe, trim

    def _pipeline(self, *, inner: bool) -> _Pipe:
        commands: list[tuple[_Operand, ...]] = []
        operands: list[_Operand] = []
        while True:
            self._skip_space()
            if self.pos >= len(self.text):
                raise error("unclosed action")
            c = self.text[self.pos]
            at_end = (c == ")" if inner else
                      self.text.startswith("}}", self.pos) or self.text.startswith("-}}", self.pos))
            if at_end or c == "|":
                if not operands:
                    raise error("missing value for command")
                commands.append(tuple(operands))
                operands = []
                if at_end:
                    if inner:
                        self.pos += 1
                    return _Pipe(tuple(commands))
                self.pos += 1
                continue
            operands.append(self._operand())

    def _operand(self) -> _Operand:
        text, pos = self.text, self.pos
        c = text[pos]
        if c == "(":
            if self.depth >= MAX_NESTING:
                raise error(f"parentheses nested deeper than {MAX_NESTING}")
            self.pos += 1
            self.depth += 1
            try:
                return self._pipeline(inner=True)
            finally:
                self.depth -= 1
        if c == '"':
            end = pos + 1
            while end < len(text) and text[end] != '"':
                if text[end] == "\n":
                    break
                end += 2 if text[end] == "\\" else 1
            if end >= len(text) or text[end] != '"':
                raise error("unterminated quoted string")
            self.pos = end + 1
            return _Const(_unquote(text[pos + 1:end]))
        if c == "`":
            end = text.find("`", pos + 1)
            if end < 0:
                raise error("unterminated raw quoted string")
            self.pos = end + 1
            return _Const(text[pos + 1:end])
        if c == ".":
            match = _FIELD.match(text, pos)
            if match:
                self.pos = match.end()
                return _Field(tuple(match.group(0)[1:].split(".")))
            self.pos += 1
            return _Dot()
        if c == "$":
            raise error("template variables are not supported")
        match = _NUMBER.match(text, pos)
        if match:
            self.pos = match.end()
            if len(match.group(0)) > MAX_INT_CHARS or not -(2**63) <= int(match.group(0)) < 2**63:
                raise error(f"number {match.group(0)[:MAX_INT_CHARS]}... overflows int")
            return _Const(int(match.group(0)))
        match = _IDENT.match(text, pos)
        if match:
            name = match.group(0)
            self.pos = match.end()
            if name in ("true", "false"):
                return _Const(name == "true")
            if name in _KEYWORDS:
                raise error(f"{{{{{name}}}}} is not supported (only pipelines are)")
            if name not in FUNCS:
                raise error(f"function {name!r} not defined")
            return _Func(name)
        raise error(f"unexpected {c!r} in action")


# ---- evaluation ---------------------------------------------------------------------------------

class _Evaluator:
    def __init__(self, info: TagInfo) -> None:
        self.fields = _fields(info)

    def pipe(self, pipe: _Pipe) -> Value:
        value: Value = None
        piped = False
        for command in pipe.commands:
            value = self.command(command, value if piped else None, piped)
            piped = True
        return value

    def command(self, command: tuple[_Operand, ...], final: Value, has_final: bool) -> Value:
        head, rest = command[0], command[1:]
        if isinstance(head, _Func):
            count, impl = FUNCS[head.name]
            args = [self.arg(op) for op in rest]
            if has_final:
                args.append(final)
            if (count >= 0 and len(args) != count) or (count < 0 and not args):
                want = count if count >= 0 else "at least 1"
                raise error(f"wrong number of args for {head.name}: want {want} got {len(args)}")
            if any(a is None for a in args):
                raise error(f"{head.name}: invalid value; expected a value")
            result = impl(args)
            if isinstance(result, str) and len(result) > MAX_TAG_CHARS:
                raise error(f"{head.name}: the result is longer than {MAX_TAG_CHARS} characters")
            return result
        if rest or has_final:
            if isinstance(head, _Field):
                raise error(f"{'.'.join(head.names)} is not a method but has arguments")
            raise error("can't give argument to non-function")
        return self.arg(head)

    def arg(self, operand: _Operand) -> Value:
        if isinstance(operand, _Const):
            return operand.value
        if isinstance(operand, _Pipe):
            return self.pipe(operand)
        if isinstance(operand, _Dot):
            raise error("{{.}} is not supported: it would print every log-opt, secrets included")
        if isinstance(operand, _Func):
            count, impl = FUNCS[operand.name]
            if count != 0:
                raise error(f"wrong number of args for {operand.name}: want {count} got 0")
            return impl([])
        return self.field(operand.names)

    def field(self, names: tuple[str, ...]) -> Value:
        first = names[0]
        if first in _REFUSED_FIELDS:
            raise error(f"{{{{.{first}}}}} is not supported: {_REFUSED_FIELDS[first]}")
        getter = self.fields.get(first)
        if getter is None:
            raise error(f"can't evaluate field {first} in type *logger.Info")
        value = getter()
        for name in names[1:]:
            if isinstance(value, dict):
                value = value.get(name)  # a missing map key prints "<no value>", as in Go
            else:
                raise error(f"can't evaluate field {name} in type {type_name(value)}")
        return value


def parse_template(template: str) -> list[_Node]:
    """Parse once; raises SinkOptionError naming ``tag``."""
    return _Parser(template).parse()


def render_tag(template: str | None, info: TagInfo) -> str:
    """The ``tag`` log-opt rendered for one container.

    Absent means Docker's default ``{{.ID}}``; an empty string means no tag, as Docker's splunk
    driver reads it (its other drivers fall back to the default).
    """
    if template is None:
        template = DEFAULT_TEMPLATE
    if template == "":
        return ""
    evaluator = _Evaluator(info)
    out: list[str] = []
    size = 0
    for node in parse_template(template):
        out.append(node if isinstance(node, str) else print_value(evaluator.pipe(node)))
        size += len(out[-1])
        if size > MAX_TAG_CHARS:
            raise error(f"the tag is longer than {MAX_TAG_CHARS} characters")
    return "".join(out)


def validate_tag(template: str) -> None:
    """Check a ``tag`` template against placeholder container info (no I/O)."""
    render_tag(template, _PLACEHOLDER)


_PLACEHOLDER = TagInfo(container_id="0" * 64, container_name="/placeholder",
                       image_id="sha256:" + "0" * 64, image_name="placeholder")

