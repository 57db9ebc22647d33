"""Tokens of Go's ``text/template``: text, actions and the words inside them.

Trim markers follow Go: ``{{- `` removes the white space (space, tab, CR, LF) before
the action and `` -}}`` the white space after it; the ``-`` must be separated from the
action's words by white space, so ``{{-3}}`` is the number -3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tether.controller.appsets.errors import TemplateSyntaxError

LEFT: Final = "{{"
RIGHT: Final = "}}"
_SPACE_CHARS: Final = " \t\r\n"
KEYWORDS: Final = frozenset(
    {
        "block",
        "break",
        "continue",
        "define",
        "else",
        "end",
        "if",
        "range",
        "nil",
        "template",
        "with",
    }
)
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?"
    r"|0[bB][01_]+|0[oO][0-7_]+"
    r"|(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?)i?"
)
_WORD = re.compile(r"[\w]+", re.UNICODE)


class Tok(StrEnum):
    """Token types."""

    TEXT = "text"
    LEFT = "{{"
    RIGHT = "}}"
    SPACE = "space"
    FIELD = "field"
    DOT = "."
    VARIABLE = "variable"
    IDENT = "identifier"
    KEYWORD = "keyword"
    STRING = "string"
    RAW_STRING = "raw string"
    CHAR = "character constant"
    NUMBER = "number"
    BOOL = "bool"
    PIPE = "|"
    LPAREN = "("
    RPAREN = ")"
    DECLARE = ":="
    ASSIGN = "="
    COMMA = ","
    EOF = "EOF"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its type, its text and where it starts (for messages)."""

    type: Tok
    value: str
    pos: int
    line: int


