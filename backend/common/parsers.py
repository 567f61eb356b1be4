"""The API's JSON parser: a body too large is 413, over-deep nesting or malformed JSON 400, never a 500."""

import re
from typing import Any

import numpy as np
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.request import Request
from rest_framework.utils import json

from backend.common.errors import InvalidInput, TooLarge

MAX_JSON_DEPTH = 64  # far above any body the API reads; Python's JSON and DRF recurse once per level
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # the only way a lone surrogate gets into a parsed string


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (brackets inside strings do not count), without recursing."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def _body(stream: Any, request: Request | None) -> bytes:
    """DRF ≥ 3.18 hands JSON parsers ``request.body``, which Django already limits; older ones the raw stream."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    declared = content_length(request)
    if limit is not None and declared > limit:
        raise body_too_large(declared)
    data = stream.read() if limit is None else stream.read(limit + 1)  # a lying Content-Length reads no further
    if limit is not None and len(data) > limit:
        raise body_too_large(len(data))
    return data


def content_length(request: Any) -> int:
    meta = getattr(request, "META", {})
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def body_too_large(size: int) -> TooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return TooLarge(
        f"The request body is {size:,} bytes, above the limit of {limit:,} (DATA_UPLOAD_MAX_MEMORY_SIZE).",
        code="body_too_large",
        details={"limit": limit},
    )


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, reading at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes and at most MAX_JSON_DEPTH levels."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        parser_context = parser_context or {}
        data = _body(stream, parser_context.get("request"))
        try:
            text = data.decode(get_encoding(parser_context))  # DRF's check: text encodings only
        except (ParseError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"The body is not valid JSON: {exc}.", code="bad_json") from exc
        depth = json_depth(text)
        if depth > MAX_JSON_DEPTH:
            raise InvalidInput(
                f"The body nests arrays and objects {depth} deep; at most {MAX_JSON_DEPTH}.",
                code="json_too_deep",
                details={"limit": MAX_JSON_DEPTH},
            )
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError as exc:  # json_depth reads malformed bodies leniently: never let the parser overflow
            raise InvalidInput(f"The body nests too deep; at most {MAX_JSON_DEPTH}.", code="json_too_deep") from exc
        except ValueError as exc:
            raise InvalidInput(f"The body is not valid JSON: {exc}.", code="bad_json") from exc
        if _SURROGATE_ESCAPE.search(text):
            _refuse_lone_surrogates(data)
        return data


def _refuse_lone_surrogates(data: Any) -> None:
    """PostgreSQL stores no lone surrogate (``"\\ud800"``), in text or in jsonb: refuse them here, not with a 500."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            "The body has a lone UTF-16 surrogate escape (\\ud800–\\udfff), which is no character.", code="bad_json"
        ) from exc
