"""GitLab CI ``rules:if`` expressions: a small recursive-descent parser (pure).

No maintained PyPI package evaluates these well: gitlab-emulator needs an
ANTLR runtime and ignores regex flags and ``null``; bitrab matches a few
regular expressions without parentheses; cimulator rewrites the text and
calls ``eval``. The grammar here follows GitLab's "CI/CD variable
expressions" page::

    expression := or
    or         := and ( "||" and )*
    and        := comparison ( "&&" comparison )*
    comparison := operand ( ( "==" | "!=" | "=~" | "!~" ) operand )?
    operand    := "(" expression ")" | $VAR | ${VAR} | "text" | 'text'
                  | /regex/flags | null

``&&`` binds tighter than ``||``. A lone variable is true when it is
defined and not empty. An undefined variable is ``null``: ``$X == null`` is
true and ``$X == ""`` is false for it. Regex matching searches (is not
anchored); the flags ``i``, ``m`` and ``s`` are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

OPERATORS = ("==", "!=", "=~", "!~", "&&", "||")
FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REGEX_TEXT = re.compile(r"^/(.*)/([a-z]*)$", re.DOTALL)

Variables = Mapping[str, str]


class ExpressionError(ValueError):
    """The expression text is not valid; the message says where."""


@dataclass(frozen=True)
class Regex:
    """A ``/pattern/flags`` literal."""

    pattern: str
    flags: str = ""

    def search(self, text: str) -> bool:
        """Whether the pattern occurs in ``text``."""
        options = 0
        for flag in self.flags:
            options |= FLAGS[flag]
        return re.search(self.pattern, text, options) is not None


@dataclass(frozen=True)
class Token:
    """One lexeme: its kind (``var``, ``str``, ``regex``, ``null``, an
    operator or a parenthesis), its text and where it starts."""

    kind: str
    text: str
    position: int


Value = str | Regex | None
Node = Callable[[Variables], Value | bool]


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raise ExpressionError on a stray character."""
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        token, index = _next_token(text, index)
        tokens.append(token)
    return tokens


def _next_token(text: str, index: int) -> tuple[Token, int]:
    two = text[index : index + 2]
    if two in OPERATORS:
        return Token(two, two, index), index + 2
    char = text[index]
    if char in "()":
        return Token(char, char, index), index + 1
    if char == "$":
        return _variable(text, index)
    if char in "\"'":
        return _quoted(text, index, char)
    if char == "/":
        return _regex(text, index)
    if text.startswith("null", index) and not _name_continues(text, index + 4):
        return Token("null", "null", index), index + 4
    raise ExpressionError(f"unexpected {char!r} at position {index + 1}")


def _name_continues(text: str, index: int) -> bool:
    return index < len(text) and (text[index].isalnum() or text[index] == "_")


def _variable(text: str, index: int) -> tuple[Token, int]:
    braced = text.startswith("${", index)
    start = index + (2 if braced else 1)
    found = NAME.match(text, start)
    if found is None:
        raise ExpressionError(f"a variable name must follow '$' at {index + 1}")
    end = found.end()
    if braced:
        if not text.startswith("}", end):
            raise ExpressionError(f"'${{' at position {index + 1} is not closed")
        end += 1
    return Token("var", found.group(), index), end


def _quoted(text: str, index: int, quote: str) -> tuple[Token, int]:
    chars: list[str] = []
    cursor = index + 1
    while cursor < len(text):
        char = text[cursor]
        if char == "\\" and cursor + 1 < len(text):
            chars.append(text[cursor + 1])
            cursor += 2
            continue
        if char == quote:
            return Token("str", "".join(chars), index), cursor + 1
        chars.append(char)
        cursor += 1
    raise ExpressionError(f"string at position {index + 1} is not closed")


def _regex(text: str, index: int) -> tuple[Token, int]:
    cursor = index + 1
    while cursor < len(text):
        if text[cursor] == "\\":
            cursor += 2
            continue
        if text[cursor] == "/":
            end = cursor + 1
            while end < len(text) and text[end].isalpha():
                end += 1
            literal = text[index:end]
            parse_regex(literal)
            return Token("regex", literal, index), end
        cursor += 1
    raise ExpressionError(f"regex at position {index + 1} is not closed")


