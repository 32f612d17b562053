"""The parser of Go's text/template (text/template/parse/parse.go): tokens -> a tree, with Go's
parse-time checks (functions and variables defined, literals well formed)."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from . import lex
from .lex import Token
from .values import Value, error

MAX_NESTING = 100  # parentheses and control structures inside one another; deeper is abuse
MAX_NUMBER_CHARS = 400  # a longer numeral is refused (Python reads no more than 4300 digits)


# ---- nodes ------------------------------------------------------------------------------------

@dataclass(slots=True)
class Text:
    text: str


@dataclass(slots=True)
class FieldNode:
    idents: tuple[str, ...]

    def __str__(self) -> str:
        return "." + ".".join(self.idents)


@dataclass(slots=True)
class VariableNode:
    idents: tuple[str, ...]  # idents[0] is "$" or "$name"

    def __str__(self) -> str:
        return ".".join(self.idents)


@dataclass(slots=True)
class ChainNode:
    node: Arg
    fields: tuple[str, ...]

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, Pipe) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


@dataclass(slots=True)
class IdentifierNode:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(slots=True)
class DotNode:
    def __str__(self) -> str:
        return "."


@dataclass(slots=True)
class NilNode:
    def __str__(self) -> str:
        return "nil"


@dataclass(slots=True)
class BoolNode:
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(slots=True)
class StringNode:
    quoted: str
    value: str

    def __str__(self) -> str:
        return self.quoted


@dataclass(slots=True)
class NumberNode:
    text: str
    is_int: bool = False
    is_uint: bool = False
    is_float: bool = False
    is_complex: bool = False
    int_value: int = 0
    float_value: float = 0.0
    complex_value: complex = 0j

    def __str__(self) -> str:
        return self.text


@dataclass(slots=True)
class Command:
    args: list[Arg]

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, Pipe) else str(a) for a in self.args)


@dataclass(slots=True)
class Pipe:
    decl: list[str] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[Command] = field(default_factory=list)

    def __str__(self) -> str:
        text = " | ".join(str(c) for c in self.cmds)
        if self.decl:
            text = ", ".join(self.decl) + (" = " if self.is_assign else " := ") + text
        return text


Arg = FieldNode | VariableNode | ChainNode | IdentifierNode | DotNode | NilNode | BoolNode \
    | StringNode | NumberNode | Pipe


@dataclass(slots=True)
class Action:
    pipe: Pipe


@dataclass(slots=True)
class Control:
    kind: str  # "if", "with", "range"
    pipe: Pipe
    body: list[Node]
    else_body: list[Node] | None


@dataclass(slots=True)
class TemplateCall:
    name: str
    pipe: Pipe | None


@dataclass(slots=True)
class Break:
    pass


@dataclass(slots=True)
class Continue:
    pass


Node = Text | Action | Control | TemplateCall | Break | Continue


@dataclass(slots=True)
class Tree:
    root: list[Node]
    defined: dict[str, list[Node]]


# ---- parser -------------------------------------------------------------------------------------

class _End:
    pass


class _Else:
    def __init__(self, chained: str | None) -> None:
        self.chained = chained  # "if"/"with" for {{else if}} / {{else with}}


def parse(text: str, functions: Collection[str]) -> Tree:
    """Parse a template as text/template does; errors name ``tag``."""
    return _Parser(text, functions).parse()


class _Parser:
    def __init__(self, text: str, functions: Collection[str]) -> None:
        self.text = text
        self.tokens = lex.lex(text)
        self.i = 0
        self.functions = functions
        self.vars = ["$"]
        self.range_depth = 0
        self.depth = 0
        self.defined: dict[str, list[Node]] = {}

    # -- tokens
    def peek(self) -> Token:
        return self.tokens[min(self.i, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        self.i += 1
        return tok

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok.kind == lex.SPACE:
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        """The next token that is not a space; the spaces before it are consumed."""
        tok = self.next_non_space()
        self.i -= 1
        return tok

    def fail(self, problem: str) -> None:
        pos = self.peek().pos if self.i < len(self.tokens) else len(self.text)
        line = self.text.count("\n", 0, pos) + 1
        raise error(f"template: log-tag:{line}: {problem}")

    def unexpected(self, tok: Token, context: str) -> None:
        self.fail(f"unexpected {_describe(tok)} in {context}")

    def expect(self, kind: int, context: str) -> Token:
        tok = self.next_non_space()
        if tok.kind != kind:
            self.unexpected(tok, context)
        return tok

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            self.fail(f"nested deeper than {MAX_NESTING} (parentheses and actions)")

    # -- structure
    def parse(self) -> Tree:
        root: list[Node] = []
        while self.peek().kind != lex.EOF:
            if self.peek().kind == lex.LDELIM:
                at = self.i
                self.next()
                tok = self.next_non_space()
                if tok.kind == lex.KEYWORD and tok.text == "define":
                    self.definition()
                    continue
                self.i = at
            node = self.text_or_action()
            if isinstance(node, _End):
                self.fail("unexpected {{end}}")
            if isinstance(node, _Else):
                self.fail("unexpected {{else}}")
            if node is not None:
                root.append(node)  # type: ignore[arg-type]
        return Tree(root, self.defined)

    def definition(self) -> None:
        name = self._template_name("define clause")
        self.expect(lex.RDELIM, "define clause")
        saved, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved
        if isinstance(end, _Else):
            self.fail("unexpected {{else}}")
        self._add_definition(name, body)

    def _add_definition(self, name: str, body: list[Node]) -> None:
        # Go: a later non-empty definition replaces an earlier one; an empty one does not
        if name not in self.defined or any(not (isinstance(n, Text) and not n.text.strip())
                                           for n in body):
            self.defined[name] = body

    def _template_name(self, context: str) -> str:
        tok = self.next_non_space()
        if tok.kind not in (lex.STRING, lex.RAW):
            self.unexpected(tok, context)
        return unquote(tok.text, self)

    def item_list(self) -> tuple[list[Node], _End | _Else]:
        nodes: list[Node] = []
        while self.peek_non_space().kind != lex.EOF:
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                return nodes, node
            if node is not None:
                nodes.append(node)
        self.fail("unexpected EOF")
        raise AssertionError  # not reached

    def text_or_action(self) -> Node | _End | _Else | None:
        tok = self.next_non_space()
        if tok.kind == lex.TEXT:
            return Text(tok.text)
        if tok.kind == lex.LDELIM:
            return self.action()
        self.unexpected(tok, "input")
        return None

    def action(self) -> Node | _End | _Else | None:
        tok = self.next_non_space()
        if tok.kind == lex.KEYWORD:
            word = tok.text
            if word == "end":
                self.expect(lex.RDELIM, "end")
                return _End()
            if word == "else":
                peek = self.peek_non_space()
                if peek.kind == lex.KEYWORD and peek.text in ("if", "with"):
                    return _Else(peek.text)
                self.expect(lex.RDELIM, "else")
                return _Else(None)
            if word in ("if", "with", "range"):
                return self.control(word)
            if word in ("break", "continue"):
                if self.range_depth == 0:
                    self.fail(f"{{{{{word}}}}} outside {{{{range}}}}")
                after = self.next_non_space()
                if after.kind != lex.RDELIM:
                    self.unexpected(after, f"{{{{{word}}}}}")
                return Break() if word == "break" else Continue()
            if word in ("template", "block"):
                return self.template_call(word)
        self.i -= 1
        return Action(self.pipeline("command", lex.RDELIM))

    def control(self, kind: str) -> Control:
        self.nest()
        mark = len(self.vars)
        pipe = self.pipeline(kind, lex.RDELIM)
        if kind == "range":
            self.range_depth += 1
        body, end = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_body: list[Node] | None = None
        if isinstance(end, _Else):
            if end.chained is not None and end.chained == kind:
                self.next_non_space()  # the "if"/"with" of {{else if}} / {{else with}}
                else_body = [self.control(kind)]
            elif end.chained is not None:
                self.unexpected(self.peek_non_space(), "input")
            else:
                else_body, end2 = self.item_list()
                if not isinstance(end2, _End):
                    self.fail("expected end; found {{else}}")
        del self.vars[mark:]
        self.depth -= 1
        return Control(kind, pipe, body, else_body)

    def template_call(self, word: str) -> Node:
        context = "template clause" if word == "template" else "block clause"
        name = self._template_name(context)
        pipe: Pipe | None = None
        if self.peek_non_space().kind != lex.RDELIM:
            pipe = self.pipeline(context, lex.RDELIM)
        else:
            self.next_non_space()
        if word == "block":
            saved, self.vars = self.vars, ["$"]
            self.nest()
            body, end = self.item_list()
            self.depth -= 1
            self.vars = saved
            if isinstance(end, _Else):
                self.fail("unexpected {{else}}")
            self._add_definition(name, body)
        return TemplateCall(name, pipe)

    # -- pipelines
    def pipeline(self, context: str, end: int) -> Pipe:
        pipe = Pipe()
        while True:  # declarations
            tok = self.peek_non_space()
            if tok.kind != lex.VAR:
                break
            at = self.i
            var = self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.kind in (lex.ASSIGN, lex.DECLARE):
                pipe.is_assign = nxt.kind == lex.ASSIGN
                self.next_non_space()
                pipe.decl.append(var.text)
                self.vars.append(var.text)
                break
            if nxt.kind == lex.CHAR and nxt.text == ",":
                self.next_non_space()
                pipe.decl.append(var.text)
                self.vars.append(var.text)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in (lex.VAR, lex.RDELIM, lex.RPAREN):
                        continue
                    self.fail("range can only initialize variables")
                self.fail(f"too many declarations in {context}")
            self.i = at
            break
        while True:
            tok = self.next_non_space()
            if tok.kind == end:
                if not pipe.cmds:
                    self.fail(f"missing value for {context}")
                for n, cmd in enumerate(pipe.cmds[1:], start=2):
                    if isinstance(cmd.args[0], (BoolNode, DotNode, NilNode, NumberNode,
                                                StringNode)):
                        self.fail(f"non executable command in pipeline stage {n}")
                return pipe
            if tok.kind in (lex.BOOL, lex.CHARCONST, lex.COMPLEX, lex.DOT, lex.FIELD,
                            lex.IDENT, lex.NUMBER, lex.STRING, lex.RAW, lex.VAR, lex.LPAREN) \
                    or (tok.kind == lex.KEYWORD and tok.text == "nil"):
                self.i -= 1
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def command(self) -> Command:
        cmd = Command([])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.kind == lex.SPACE:
                continue
            if tok.kind in (lex.RDELIM, lex.RPAREN):
                self.i -= 1
            elif tok.kind != lex.PIPE:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.fail("empty command")
        return cmd

    def operand(self) -> Arg | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == lex.FIELD:
            fields: list[str] = []
            while self.peek().kind == lex.FIELD:
                fields.append(self.next().text[1:])
            if isinstance(node, FieldNode):
                return FieldNode(node.idents + tuple(fields))
            if isinstance(node, VariableNode):
                return VariableNode(node.idents + tuple(fields))
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                self.fail(f"unexpected . after term {str(node)!r}")
            return ChainNode(node, tuple(fields))
        return node

    def term(self) -> Arg | None:
        tok = self.next_non_space()
        kind = tok.kind
        if kind == lex.IDENT:
            if tok.text not in self.functions:
                self.fail(f"function {tok.text!r} not defined")
            return IdentifierNode(tok.text)
        if kind == lex.DOT:
            return DotNode()
        if kind == lex.KEYWORD and tok.text == "nil":
            return NilNode()
        if kind == lex.VAR:
            parts = tok.text.split(".")
            if parts[0] not in self.vars:
                self.fail(f"undefined variable {parts[0]!r}")
            return VariableNode(tuple(parts))
        if kind == lex.FIELD:
            return FieldNode((tok.text[1:],))
        if kind == lex.BOOL:
            return BoolNode(tok.text == "true")
        if kind in (lex.CHARCONST, lex.COMPLEX, lex.NUMBER):
            return number(tok, self)
        if kind == lex.LPAREN:
            self.nest()
            pipe = self.pipeline("parenthesized pipeline", lex.RPAREN)
            self.depth -= 1
            return pipe
        if kind in (lex.STRING, lex.RAW):
            return StringNode(tok.text, unquote(tok.text, self))
        self.i -= 1
        return None


def _describe(tok: Token) -> str:
    if tok.kind == lex.EOF:
        return "EOF"
    if tok.kind == lex.RDELIM:
        return '"}}"'
    if tok.kind == lex.KEYWORD:
        return f"<{tok.text}>"
    return repr(tok.text)


# ---- literals -------------------------------------------------------------------------------

_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def _unquote_char(body: str, i: int, quote: str, p: _Parser) -> tuple[bytes, int]:
    """strconv.UnquoteChar at body[i]: (the bytes it stands for, the next index)."""
    c = body[i]
    if c != "\\":
        if c == quote:
            p.fail("invalid syntax")
        return c.encode("utf-8", "surrogateescape"), i + 1
    e = body[i + 1:i + 2]
    if e in _SIMPLE_ESCAPES:
        return bytes([_SIMPLE_ESCAPES[e]]), i + 2
    if e == quote and quote in "'\"":
        return e.encode(), i + 2
    if e in ("x", "u", "U"):
        width = {"x": 2, "u": 4, "U": 8}[e]
        digits = body[i + 2:i + 2 + width]
        if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
            p.fail("invalid syntax")
        code = int(digits, 16)
        if e == "x":
            return bytes([code]), i + 2 + width
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            p.fail("invalid syntax")
        return chr(code).encode(), i + 2 + width
    if e and e in "01234567":
        digits = body[i + 1:i + 4]
        if len(digits) != 3 or not all(d in "01234567" for d in digits) or int(digits, 8) > 255:
            p.fail("invalid syntax")
        return bytes([int(digits, 8)]), i + 4
    p.fail("invalid syntax")
    raise AssertionError  # not reached


def unquote(quoted: str, p: _Parser) -> str:
    """strconv.Unquote of a "double-quoted" or `raw` literal; invalid UTF-8 bytes it makes are
    kept as lone surrogates (surrogateescape)."""
    if quoted.startswith("`"):
        return quoted[1:-1].replace("\r", "")  # Go drops carriage returns from raw strings
    body = quoted[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        chunk, i = _unquote_char(body, i, '"', p)
        out += chunk
    return out.decode("utf-8", "surrogateescape")


_GO_INT = re.compile(r"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+"
                     r"|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)")
_GO_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?"
                           r"|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?")
_GO_HEX_FLOAT = re.compile(r"([+-]?)0[xX]((?:_?[0-9a-fA-F])*"
                           r"(?:\.(?:[0-9a-fA-F](?:_?[0-9a-fA-F])*)?)?)"
                           r"[pP]([+-]?[0-9](?:_?[0-9])*)")


def _parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 0)'s syntax, without the range check."""
    if not _GO_INT.fullmatch(text):
        return None
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-").replace("_", "")
    if len(body) > 1 and body[0] == "0" and body[1] in "0123456789":
        return sign * int(body, 8)
    return sign * int(body, 0)


