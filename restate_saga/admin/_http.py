"""HTTP to Restate's admin API and ingress, with httpx imported only when used."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from ._errors import AdminRequestError, AdminUnreachableError, MissingExtraError

if TYPE_CHECKING:
    import httpx


def require(package: str) -> ModuleType:
    """Import a package of the `cli` extra, or raise `MissingExtraError` naming the extra."""
    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise MissingExtraError(package) from error


def _message(answer: httpx.Response) -> str:
    try:
        data = answer.json()
    except ValueError:
        return answer.text.strip()[:300] or answer.reason_phrase
    if isinstance(data, dict) and "message" in data:
        return str(cast(dict[str, Any], data)["message"])
    return answer.text.strip()[:300]


class AdminHttp:
    """A small client of the admin API: SQL queries, JSON reads and invocation commands."""

    def __init__(self, admin_url: str, timeout: float, client: httpx.Client | None = None) -> None:
        self._httpx = require("httpx")
        self.admin_url = admin_url.rstrip("/")
        self._client: httpx.Client = client if client is not None else self._httpx.Client(timeout=timeout)
        self._owned = client is None

    def close(self) -> None:
        """Close the connection pool (unless the client was given)."""
        if self._owned:
            self._client.close()

    def request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        accept: tuple[int, ...] = (200, 201, 202),
    ) -> httpx.Response:
        """One request; a transport failure becomes `AdminUnreachableError`, an unexpected status
        `AdminRequestError` (statuses in `accept` are returned)."""
        headers = {"accept": "application/json"}
        try:
            answer = self._client.request(method, url, json=json, params=params, headers=headers)
        except self._httpx.TransportError as error:
            base = url.split("/", 3)[:3]
            raise AdminUnreachableError(f"cannot reach Restate at {'/'.join(base)} ({what}): {error}") from error
        if answer.status_code not in accept:
            raise AdminRequestError(what, answer.status_code, _message(answer))
        return answer

    def sql(self, query: str) -> list[dict[str, Any]]:
        """The rows of one admin SQL query."""
        answer = self.request("POST", f"{self.admin_url}/query", "SQL query", json={"query": query}, accept=(200,))
        return cast(list[dict[str, Any]], answer.json().get("rows", []))

    def get(self, path: str, what: str) -> Any:
        """The JSON answer to `GET <admin><path>`."""
        return self.request("GET", f"{self.admin_url}{path}", what, accept=(200,)).json()

    def patch(self, path: str, what: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        """`PATCH <admin><path>`, returning any answer (the caller reads the status)."""
        return self.request("PATCH", f"{self.admin_url}{path}", what, params=params, accept=tuple(range(200, 600)))


def error_message(answer: httpx.Response) -> str:
    """The message of an error answer."""
    return _message(answer)