class Lexer:
    """Splits a template into tokens (all at once; templates are small)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.tokens: list[Token] = []
        self._pos = 0

    def _line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def _emit(self, kind: Tok, value: str, pos: int) -> None:
        self.tokens.append(Token(kind, value, pos, self._line(pos)))

    def _fail(self, pos: int, message: str) -> TemplateSyntaxError:
        return TemplateSyntaxError(f"template: {self.name}:{self._line(pos)}: {message}")

    def run(self) -> list[Token]:
        """Every token of the template, ending with ``EOF``."""
        text = self.text
        trim_next = False
        while self._pos < len(text):
            start = text.find(LEFT, self._pos)
            end = len(text) if start < 0 else start
            chunk = text[self._pos : end]
            left_trim = (
                start >= 0
                and text.startswith("-", start + 2)
                and (start + 3 < len(text) and text[start + 3] in _SPACE_CHARS)
            )
            if trim_next:
                chunk = chunk.lstrip(_SPACE_CHARS)
            if left_trim:
                chunk = chunk.rstrip(_SPACE_CHARS)
            if chunk:
                self._emit(Tok.TEXT, chunk, self._pos)
            if start < 0:
                self._pos = len(text)
                break
            self._pos = start + 2 + (2 if left_trim else 0)
            trim_next = self._action(start)
        self._emit(Tok.EOF, "", len(text))
        return self.tokens

    def _right_delim(self, pos: int) -> tuple[bool, int] | None:
        """At ``pos``: a right delimiter? Returns (trim, length) when one starts here."""
        text = self.text
        if text.startswith(RIGHT, pos):
            return False, 2
        if text[pos] in _SPACE_CHARS and text.startswith("-" + RIGHT, pos + 1):
            return True, 4
        return None

    def _action(self, start: int) -> bool:
        text = self.text
        # Comments: {{/* ... */}}, with optional trim markers around them.
        probe = self._pos
        if text.startswith("/*", probe):
            close = text.find("*/", probe + 2)
            if close < 0:
                raise self._fail(start, "unclosed comment")
            after = close + 2
            delim = self._right_delim(after) if after < len(text) else None
            if delim is None:
                raise self._fail(start, "comment ends before closing delimiter")
            self._pos = after + delim[1]
            return delim[0]
        self._emit(Tok.LEFT, LEFT, start)
        depth = 0
        while True:
            if self._pos >= len(text):
                raise self._fail(start, "unclosed action")
            pos = self._pos
            delim = self._right_delim(pos)
            if delim is not None and depth == 0:
                self._emit(Tok.RIGHT, RIGHT, pos)
                self._pos = pos + delim[1]
                return delim[0]
            ch = text[pos]
            if ch in _SPACE_CHARS:
                end = pos
                while end < len(text) and text[end] in _SPACE_CHARS:
                    if self._right_delim(end) is not None and depth == 0:
                        break
                    end += 1
                self._emit(Tok.SPACE, text[pos:end], pos)
                self._pos = end
                continue
            if text.startswith(":=", pos):
                self._emit(Tok.DECLARE, ":=", pos)
                self._pos += 2
            elif ch == "=":
                self._emit(Tok.ASSIGN, "=", pos)
                self._pos += 1
            elif ch == "|":
                self._emit(Tok.PIPE, "|", pos)
                self._pos += 1
            elif ch == ",":
                self._emit(Tok.COMMA, ",", pos)
                self._pos += 1
            elif ch == "(":
                depth += 1
                self._emit(Tok.LPAREN, "(", pos)
                self._pos += 1
            elif ch == ")":
                depth -= 1
                if depth < 0:
                    raise self._fail(pos, "unexpected right paren")
                self._emit(Tok.RPAREN, ")", pos)
                self._pos += 1
            elif ch == '"':
                self._quoted(pos, '"', Tok.STRING)
            elif ch == "`":
                close = text.find("`", pos + 1)
                if close < 0:
                    raise self._fail(pos, "unterminated raw quoted string")
                self._emit(Tok.RAW_STRING, text[pos : close + 1], pos)
                self._pos = close + 1
            elif ch == "'":
                self._quoted(pos, "'", Tok.CHAR)
            elif ch == "$":
                match = _WORD.match(text, pos + 1)
                end = match.end() if match else pos + 1
                self._emit(Tok.VARIABLE, text[pos:end], pos)
                self._pos = end
            elif ch == ".":
                nxt = text[pos + 1 : pos + 2]
                if nxt.isdigit():
                    self._number(pos)
                    continue
                match = _WORD.match(text, pos + 1)
                if match is None:
                    self._emit(Tok.DOT, ".", pos)
                    self._pos = pos + 1
                else:
                    self._emit(Tok.FIELD, text[pos : match.end()], pos)
                    self._pos = match.end()
            elif ch.isdigit() or (ch in "+-" and text[pos + 1 : pos + 2].isdigit()):
                self._number(pos)
            elif ch.isalpha() or ch == "_":
                match = _WORD.match(text, pos)
                assert match is not None
                word = match.group()
                if word in KEYWORDS:
                    kind = Tok.KEYWORD
                elif word in ("true", "false"):
                    kind = Tok.BOOL
                else:
                    kind = Tok.IDENT
                self._emit(kind, word, pos)
                self._pos = match.end()
            else:
                raise self._fail(pos, f"unexpected {ch!r} in command")

    def _quoted(self, pos: int, quote: str, kind: Tok) -> None:
        text = self.text
        i = pos + 1
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                i += 2
                continue
            if ch == "\n":
                break
            if ch == quote:
                self._emit(kind, text[pos : i + 1], pos)
                self._pos = i + 1
                return
            i += 1
        raise self._fail(pos, "unterminated quoted string")

    def _number(self, pos: int) -> None:
        match = _NUMBER.match(self.text, pos)
        if match is None or not match.group():
            raise self._fail(pos, "bad number syntax")
        end = match.end()
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "."):
            raise self._fail(pos, f"bad number syntax: {self.text[pos : end + 1]!r}")
        self._emit(Tok.NUMBER, match.group(), pos)
        self._pos = end
