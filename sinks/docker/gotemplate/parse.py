"""The parser of Go's text/template (text/template/parse/parse.go): tokens -> a tree, with Go's
parse-time checks (functions and variables defined, literals well formed)."""

from __future__ import annotations

from collections.abc import Collection
from typing import NoReturn

from . import lex
from .lex import Token
from .literals import NumberNode, number, unquote
from .nodes import (
    Action,
    Arg,
    BoolNode,
    Break,
    ChainNode,
    Command,
    Continue,
    Control,
    DotNode,
    FieldNode,
    IdentifierNode,
    NilNode,
    Node,
    Pipe,
    StringNode,
    TemplateCall,
    Text,
    Tree,
    VariableNode,
)
from .values import error

MAX_NESTING = 100  # parentheses and control structures inside one another; deeper is abuse


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

    def fail(self, problem: str) -> NoReturn:
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
                root.append(node)
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
        return unquote(tok.text, self.fail)

    def item_list(self) -> tuple[list[Node], _End | _Else]:
        nodes: list[Node] = []
        while self.peek_non_space().kind != lex.EOF:
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                return nodes, node
            if node is not None:
                nodes.append(node)
        self.fail("unexpected EOF")

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
            return number(tok.text, tok.kind == lex.CHARCONST, tok.kind == lex.COMPLEX, self.fail)
        if kind == lex.LPAREN:
            self.nest()
            pipe = self.pipeline("parenthesized pipeline", lex.RPAREN)
            self.depth -= 1
            return pipe
        if kind in (lex.STRING, lex.RAW):
            return StringNode(tok.text, unquote(tok.text, self.fail))
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


