"""One way to answer from the response cache: the entry's ETag, ``Cache-Control: no-cache`` (a browser or proxy
may keep the body but asks again each time), and 304 Not Modified when the request's ``If-None-Match`` names it.

``If-None-Match`` is read as RFC 9110 (section 13.1.2) defines it: ``*``, or a comma-separated list of entity
tags compared weakly (``W/"x"`` matches ``"x"``); a tag's quoted part may itself hold commas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from fastapi import Request, Response

from greenhack.web.context import ResponseCache

__all__ = ["cached_response", "if_none_match_matches"]

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text (RFC 9110, section 8.8.3); in a
# list, empty elements (", ,") are allowed and skipped (section 5.6.1)
_ENTITY_TAG = re.compile(r'(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")')
_SEPARATOR = re.compile(r"[ \t]*(?:,[ \t]*)*")


def if_none_match_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison); a malformed value names nothing."""
    if header is None:
        return False
    if header.strip(" \t") == "*":
        return True
    own = _ENTITY_TAG.fullmatch(etag)
    tags: list[str] = []
    position = _SEPARATOR.match(header).end()  # type: ignore[union-attr]  (it matches the empty string)
    while position < len(header):
        tag = _ENTITY_TAG.match(header, position)
        if tag is None:
            return False
        tags.append(tag.group(1))
        after = _SEPARATOR.match(header, tag.end()).end()  # type: ignore[union-attr]
        if after < len(header) and "," not in header[tag.end() : after]:
            return False  # two tags without a comma between them
        position = after
    return own is not None and own.group(1) in tags


def cached_response(
    request: Request,
    cache: ResponseCache,
    *,
    key: str,
    render: Callable[[int], bytes],
    media_type: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The body cached under ``key`` (``render(data_version)`` when it is missing or stale), or 304.

    ``key`` names everything the body depends on besides the data version; ``headers`` go with a 200 only (a
    304 carries the validators and the caching rule, RFC 9110 section 15.4.5).
    """
    entry = cache.get(key, render)
    validators = {"ETag": entry.etag, "Cache-Control": "no-cache"}
    if if_none_match_matches(request.headers.get("if-none-match"), entry.etag):
        return Response(status_code=304, headers=validators)
    return Response(content=entry.body, media_type=media_type, headers={**(headers or {}), **validators})
