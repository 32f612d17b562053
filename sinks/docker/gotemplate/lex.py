"""The lexer of Go's text/template (text/template/parse/lex.go): template text -> tokens."""

from __future__ import annotations

from dataclasses import dataclass

from .values import error

LEFT, RIGHT = "{{", "}}"
SPACE_CHARS = " \t\r\n"
KEYWORDS = frozenset({"block", "break", "continue", "define", "else", "end", "if", "range",
                      "nil", "template", "with"})

# token kinds
TEXT, LDELIM, RDELIM, SPACE, IDENT, KEYWORD, BOOL, DOT, FIELD, VAR, STRING, RAW, CHARCONST, \
    NUMBER, COMPLEX, PIPE, LPAREN, RPAREN, DECLARE, ASSIGN, CHAR, EOF = range(22)


@dataclass(frozen=True, slots=True)
class Token:
    kind: int
    text: str
    pos: int


def is_alnum(c: str) -> bool:
    """Go's isAlphaNumeric: '_', a Unicode letter or a decimal digit."""
    return c == "_" or c.isalpha() or c.isdecimal()


def _has_left_trim(text: str, pos: int) -> bool:
    return text[pos:pos + 1] == "-" and text[pos + 1:pos + 2] in tuple(SPACE_CHARS)


def _at_right_delim(text: str, pos: int) -> tuple[bool, bool]:
    """(at a right delimiter, with a trim marker " -" before it)."""
    if (text[pos:pos + 1] in tuple(SPACE_CHARS) and text[pos + 1:pos + 2] == "-"
            and text.startswith(RIGHT, pos + 2)):
        return True, True
    return text.startswith(RIGHT, pos), False


