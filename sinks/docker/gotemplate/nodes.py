"""The nodes of a parsed Go text/template (text/template/parse/node.go), as the parser builds
them and the executor walks them."""

from __future__ import annotations

from dataclasses import dataclass, field

from .literals import NumberNode


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