def parse_regex(literal: str) -> Regex:
    """Turn ``/pattern/flags`` into a Regex; raise ExpressionError if invalid."""
    found = REGEX_TEXT.match(literal)
    if found is None:
        raise ExpressionError(f"{literal!r} is not a /pattern/ literal")
    pattern, flags = found.group(1).replace("\\/", "/"), found.group(2)
    unknown = sorted(set(flags) - set(FLAGS))
    if unknown:
        raise ExpressionError(f"unknown regex flag {unknown[0]!r} in {literal}")
    try:
        re.compile(pattern)
    except re.error as error:
        raise ExpressionError(f"invalid regex {literal}: {error}") from error
    return Regex(pattern, flags)


class _Parser:
    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens, self.text, self.index = tokens, text, 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"{self.text!r} ends too early")
        self.index += 1
        return token

    def expression(self) -> Node:
        left = self.conjunction()
        while (token := self.peek()) is not None and token.kind == "||":
            self.take()
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Node:
        left = self.comparison()
        while (token := self.peek()) is not None and token.kind == "&&":
            self.take()
            left = _both(left, self.comparison())
        return left

    def comparison(self) -> Node:
        left = self.operand()
        token = self.peek()
        if token is None or token.kind not in ("==", "!=", "=~", "!~"):
            return _truth(left)
        self.take()
        return _compare(token.kind, left, self.operand())

    def operand(self) -> Node:
        token = self.take()
        if token.kind == "(":
            inner = self.expression()
            closing = self.take()
            if closing.kind != ")":
                raise ExpressionError(
                    f"expected ')' at position {closing.position + 1}"
                )
            return inner
        return _literal(token)


def _literal(token: Token) -> Node:
    if token.kind == "var":
        return lambda variables: variables.get(token.text)
    if token.kind == "str":
        return lambda variables: token.text
    if token.kind == "regex":
        regex = parse_regex(token.text)
        return lambda variables: regex
    if token.kind == "null":
        return lambda variables: None
    raise ExpressionError(f"unexpected {token.text!r} at position {token.position + 1}")


def _truth(node: Node) -> Node:
    def evaluate(variables: Variables) -> bool:
        value = node(variables)
        if isinstance(value, bool | Regex):
            return bool(value)
        return value not in (None, "")

    return evaluate


def _either(left: Node, right: Node) -> Node:
    return lambda variables: bool(left(variables)) or bool(right(variables))


def _both(left: Node, right: Node) -> Node:
    return lambda variables: bool(left(variables)) and bool(right(variables))


def _as_regex(value: Value | bool) -> Regex | None:
    """The right side of ``=~``: a literal, or a variable holding ``/.../``."""
    if isinstance(value, Regex):
        return value
    if isinstance(value, str) and REGEX_TEXT.match(value):
        try:
            return parse_regex(value)
        except ExpressionError:
            return None
    return None


def _compare(operator: str, left: Node, right: Node) -> Node:
    def evaluate(variables: Variables) -> bool:
        a, b = left(variables), right(variables)
        if operator in ("==", "!="):
            return (a == b) == (operator == "==")
        regex = _as_regex(b)
        matched = isinstance(a, str) and regex is not None and regex.search(a)
        return bool(matched) == (operator == "=~")

    return evaluate


@dataclass(frozen=True)
class Expression:
    """A parsed ``rules:if`` expression, ready to evaluate many times."""

    text: str
    node: Node

    def evaluate(self, variables: Variables) -> bool:
        """Whether the expression holds for ``variables`` (name -> value)."""
        return bool(self.node(variables))


def parse(text: str) -> Expression:
    """Parse ``text``; raise ExpressionError naming the problem and position."""
    tokens = tokenize(text)
    if not tokens:
        raise ExpressionError("the expression is empty")
    parser = _Parser(tokens, text)
    node = parser.expression()
    extra = parser.peek()
    if extra is not None:
        raise ExpressionError(
            f"unexpected {extra.text!r} at position {extra.position + 1}"
        )
    return Expression(text, _truth(node))


def evaluate(text: str, variables: Variables) -> bool:
    """Parse and evaluate ``text`` once."""
    return parse(text).evaluate(variables)
