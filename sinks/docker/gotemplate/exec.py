"""Executing a parsed template as Go's text/template does (text/template/exec.go): dot and
variables, fields and methods, function calls with Go's argument typing, if/with/range."""

from __future__ import annotations

from collections.abc import Callable

from . import nodes
from .dockerfuncs import FUNCS
from .funcs import MAX_TAG_CHARS, Func, FuncError
from .gotime import Duration, GoTime, Location, duration_methods
from .literals import NumberNode, ideal_constant
from .values import GoObject, NilSlice, Value, error, is_true, print_value, type_name

MAX_STEPS = 200_000  # evaluation steps of one rendering; more is a runaway template
MAX_CALL_DEPTH = 100  # {{template}} calls inside one another


class _Missing:
    """No piped value (exec.go missingVal)."""


MISSING = _Missing()


class _BreakLoop(Exception):
    pass


class _ContinueLoop(Exception):
    pass


# Parameter kinds: "any" (interface{} or reflect.Value), "string", "int", "[]string",
# "func", "time.Duration", "time.Time", "*time.Location", "[]byte".
_NILABLE = frozenset({"any", "[]string", "func", "*time.Location", "[]byte"})


def _zero(kind: str) -> Value:
    return NilSlice() if kind == "[]string" else None


def _fits(value: Value, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "int":
        return type(value) is int
    if kind == "time.Duration":
        return isinstance(value, Duration)
    if kind == "[]string":
        return isinstance(value, list)
    if kind == "time.Time":
        return isinstance(value, GoTime)
    if kind == "*time.Location":
        return isinstance(value, Location)
    return False


def _kind_name(kind: str) -> str:
    return {"any": "interface {}", "func": "func(string) string"}.get(kind, kind)


class Executor:
    def __init__(self, tree: nodes.Tree, data: Value) -> None:
        self.tree = tree
        self.data = data
        self.out: list[str] = []
        self.size = 0
        self.steps = 0
        self.depth = 0
        self.vars: list[tuple[str, Value]] = [("$", data)]

    def run(self) -> str:
        self.walk_list(self.data, self.tree.root)
        return "".join(self.out)

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_TAG_CHARS:
            raise error(f"the tag is longer than {MAX_TAG_CHARS} characters")
        self.out.append(text)

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise error(f"the template takes more than {MAX_STEPS} steps to render")

    # -- variables
    def var_value(self, name: str) -> Value:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        raise error(f"undefined variable: {name}")

    def set_var(self, name: str, value: Value) -> None:
        for k in range(len(self.vars) - 1, -1, -1):
            if self.vars[k][0] == name:
                self.vars[k] = (name, value)
                return
        raise error(f"undefined variable: {name}")

    # -- walking
    def walk_list(self, dot: Value, body: list[nodes.Node]) -> None:
        for node in body:
            self.walk(dot, node)

    def walk(self, dot: Value, node: nodes.Node) -> None:
        self.step()
        if isinstance(node, nodes.Text):
            self.write(node.text)
        elif isinstance(node, nodes.Action):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.write(print_value(value))
        elif isinstance(node, nodes.Control):
            if node.kind == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(dot, node)
        elif isinstance(node, nodes.TemplateCall):
            self.walk_template(dot, node)
        elif isinstance(node, nodes.Break):
            raise _BreakLoop
        elif isinstance(node, nodes.Continue):
            raise _ContinueLoop

    def walk_if_or_with(self, dot: Value, node: nodes.Control) -> None:
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if is_true(value):
                self.walk_list(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk_list(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Value, node: nodes.Control) -> None:
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            inner = len(self.vars)
            decl = len(node.pipe.decl)
            items: list[tuple[Value, Value]]
            if isinstance(value, list):
                items = list(enumerate(value))
            elif isinstance(value, dict):
                keys = sorted(value, key=lambda k: k.encode("utf-8", "surrogateescape"))
                items = [(k, value[k]) for k in keys]
            elif isinstance(value, int) and not isinstance(value, bool) and type(value) is int:
                if decl > 1:
                    raise error(f"can't use {value} to iterate over more than one variable")
                items = [(n, n) for n in range(max(0, min(value, MAX_STEPS + 1)))]
            elif value is None:
                items = []
            else:
                # Go quotes the value; a type name keeps a secret (a .Config value) out
                raise error(f"range can't iterate over a value of type {type_name(value)}")
            for index, elem in items:
                self.step()
                if decl > 0:
                    name = node.pipe.decl[-1]
                    self.vars[inner - 1] = (name, elem)
                if decl > 1:
                    self.vars[inner - 2] = (node.pipe.decl[0], index)
                try:
                    self.walk_list(elem, node.body)
                except _ContinueLoop:
                    pass
                except _BreakLoop:
                    break
                finally:
                    del self.vars[inner:]
            if not items and node.else_body is not None:
                self.walk_list(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_template(self, dot: Value, node: nodes.TemplateCall) -> None:
        body = self.tree.defined.get(node.name)
        if body is None:
            raise error(f"template: no template {node.name!r} associated with template "
                        "\"log-tag\"")
        if self.depth >= MAX_CALL_DEPTH:
            raise error(f"exceeded maximum template depth ({MAX_CALL_DEPTH})")
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else None
        saved = self.vars
        self.vars = [("$", new_dot)]
        self.depth += 1
        try:
            self.walk_list(new_dot, body)
        finally:
            self.depth -= 1
            self.vars = saved

    # -- evaluation
    def eval_pipeline(self, dot: Value, pipe: nodes.Pipe) -> Value:
        value: Value | _Missing = MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append((name, value))
        return value

    def not_a_function(self, args: list[nodes.Arg], final: Value | _Missing) -> None:
        if len(args) > 1 or final is not MISSING:
            raise error(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Value, cmd: nodes.Command, final: Value | _Missing) -> Value:
        self.step()
        first = cmd.args[0]
        if isinstance(first, nodes.FieldNode):
            return self.eval_field_chain(dot, dot, first.idents, cmd.args, final)
        if isinstance(first, nodes.ChainNode):
            receiver = self.eval_arg_value(dot, first.node)
            return self.eval_field_chain(dot, receiver, first.fields, cmd.args, final)
        if isinstance(first, nodes.IdentifierNode):
            return self.eval_function(dot, first.name, cmd.args, final)
        if isinstance(first, nodes.Pipe):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, nodes.VariableNode):
            value = self.var_value(first.idents[0])
            if len(first.idents) == 1:
                self.not_a_function(cmd.args, final)
                return value
            return self.eval_field_chain(dot, value, first.idents[1:], cmd.args, final)
        self.not_a_function(cmd.args, final)
        if isinstance(first, nodes.BoolNode):
            return first.value
        if isinstance(first, nodes.DotNode):
            return dot
        if isinstance(first, nodes.NilNode):
            raise error("nil is not a command")
        if isinstance(first, NumberNode):
            return ideal_constant(first)
        if isinstance(first, nodes.StringNode):
            return first.value
        raise error(f"can't evaluate command {first}")

    def eval_field_chain(self, dot: Value, receiver: Value, idents: tuple[str, ...],
                         args: list[nodes.Arg], final: Value | _Missing) -> Value:
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, [], MISSING, receiver)
        return self.eval_field(dot, idents[-1], args, final, receiver)

    def eval_field(self, dot: Value, name: str, args: list[nodes.Arg], final: Value | _Missing,
                   receiver: Value) -> Value:
        self.step()
        if receiver is None:
            return None  # missingkey=default: a missing value stays missing
        methods: dict[str, tuple[tuple[str, ...], Callable[..., Value]]] = {}
        if isinstance(receiver, GoObject):
            methods = receiver.go_methods()
        elif isinstance(receiver, Duration):
            methods = duration_methods(receiver)
        elif isinstance(receiver, int) and hasattr(receiver, "go_string"):
            methods = {"String": ((), receiver.go_string)}
        if name in methods:
            params, impl = methods[name]
            return self.eval_call(dot, Func(params, None, lambda a: impl(*a)), name,
                                  args[1:], final)
        has_args = len(args) > 1 or final is not MISSING
        if isinstance(receiver, GoObject):
            fields = receiver.go_fields()
            if name in fields:
                if has_args:
                    raise error(f"{name} has arguments but cannot be invoked as function")
                return fields[name]()
        if isinstance(receiver, dict):
            if has_args:
                raise error(f"{name} is not a method but has arguments")
            return receiver.get(name)
        raise error(f"can't evaluate field {name} in type {type_name(receiver)}")

    def eval_function(self, dot: Value, name: str, args: list[nodes.Arg],
                      final: Value | _Missing) -> Value:
        func = FUNCS.get(name)
        if func is None:
            raise error(f"{name!r} is not a defined function")
        return self.eval_call(dot, func, name, args[1:], final)

    def eval_call(self, dot: Value, func: Func, name: str, args: list[nodes.Arg],
                  final: Value | _Missing) -> Value:
        num_in = len(args) + (final is not MISSING)
        fixed = len(func.params)
        if func.variadic is not None:
            if num_in < fixed:
                raise error(f"wrong number of args for {name}: want at least {fixed} got "
                            f"{len(args)}")
        elif num_in != fixed:
            raise error(f"wrong number of args for {name}: want {fixed} got {num_in}")
        if name in ("and", "or") and func is FUNCS.get(name):
            value: Value = None
            for arg in args:
                value = self.eval_arg(dot, "any", arg)
                if is_true(value) == (name == "or"):
                    return value
            if final is not MISSING:
                value = final
            return value
        values: list[Value] = []
        for n, arg in enumerate(args):
            kind = func.params[n] if n < fixed else func.variadic
            assert kind is not None
            values.append(self.eval_arg(dot, kind, arg))
        if final is not MISSING:
            n = num_in - 1
            kind = func.params[n] if n < fixed else func.variadic
            assert kind is not None
            values.append(self.validate(final, kind))
        try:
            result = func.impl(values)
        except FuncError as exc:
            raise error(f"error calling {name}: {exc}") from None
        if isinstance(result, str) and len(result) > MAX_TAG_CHARS:
            raise error(f"{name}: the result is longer than {MAX_TAG_CHARS} characters")
        return result

    def validate(self, value: Value, kind: str) -> Value:
        if value is None:
            if kind in _NILABLE:
                return _zero(kind)
            raise error(f"invalid value; expected {_kind_name(kind)}")
        if not _fits(value, kind):
            raise error(f"wrong type for value; expected {_kind_name(kind)}; got "
                        f"{type_name(value)}")
        return value

    def eval_arg_value(self, dot: Value, node: nodes.Arg) -> Value:
        """An argument whose type nothing constrains (the head of a chain)."""
        return self.eval_arg(dot, "any", node)

    def eval_arg(self, dot: Value, kind: str, node: nodes.Arg) -> Value:
        self.step()
        if isinstance(node, nodes.DotNode):
            return self.validate(dot, kind)
        if isinstance(node, nodes.NilNode):
            if kind in _NILABLE:
                return _zero(kind)
            raise error(f"cannot assign nil to {_kind_name(kind)}")
        if isinstance(node, nodes.FieldNode):
            return self.validate(self.eval_field_chain(dot, dot, node.idents, [node], MISSING),
                                 kind)
        if isinstance(node, nodes.VariableNode):
            value = self.var_value(node.idents[0])
            if len(node.idents) > 1:
                value = self.eval_field_chain(dot, value, node.idents[1:], [], MISSING)
            return self.validate(value, kind)
        if isinstance(node, nodes.Pipe):
            return self.validate(self.eval_pipeline(dot, node), kind)
        if isinstance(node, nodes.IdentifierNode):
            return self.validate(self.eval_function(dot, node.name, [node], MISSING), kind)
        if isinstance(node, nodes.ChainNode):
            receiver = self.eval_arg_value(dot, node.node)
            return self.validate(self.eval_field_chain(dot, receiver, node.fields, [],
                                                       MISSING), kind)
        # literals
        if kind == "any":
            if isinstance(node, nodes.BoolNode):
                return node.value
            if isinstance(node, NumberNode):
                return ideal_constant(node)
            if isinstance(node, nodes.StringNode):
                return node.value
        if kind == "string":
            if isinstance(node, nodes.StringNode):
                return node.value
            raise error(f"expected string; found {node}")
        if kind in ("int", "time.Duration"):
            if isinstance(node, NumberNode) and node.is_int:
                return Duration(node.int_value) if kind == "time.Duration" else node.int_value
            raise error(f"expected integer; found {node}")
        raise error(f"can't handle {node} for arg of type {_kind_name(kind)}")


def execute(tree: nodes.Tree, data: Value) -> str:
    """Render ``tree`` with ``data`` as dot; errors name ``tag``."""
    try:
        return Executor(tree, data).run()
    except (_BreakLoop, _ContinueLoop):  # cannot happen: the parser checks
        raise error("{{break}} or {{continue}} outside {{range}}") from None
