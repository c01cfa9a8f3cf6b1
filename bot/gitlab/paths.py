"""URL paths of GitLab resources, each identifier encoded as one segment."""

from __future__ import annotations

from urllib.parse import quote

MR = "/projects/:id/merge_requests/:iid"


def encode(segment: str | int) -> str:
    """Encode an id, path or branch as ONE URL path segment (``/`` and ``.``).

    GitLab's docs encode dots too (``lib%2Fclass%2Erb``), which keeps a path
    ending in ``.yaml`` from being read as a format suffix.
    """
    return quote(str(segment), safe="").replace(".", "%2E")


def mr_path(iid: int) -> str:
    """The path of one merge request under the project."""
    return f"/merge_requests/{iid}"
