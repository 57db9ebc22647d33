"""Parses a Go template into trees: the main one and those it ``define``s.

The grammar and the parse-time checks are Go's: functions must exist, variables must
be declared before use, ``break``/``continue`` only inside ``range``, a template may
not be defined twice with content.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from tether.controller.appsets.errors import TemplateSyntaxError
from tether.controller.appsets.gotemplate.lexer import Lexer, Tok, Token
from tether.controller.appsets.gotemplate.nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
)

_OPERAND_START = frozenset(
    {
        Tok.BOOL,
        Tok.CHAR,
        Tok.DOT,
        Tok.FIELD,
        Tok.IDENT,
        Tok.NUMBER,
        Tok.RAW_STRING,
        Tok.STRING,
        Tok.VARIABLE,
        Tok.LPAREN,
    }
)
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.S)


def unquote(text: str) -> str:
    """Go's ``strconv.Unquote`` for the literals a template may hold."""
    if text.startswith("`"):
        return text[1:-1].replace("\r", "")
    body = text[1:-1]

    def escape(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "xuU":
            return chr(int(code[1:], 16))
        if code[0].isdigit():
            return chr(int(code, 8))
        if code in _ESCAPES:
            return _ESCAPES[code]
        if code in "\\'\"":
            return code
        raise ValueError(f"invalid syntax: {text}")

    return _ESCAPE.sub(escape, body)


def number(text: str) -> tuple[int | float, bool]:
    """A number constant as Go's template parser types it: (value, is_int)."""
    clean = text.replace("_", "")
    if clean.endswith("i"):
        raise ValueError(f"complex constants are not supported: {text}")
    lower = clean.lower().lstrip("+-")
    is_hex = lower.startswith("0x")
    if (not is_hex and any(c in lower for c in ".e")) or (is_hex and "p" in lower):
        value = float.fromhex(clean) if is_hex else float(clean)
        return value, False
    sign = -1 if clean.startswith("-") else 1
    if re.fullmatch(r"0[0-7]+", lower):
        return sign * int(lower, 8), True
    return sign * int(lower, 0), True


class Parser:
    """Parses one template text; :meth:`parse` returns the trees by name."""

    def __init__(self, name: str, text: str, functions: Collection[str]) -> None:
        self.name = name
        self.tokens = Lexer(name, text).run()
        self.functions = functions
        self.index = 0
        self.trees: dict[str, ListNode] = {}
        self.vars: list[str] = ["$"]
        self.range_depth = 0

    # --- token stream --------------------------------------------------------------

    def _next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _peek(self) -> Token:
        return self.tokens[self.index]

    def _next_non_space(self) -> Token:
        token = self._next()
        while token.type is Tok.SPACE:
            token = self._next()
        return token

    def _peek_non_space(self) -> Token:
        token = self._next_non_space()
        self.index -= 1
        return token

    def _fail(self, token: Token, message: str) -> TemplateSyntaxError:
        return TemplateSyntaxError(f"template: {self.name}:{token.line}: {message}")

    def _unexpected(self, token: Token, context: str) -> TemplateSyntaxError:
        shown = "EOF" if token.type is Tok.EOF else f"{token.value!r}"
        return self._fail(token, f"unexpected {shown} in {context}")

    def _expect(self, kind: Tok, context: str) -> Token:
        token = self._next_non_space()
        if token.type is not kind:
            raise self._unexpected(token, context)
        return token

    # --- structure -----------------------------------------------------------------

    def parse(self) -> dict[str, ListNode]:
        """Parse the whole text into the main tree and the trees it defines."""
        root = ListNode(1)
        while self._peek().type is not Tok.EOF:
            token = self._peek()
            if token.type is Tok.LEFT:
                after = self.tokens[self.index + 1 :]
                words = [t for t in after if t.type is not Tok.SPACE]
                if words and words[0].type is Tok.KEYWORD and words[0].value == "define":
                    self._next()
                    self._next_non_space()
                    self._define()
                    continue
            node = self._text_or_action()
            if isinstance(node, (_End, _Else)):
                raise self._fail(node.token, f"unexpected {node.token.value}")
            root.nodes.append(node)
        self._add(self.name, root, self.tokens[0])
        return self.trees

    def _add(self, name: str, tree: ListNode, token: Token) -> None:
        existing = self.trees.get(name)
        if existing is None or _is_empty(existing):
            self.trees[name] = tree
        elif not _is_empty(tree):
            raise self._fail(token, f"template: multiple definition of template {name!r}")

    def _define(self) -> None:
        token = self._next_non_space()
        if token.type not in (Tok.STRING, Tok.RAW_STRING):
            raise self._unexpected(token, "define clause")
        name = unquote(token.value)
        self._expect(Tok.RIGHT, "define clause")
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self._item_list()
        if not isinstance(end, _End):
            raise self._unexpected(end.token, "define")
        self.vars = saved_vars
        self._add(name, body, token)

    def _item_list(self) -> tuple[ListNode, _End | _Else]:
        body = ListNode(self._peek().line)
        while True:
            if self._peek().type is Tok.EOF:
                raise self._fail(self._peek(), "unexpected EOF")
            node = self._text_or_action()
            if isinstance(node, (_End, _Else)):
                return body, node
            body.nodes.append(node)

    def _text_or_action(self) -> Node | _End | _Else:
        token = self._next()
        if token.type is Tok.TEXT:
            return TextNode(token.line, token.value)
        if token.type is Tok.LEFT:
            return self._action(token)
        raise self._unexpected(token, "input")

    def _action(self, left: Token) -> Node | _End | _Else:
        token = self._next_non_space()
        if token.type is Tok.KEYWORD:
            word = token.value
            if word == "end":
                self._expect(Tok.RIGHT, "end")
                return _End(token)
            if word == "else":
                return self._else(token)
            if word in ("if", "range", "with"):
                return self._control(word, token)
            if word == "template":
                return self._template(token)
            if word == "block":
                return self._block(token)
            if word in ("break", "continue"):
                if self.range_depth == 0:
                    raise self._fail(token, f"{{{{{word}}}}} outside {{{{range}}}}")
                self._expect(Tok.RIGHT, word)
                return BreakNode(token.line) if word == "break" else ContinueNode(token.line)
            if word == "define":
                raise self._fail(token, "define clause must be at the top level")
        self.index -= 1
        pipe = self._pipeline("command", Tok.RIGHT)
        return ActionNode(left.line, pipe)

    def _else(self, token: Token) -> _Else:
        following = self._peek_non_space()
        if following.type is Tok.KEYWORD and following.value == "if":
            return _Else(token, chained=True)
        self._expect(Tok.RIGHT, "else")
        return _Else(token)

    def _control(self, word: str, token: Token) -> BranchNode:
        mark = len(self.vars)
        pipe = self._pipeline(word, Tok.RIGHT)
        if word == "range":
            self.range_depth += 1
        body, end = self._item_list()
        if word == "range":
            self.range_depth -= 1
        else_body: ListNode | None = None
        if isinstance(end, _Else):
            if end.chained:
                # {{else if ...}}: an if nested in the else branch, sharing our {{end}}.
                self._next_non_space()  # the "if"
                nested = self._control("if", end.token)
                else_body = ListNode(end.token.line, [nested])
            else:
                else_body, end = self._item_list()
                if not isinstance(end, _End):
                    raise self._fail(end.token, "expected end; found {{else}}")
        del self.vars[mark:]
        return BranchNode(token.line, word, pipe, body, else_body)

    def _template(self, token: Token) -> TemplateNode:
        name_token = self._next_non_space()
        if name_token.type not in (Tok.STRING, Tok.RAW_STRING):
            raise self._unexpected(name_token, "template clause")
        pipe: PipeNode | None = None
        if self._peek_non_space().type is not Tok.RIGHT:
            pipe = self._pipeline("template clause", Tok.RIGHT)
        else:
            self._next_non_space()
        return TemplateNode(token.line, unquote(name_token.value), pipe)

    def _block(self, token: Token) -> TemplateNode:
        name_token = self._next_non_space()
        if name_token.type not in (Tok.STRING, Tok.RAW_STRING):
            raise self._unexpected(name_token, "block clause")
        name = unquote(name_token.value)
        pipe = self._pipeline("block clause", Tok.RIGHT)
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self._item_list()
        self.vars = saved_vars
        if not isinstance(end, _End):
            raise self._unexpected(end.token, "block clause")
        self._add(name, body, name_token)
        return TemplateNode(token.line, name, pipe)

    # --- pipelines -----------------------------------------------------------------

    def _pipeline(self, context: str, end: Tok) -> PipeNode:
        start = self._peek_non_space()
        pipe = PipeNode(start.line)
        self._declarations(pipe, context)
        while True:
            token = self._next_non_space()
            if token.type is end:
                if not pipe.cmds:
                    raise self._fail(token, f"missing value for {context}")
                for i, cmd in enumerate(pipe.cmds[1:], start=2):
                    if isinstance(
                        cmd.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)
                    ):
                        raise self._fail(token, f"non executable command in pipeline stage {i}")
                return pipe
            if token.type in _OPERAND_START:
                self.index -= 1
                pipe.cmds.append(self._command())
            else:
                raise self._unexpected(token, context)

    def _declarations(self, pipe: PipeNode, context: str) -> None:
        while True:
            first = self._peek_non_space()
            if first.type is not Tok.VARIABLE:
                return
            saved = self.index
            self._next_non_space()
            following = self._peek_non_space()
            if following.type in (Tok.DECLARE, Tok.ASSIGN):
                self._next_non_space()
                pipe.is_assign = following.type is Tok.ASSIGN
                pipe.decl.append(first.value)
                self.vars.append(first.value)
                return
            if following.type is Tok.COMMA:
                self._next_non_space()
                pipe.decl.append(first.value)
                self.vars.append(first.value)
                if context == "range" and len(pipe.decl) < 2:
                    continue
                raise self._fail(following, f"too many declarations in {context}")
            self.index = saved
            if pipe.decl:
                raise self._fail(first, "expected := or = after variables")
            return

    def _command(self) -> CommandNode:
        cmd = CommandNode(self._peek_non_space().line)
        while True:
            self._peek_non_space()
            operand = self._operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self._next()
            if token.type is Tok.SPACE:
                continue
            if token.type in (Tok.RIGHT, Tok.RPAREN):
                self.index -= 1
            elif token.type is not Tok.PIPE:
                raise self._unexpected(token, "operand")
            break
        if not cmd.args:
            raise self._fail(self._peek(), "empty command")
        return cmd

    def _operand(self) -> Node | None:
        node = self._term()
        if node is None:
            return None
        if self._peek().type is Tok.FIELD:
            idents: list[str] = []
            while self._peek().type is Tok.FIELD:
                idents.append(self._next().value[1:])
            if isinstance(node, FieldNode):
                return FieldNode(node.line, node.idents + tuple(idents))
            if isinstance(node, VariableNode):
                return VariableNode(node.line, node.name, node.idents + tuple(idents))
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                raise self._fail(self._peek(), f"unexpected . after term {str(node)!r}")
            return ChainNode(node.line, node, tuple(idents))
        return node

    def _term(self) -> Node | None:
        token = self._next_non_space()
        kind = token.type
        if kind is Tok.IDENT:
            if token.value not in self.functions:
                raise self._fail(token, f"function {token.value!r} not defined")
            return IdentifierNode(token.line, token.value)
        if kind is Tok.DOT:
            return DotNode(token.line)
        if kind is Tok.KEYWORD and token.value == "nil":
            return NilNode(token.line)
        if kind is Tok.VARIABLE:
            if token.value not in self.vars:
                raise self._fail(token, f"undefined variable {token.value!r}")
            return VariableNode(token.line, token.value)
        if kind is Tok.FIELD:
            return FieldNode(token.line, (token.value[1:],))
        if kind is Tok.BOOL:
            return BoolNode(token.line, token.value == "true")
        if kind is Tok.NUMBER:
            return self._number(token)
        if kind is Tok.CHAR:
            value = unquote(token.value)
            if len(value) != 1:
                raise self._fail(token, f"malformed character constant: {token.value}")
            return NumberNode(token.line, token.value, ord(value), True)
        if kind is Tok.LPAREN:
            return self._pipeline("parenthesized pipeline", Tok.RPAREN)
        if kind in (Tok.STRING, Tok.RAW_STRING):
            try:
                return StringNode(token.line, token.value, unquote(token.value))
            except ValueError as error:
                raise self._fail(token, str(error)) from error
        self.index -= 1
        return None

    def _number(self, token: Token) -> NumberNode:
        try:
            value, is_int = number(token.value)
        except ValueError as error:
            raise self._fail(token, f"bad number syntax: {token.value!r}") from error
        return NumberNode(token.line, token.value, value, is_int)


class _End:
    def __init__(self, token: Token) -> None:
        self.token = token


class _Else:
    def __init__(self, token: Token, *, chained: bool = False) -> None:
        self.token = token
        self.chained = chained


def _is_empty(tree: ListNode) -> bool:
    return all(isinstance(n, TextNode) and not n.text.strip() for n in tree.nodes)


def parse(name: str, text: str, functions: Collection[str]) -> dict[str, ListNode]:
    """Parse ``text``: the tree named ``name`` and every tree it defines."""
    return Parser(name, text, functions).parse()
