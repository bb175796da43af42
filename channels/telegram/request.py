"""python-telegram-bot's network layer over aiohttp (docs/channels.md, "Telegram's HTTP client").

``telegram.Bot`` makes every Bot API call through a ``telegram.request.BaseRequest``;
:class:`AiohttpRequest` is one that sends over a
:class:`channels.http.ChannelSession`, so the Telegram channel uses the same
HTTP client as every other channel and PTB keeps its typed methods and its
mapping of Bot API answers to ``telegram.error`` exceptions (which
:func:`channels.telegram.errors.classify` turns into ours).

What it does with a request:

* parameters go as an ``application/x-www-form-urlencoded`` body, or as
  ``multipart/form-data`` with the files when the call uploads any
  (``RequestData.contains_files``), as PTB's own ``HTTPXRequest`` sends them;
* redirects are not followed (the bot token is in the URL's path);
* PTB's four timeouts (seconds; ``None`` is no limit) become one
  :class:`aiohttp.ClientTimeout`: ``sock_connect`` is the connect timeout,
  ``connect`` (waiting for a free connection of the pool, then connecting)
  the pool and connect timeouts together, ``sock_read`` the read timeout
  (a ``getUpdates`` long poll passes its wait plus a margin), and ``total``
  all four added up, which also bounds a slow upload (aiohttp has no write
  timeout of its own); an upload writes with ``media_write_timeout``;
* an aiohttp timeout raises ``telegram.error.TimedOut``, any other aiohttp
  client error ``telegram.error.NetworkError`` (both end as our
  ``TemporaryError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from channels.http import ChannelSession

__all__ = ["AiohttpRequest", "client_timeout"]


def _pick(value: object, default: float | None) -> float | None:
    """A timeout passed to a call (seconds, ``None`` = no limit), or ``default``
    when the call passed none (``BaseRequest.DEFAULT_NONE``)."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


def client_timeout(
    *,
    connect: float | None,
    read: float | None,
    write: float | None,
    pool: float | None,
) -> aiohttp.ClientTimeout:
    """PTB's connect/read/write/pool timeouts (seconds, ``None`` = no limit) as
    one aiohttp timeout (see the module's docstring for the mapping)."""
    parts = (connect, read, write, pool)
    total = None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
    waiting = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=total, connect=waiting, sock_connect=connect, sock_read=read)


@dataclass(frozen=True, slots=True)
class _Timeouts:
    """A request's default timeouts, seconds (``None`` = no limit)."""

    connect: float | None
    read: float | None
    write: float | None
    pool: float | None
    media_write: float | None


class AiohttpRequest(BaseRequest):
    """A ``telegram.request.BaseRequest`` sending over ``http``, a channel's aiohttp session.

    Args:
        http: the session holder; :meth:`shutdown` closes it, and the next
            request opens it again (so two requests of one ``Bot``, for
            ``getUpdates`` and the rest, may share one).
        connect_timeout, read_timeout, write_timeout, pool_timeout: defaults
            in seconds for calls that pass none (``None`` is no limit).
        media_write_timeout: the write timeout of a call that uploads files.
    """

    __slots__ = ("_defaults", "_http")

    def __init__(
        self,
        http: ChannelSession,
        *,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._http = http
        self._defaults = _Timeouts(
            connect_timeout, read_timeout, write_timeout, pool_timeout, media_write_timeout
        )

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout, seconds (``BaseRequest.read_timeout``)."""
        return self._defaults.read

    async def initialize(self) -> None:
        """Nothing to do: the session opens on the first request, in the running loop."""

    async def shutdown(self) -> None:
        """Close the session (harmless when already closed)."""
        await self._http.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP request; returns ``(status, body)`` for PTB to interpret.

        Raises:
            telegram.error.TimedOut: a timeout passed.
            telegram.error.NetworkError: any other aiohttp client error.
        """
        files = request_data is not None and request_data.contains_files
        defaults = self._defaults
        timeout = client_timeout(
            connect=_pick(connect_timeout, defaults.connect),
            read=_pick(read_timeout, defaults.read),
            write=_pick(write_timeout, defaults.media_write if files else defaults.write),
            pool=_pick(pool_timeout, defaults.pool),
        )
        data: Any = None
        if request_data is not None:
            data = _multipart(request_data) if files else request_data.json_parameters
        try:
            async with self._http.get().request(
                method,
                url,
                data=data,
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                allow_redirects=False,
            ) as resp:
                return resp.status, await resp.read()
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """The parameters and files of an upload as ``multipart/form-data`` parts.

    Each file part is PTB's ``(filename, content, mimetype)``; its part name
    is the parameter's (or the ``attach://`` name a media group refers to).
    """
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, part in request_data.multipart_data.items():
        filename, content, mimetype = part[0], part[1], part[2] if len(part) > 2 else None
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