def lex(text: str) -> list[Token]:
    """All tokens of ``text``; a lexical error raises, naming ``tag``."""
    return _Lexer(text).run()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []

    def emit(self, kind: int, start: int, end: int) -> None:
        self.tokens.append(Token(kind, self.text[start:end], start))

    def run(self) -> list[Token]:
        text = self.text
        trim_next = False
        while True:
            start = self.pos
            if trim_next:
                while start < len(text) and text[start] in SPACE_CHARS:
                    start += 1
                self.pos = start
                trim_next = False
            at = text.find(LEFT, self.pos)
            if at < 0:
                if start < len(text):
                    self.emit(TEXT, start, len(text))
                self.tokens.append(Token(EOF, "", len(text)))
                return self.tokens
            end = at
            after = at + len(LEFT)
            trim = _has_left_trim(text, after)
            if trim:
                while end > start and text[end - 1] in SPACE_CHARS:
                    end -= 1
                after += 2
            if end > start:
                self.emit(TEXT, start, end)
            self.pos = after
            if text.startswith("/*", after):
                trim_next = self._comment(at)
                continue
            self.tokens.append(Token(LDELIM, LEFT, at))
            trim_next = self._inside_action()

    def _comment(self, at: int) -> bool:
        close = self.text.find("*/", self.pos + 2)
        if close < 0:
            raise error(f"template: {self._where(at)}: unclosed comment")
        self.pos = close + 2
        delim, trim = _at_right_delim(self.text, self.pos)
        if not delim:
            raise error(f"template: {self._where(at)}: comment ends before closing delimiter")
        self.pos += len(RIGHT) + (2 if trim else 0)
        return trim

    def _where(self, pos: int) -> str:
        return f"log-tag:{self.text.count(chr(10), 0, pos) + 1}"

    def _fail(self, problem: str) -> None:
        raise error(f"template: {self._where(self.pos)}: {problem}")

    def _inside_action(self) -> bool:
        """Tokens up to and including the right delimiter; returns whether it trims."""
        text = self.text
        depth = 0
        while True:
            delim, trim = _at_right_delim(text, self.pos)
            if delim:
                if depth:
                    self._fail("unclosed left paren")
                start = self.pos
                self.pos += len(RIGHT) + (2 if trim else 0)
                self.tokens.append(Token(RDELIM, RIGHT, start))
                return trim
            if self.pos >= len(text):
                self._fail("unclosed action")
            start = self.pos
            c = text[self.pos]
            self.pos += 1
            if c in SPACE_CHARS:
                while self.pos < len(text) and text[self.pos] in SPACE_CHARS:
                    self.pos += 1
                # a trim-marked right delimiter starts with the last space
                delim, trim = _at_right_delim(text, self.pos - 1)
                if delim and trim:
                    self.pos -= 1
                    if self.pos == start:
                        continue
                self.emit(SPACE, start, self.pos)
            elif c == "=":
                self.emit(ASSIGN, start, self.pos)
            elif c == ":":
                if text[self.pos:self.pos + 1] != "=":
                    self._fail("expected :=")
                self.pos += 1
                self.emit(DECLARE, start, self.pos)
            elif c == "|":
                self.emit(PIPE, start, self.pos)
            elif c == '"':
                self._quoted(start, '"', STRING, "quoted string")
            elif c == "`":
                close = text.find("`", self.pos)
                if close < 0:
                    self._fail("unterminated raw quoted string")
                self.pos = close + 1
                self.emit(RAW, start, self.pos)
            elif c == "$":
                self._field_or_var(start, VAR)
            elif c == "'":
                self._quoted(start, "'", CHARCONST, "character constant")
            elif c == "." and not "0" <= text[self.pos:self.pos + 1] <= "9":
                self._field_or_var(start, FIELD)
            elif c in "+-." or "0" <= c <= "9":
                self.pos = start
                self._number()
            elif is_alnum(c):
                self._identifier(start)
            elif c == "(":
                depth += 1
                self.emit(LPAREN, start, self.pos)
            elif c == ")":
                depth -= 1
                if depth < 0:
                    self._fail("unexpected right paren")
                self.emit(RPAREN, start, self.pos)
            elif c <= "\x7f" and c.isprintable():
                self.emit(CHAR, start, self.pos)
            else:
                self._fail(f"unrecognized character in action: U+{ord(c):04X}")

    def _at_terminator(self) -> bool:
        text, pos = self.text, self.pos
        if pos >= len(text):
            return True
        c = text[pos]
        return c in SPACE_CHARS or c in ".,|:()" or text.startswith(RIGHT, pos)

    def _scan_alnum(self) -> None:
        while self.pos < len(self.text) and is_alnum(self.text[self.pos]):
            self.pos += 1

    def _field_or_var(self, start: int, kind: int) -> None:
        if self._at_terminator():
            self.emit(VAR if kind == VAR else DOT, start, self.pos)
            return
        self._scan_alnum()
        if not self._at_terminator():
            self._fail(f"bad character U+{ord(self.text[self.pos]):04X}")
        self.emit(kind, start, self.pos)

    def _identifier(self, start: int) -> None:
        self._scan_alnum()
        if not self._at_terminator():
            self._fail(f"bad character U+{ord(self.text[self.pos]):04X}")
        word = self.text[start:self.pos]
        if word in KEYWORDS:
            self.emit(KEYWORD, start, self.pos)
        elif word in ("true", "false"):
            self.emit(BOOL, start, self.pos)
        else:
            self.emit(IDENT, start, self.pos)

    def _quoted(self, start: int, quote: str, kind: int, what: str) -> None:
        """Past the closing ``quote`` of a string or character constant (Go's lexQuote and
        lexChar): escapes skip one character; a newline or the end first is an error."""
        text = self.text
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                self._fail(f"unterminated {what}")
            c = text[self.pos]
            self.pos += 1
            if c == "\\":
                if self.pos >= len(text) or text[self.pos] == "\n":
                    self._fail(f"unterminated {what}")
                self.pos += 1
            elif c == quote:
                break
        self.emit(kind, start, self.pos)

    def _scan_number(self) -> bool:
        text = self.text

        def accept(chars: str) -> bool:
            if self.pos < len(text) and text[self.pos] in chars:
                self.pos += 1
                return True
            return False

        def accept_run(chars: str) -> None:
            while self.pos < len(text) and text[self.pos] in chars:
                self.pos += 1

        accept("+-")
        digits = "0123456789_"
        if accept("0"):
            if accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif accept("oO"):
                digits = "01234567_"
            elif accept("bB"):
                digits = "01_"
        accept_run(digits)
        if accept("."):
            accept_run(digits)
        if len(digits) == 11 and accept("eE"):
            accept("+-")
            accept_run("0123456789_")
        if len(digits) == 23 and accept("pP"):
            accept("+-")
            accept_run("0123456789_")
        accept("i")
        if self.pos < len(text) and is_alnum(text[self.pos]):
            self.pos += 1
            return False
        return True

    def _number(self) -> None:
        start = self.pos
        if not self._scan_number():
            self._fail(f"bad number syntax: {self.text[start:self.pos]!r}")
        if self.text[self.pos:self.pos + 1] in ("+", "-"):  # complex: 1+2i
            if not self._scan_number() or self.text[self.pos - 1] != "i":
                self._fail(f"bad number syntax: {self.text[start:self.pos]!r}")
            self.emit(COMPLEX, start, self.pos)
            return
        self.emit(NUMBER, start, self.pos)
