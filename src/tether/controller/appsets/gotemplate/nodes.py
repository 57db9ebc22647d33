"""The parse tree of a Go template (the node types of Go's ``text/template/parse``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Node:
    """Any node; ``line`` is where it starts, for error messages."""

    line: int


@dataclass(slots=True)
class TextNode(Node):
    """Literal text, copied to the output."""

    text: str


@dataclass(slots=True)
class DotNode(Node):
    """``.``: the cursor."""

    def __str__(self) -> str:
        return "."


@dataclass(slots=True)
class NilNode(Node):
    """``nil``."""

    def __str__(self) -> str:
        return "nil"


@dataclass(slots=True)
class BoolNode(Node):
    """``true`` or ``false``."""

    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(slots=True)
class NumberNode(Node):
    """A number constant; ``value`` is an ``int`` or a ``float`` as Go would type it."""

    text: str
    value: int | float
    is_int: bool

    def __str__(self) -> str:
        return self.text


@dataclass(slots=True)
class StringNode(Node):
    """A quoted or raw string constant (``text`` as written, ``value`` unquoted)."""

    text: str
    value: str

    def __str__(self) -> str:
        return self.text


@dataclass(slots=True)
class FieldNode(Node):
    """``.A.B``: a chain of field names looked up from the cursor."""

    idents: tuple[str, ...]

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


@dataclass(slots=True)
class VariableNode(Node):
    """``$x.A.B``: a variable and the fields looked up from it."""

    name: str
    idents: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name + "".join("." + i for i in self.idents)


@dataclass(slots=True)
class IdentifierNode(Node):
    """A function name."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(slots=True)
class ChainNode(Node):
    """``(pipeline).A.B``: fields looked up from a term's value."""

    node: Node
    idents: tuple[str, ...]

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return inner + "".join("." + i for i in self.idents)


@dataclass(slots=True)
class CommandNode(Node):
    """One command of a pipeline: an operand, possibly a function with arguments."""

    args: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


@dataclass(slots=True)
class PipeNode(Node):
    """Commands joined by ``|``, optionally declaring or assigning variables."""

    decl: list[str] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[CommandNode] = field(default_factory=list)

    def __str__(self) -> str:
        head = ""
        if self.decl:
            head = ", ".join(self.decl) + (" = " if self.is_assign else " := ")
        return head + " | ".join(str(c) for c in self.cmds)


@dataclass(slots=True)
class ListNode(Node):
    """A sequence of nodes."""

    nodes: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class ActionNode(Node):
    """``{{pipeline}}``: evaluated and printed unless it declares variables."""

    pipe: PipeNode


@dataclass(slots=True)
class BranchNode(Node):
    """``if``, ``range`` or ``with``: a pipeline, a body and an optional ``else``."""

    keyword: str
    pipe: PipeNode
    body: ListNode
    else_body: ListNode | None = None


@dataclass(slots=True)
class TemplateNode(Node):
    """``{{template "name" pipeline}}``."""

    name: str
    pipe: PipeNode | None


@dataclass(slots=True)
class BreakNode(Node):
    """``{{break}}`` inside a range."""


@dataclass(slots=True)
class ContinueNode(Node):
    """``{{continue}}`` inside a range."""