def _parse_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64)'s syntax; None if invalid or out of range."""
    m = _GO_HEX_FLOAT.fullmatch(text)
    if m:
        mant = m.group(2).replace("_", "")
        if mant in ("", "."):
            return None
        try:
            value = float.fromhex(f"{m.group(1)}0x{mant}p{m.group(3).replace('_', '')}")
        except (OverflowError, ValueError):
            return None
    elif _GO_DEC_FLOAT.fullmatch(text):
        value = float(text.replace("_", ""))
    else:
        return None
    return None if math.isinf(value) else value


def number(tok: Token, p: _Parser) -> NumberNode:
    """parse.newNumber: which of int, uint, float, complex a numeral can be."""
    text = tok.text
    n = NumberNode(text)
    if len(text) > MAX_NUMBER_CHARS:
        p.fail(f"number {text[:20]}... is too long")
    if tok.kind == lex.CHARCONST:
        body = text[1:-1]
        if not body:
            p.fail(f"malformed character constant: {text}")
        if body[0] == "\\":
            raw, end = _unquote_char(body, 0, "'", p)
            code = raw[0] if body[1] in "x01234567" else ord(raw.decode())
        else:
            code, end = ord(body[0]), 1
        if end != len(body):
            p.fail(f"malformed character constant: {text}")
        n.is_int = n.is_uint = n.is_float = True
        n.int_value, n.float_value = code, float(code)
        return n
    if tok.kind == lex.COMPLEX:
        split = max(text.rfind("+"), text.rfind("-"))
        real, imag = _parse_float(text[:split]), _parse_float(text[split:-1])
        if real is None or imag is None:
            p.fail(f"illegal number syntax: {text!r}")
        n.is_complex, n.complex_value = True, complex(real or 0.0, imag or 0.0)
        _simplify_complex(n)
        return n
    if text.endswith("i"):
        imag = _parse_float(text[:-1])
        if imag is not None:
            n.is_complex, n.complex_value = True, complex(0, imag)
            _simplify_complex(n)
            return n
    value = _parse_int(text)
    if value is not None:
        if 0 <= value < 1 << 64:
            n.is_uint = True
        if -(1 << 63) <= value < 1 << 63:
            n.is_int = True
    if n.is_int or n.is_uint:
        n.is_float = True
        n.int_value = value or 0
        n.float_value = float(value or 0)
        return n
    f = _parse_float(text)
    if f is not None:
        if not any(c in text for c in ".eEpP"):
            p.fail(f"integer overflow: {text!r}")
        n.is_float, n.float_value = True, f
        if f.is_integer() and -(2.0 ** 63) <= f < 2.0 ** 63:
            n.is_int, n.int_value = True, int(f)
        if f.is_integer() and 0 <= f < 2.0 ** 64:
            n.is_uint, n.int_value = True, int(f)
    if not (n.is_int or n.is_uint or n.is_float):
        p.fail(f"illegal number syntax: {text!r}")
    return n


def _simplify_complex(n: NumberNode) -> None:
    if n.complex_value.imag == 0:
        f = n.complex_value.real
        n.is_float, n.float_value = True, f
        if f.is_integer() and -(2.0 ** 63) <= f < 2.0 ** 63:
            n.is_int, n.int_value = True, int(f)
        if f.is_integer() and 0 <= f < 2.0 ** 64:
            n.is_uint = True


def ideal_constant(n: NumberNode) -> Value:
    """A numeral where no type is asked for (exec.go idealConstant)."""
    if n.is_complex:
        return n.complex_value
    text = n.text
    is_hex_int = len(text) > 2 and text[0] == "0" and text[1] in "xX" and not any(
        c in text for c in "pP")
    if n.is_float and not is_hex_int and not text.startswith("'") and any(
            c in text for c in ".eEpP"):
        return n.float_value
    if n.is_int:
        return n.int_value
    if n.is_uint:
        raise error(f"{text} overflows int")
    return None
