"""The GraphQL subset of ar.io gateways the verifier uses, for the local gateway.

Root fields: ``transaction(id:)`` and ``transactions(ids:, tags: [{name, values}], first:,
after:)`` (edges { cursor node }, pageInfo { hasNextPage }). Node fields as ar-io-node
names them: id, signature, signatureType, owner { key address }, recipient, anchor,
tags { name value }, data { size type }, bundledIn { id }, block. Queries may use
variables and aliases; fragments, directives and mutations are refused. Parsing is bounded
(query size, nesting, field count) and never raises anything but `GraphQLError`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

MAX_QUERY_CHARS = 16 * 1024
MAX_DEPTH = 12
MAX_FIELDS = 400
MAX_PAGE = 100

_TOKEN = re.compile(r'''
    (?P<ws>[\s,]+|\#[^\n]*)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<num>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<punct>\.\.\.|[{}()\[\]:!$=@])
''', re.VERBOSE)


class GraphQLError(Exception):
    """A query this gateway cannot answer; its text goes into ``errors[0].message``."""


def _tokens(text: str) -> list[tuple[str, str]]:
    if len(text) > MAX_QUERY_CHARS:
        raise GraphQLError(f"query longer than {MAX_QUERY_CHARS} characters")
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise GraphQLError(f"unexpected character at offset {pos}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group()))
    return out


class _Parser:
    def __init__(self, text: str, variables: dict[str, Any]) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.vars = variables
        self.fields = 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise GraphQLError("unexpected end of query")
        tok = self.toks[self.i]
        if want is not None and tok[1] != want:
            raise GraphQLError(f"expected {want!r}, found {tok[1][:20]!r}")
        self.i += 1
        return tok

    def name(self) -> str:
        kind, value = self.take()
        if kind != "name":
            raise GraphQLError(f"expected a name, found {value[:20]!r}")
        return value

    def document(self) -> list[tuple[str, str, dict[str, Any], list]]:
        if self.peek() in ("mutation", "subscription", "fragment"):
            raise GraphQLError("only queries are supported")
        if self.peek() == "query":
            self.take()
            if self.peek() not in ("{", "("):
                self.name()
            if self.peek() == "(":
                self.var_defs()
        sel = self.selection_set(0)
        if self.i != len(self.toks):
            raise GraphQLError("only one operation is supported")
        return sel

    def var_defs(self) -> None:
        self.take("(")
        while self.peek() != ")":
            self.take("$")
            name = self.name()
            self.take(":")
            self.type_ref()
            if self.peek() == "=":
                self.take()
                default = self.value()
                self.vars.setdefault(name, default)
        self.take(")")

    def type_ref(self) -> None:
        if self.peek() == "[":
            self.take()
            self.type_ref()
            self.take("]")
        else:
            self.name()
        if self.peek() == "!":
            self.take()

    def selection_set(self, depth: int) -> list[tuple[str, str, dict[str, Any], list]]:
        if depth >= MAX_DEPTH:
            raise GraphQLError(f"query nested deeper than {MAX_DEPTH}")
        self.take("{")
        out = []
        while self.peek() != "}":
            if self.peek() in ("...", "@"):
                raise GraphQLError("fragments and directives are not supported")
            self.fields += 1
            if self.fields > MAX_FIELDS:
                raise GraphQLError(f"more than {MAX_FIELDS} fields")
            alias = name = self.name()
            if self.peek() == ":":
                self.take()
                name = self.name()
            args: dict[str, Any] = {}
            if self.peek() == "(":
                self.take()
                while self.peek() != ")":
                    key = self.name()
                    self.take(":")
                    args[key] = self.value()
                self.take(")")
            sub = self.selection_set(depth + 1) if self.peek() == "{" else []
            out.append((alias, name, args, sub))
        self.take("}")
        return out

    def value(self, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise GraphQLError("argument nested too deeply")
        kind, tok = self.take()
        if tok == "$":
            name = self.name()
            if name not in self.vars:
                raise GraphQLError(f"variable ${name} is not provided")
            return self.vars[name]
        if kind == "str":
            return json.loads(tok)
        if kind == "num":
            if "." in tok or len(tok) > 18:
                raise GraphQLError("only small integers are supported")
            return int(tok)
        if tok == "[":
            items = []
            while self.peek() != "]":
                items.append(self.value(depth + 1))
            self.take("]")
            return items
        if tok == "{":
            obj = {}
            while self.peek() != "}":
                key = self.name()
                self.take(":")
                obj[key] = self.value(depth + 1)
            self.take("}")
            return obj
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(tok, tok)
        raise GraphQLError(f"unexpected {tok[:20]!r}")


def _select(value: Any, sel: list, path: str) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [_select(v, sel, path) for v in value]
    if not isinstance(value, dict):
        if sel:
            raise GraphQLError(f"field {path} has no subfields")
        return value
    if not sel:
        raise GraphQLError(f"field {path} needs a selection of subfields")
    out = {}
    for alias, name, _args, sub in sel:
        if name == "__typename":
            out[alias] = value.get("__typename", "Object")
            continue
        if name not in value:
            raise GraphQLError(f"Cannot query field {name!r} on {path}")
        out[alias] = _select(value[name], sub, name)
    return out


def execute(body: bytes, node: Callable[[str], dict[str, Any] | None],
            search: Callable[[list[tuple[bytes, list[bytes]]], list[str] | None, int, int],
                             list[tuple[int, str]]]) -> dict[str, Any]:
    """Run a POSTed GraphQL request. `node(id)` gives a transaction node or None;
    `search(tag filters, ids, limit, after)` gives (cursor position, id) pairs.
    Raises `GraphQLError` for anything outside the subset."""
    try:
        req = json.loads(body)
    except (ValueError, RecursionError):
        raise GraphQLError("the request body is not JSON") from None
    if not isinstance(req, dict) or not isinstance(req.get("query"), str):
        raise GraphQLError("the request needs a query string")
    variables = req.get("variables") or {}
    if not isinstance(variables, dict):
        raise GraphQLError("variables must be an object")
    parser = _Parser(req["query"], dict(variables))
    data: dict[str, Any] = {}
    for alias, name, args, sub in parser.document():
        if name == "transaction":
            tx = args.get("id")
            if not isinstance(tx, str):
                raise GraphQLError("transaction(id:) needs an id string")
            data[alias] = _select(node(tx), sub, name)
        elif name == "transactions":
            data[alias] = _select(_transactions(args, node, search), sub, name)
        else:
            raise GraphQLError(f"Cannot query field {name!r} on Query")
    return {"data": data}


def _transactions(args: dict[str, Any], node: Callable[[str], dict[str, Any] | None],
                  search: Callable[..., list[tuple[int, str]]]) -> dict[str, Any]:
    first = args.get("first", 10)
    if not isinstance(first, int) or isinstance(first, bool) or not 0 <= first <= MAX_PAGE:
        raise GraphQLError(f"first must be 0..{MAX_PAGE}")
    after = args.get("after")
    try:
        position = int(after) if after not in (None, "") else 0
    except (TypeError, ValueError):
        raise GraphQLError("after is not a cursor of this gateway") from None
    filters = []
    for f in args.get("tags") or []:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            raise GraphQLError("a tag filter is {name, values}")
        values = f.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise GraphQLError("tag filter values must be a non-empty list of strings")
        filters.append((f["name"].encode("utf-8", "surrogatepass"),
                        [v.encode("utf-8", "surrogatepass") for v in values]))
    ids = args.get("ids")
    if ids is not None and (not isinstance(ids, list) or len(ids) > MAX_PAGE
                            or not all(isinstance(i, str) for i in ids)):
        raise GraphQLError(f"ids must be a list of at most {MAX_PAGE} strings")
    rows = search(filters, ids, first + 1, position)
    edges = [{"cursor": str(pos), "node": node(tx)} for pos, tx in rows[:first]]
    return {"pageInfo": {"hasNextPage": len(rows) > first}, "edges": edges}
