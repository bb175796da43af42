"""An SMTP sink for the email benchmark, run as its own process.

Accepts every message (aiosmtpd, no TLS, no AUTH) and appends one JSON line
per message to ``--out``: the time it arrived (``time.time()``), the envelope
recipient, and the ``Message-ID`` and ``In-Reply-To`` headers. Running in its
own process keeps it from competing with the sender for one interpreter lock,
so the bare loop and aduan meet the same server.

    python -m tests.bench.smtp_sink --port 2525 --out var/bench/sink.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import time
from typing import IO, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

_HEADER = re.compile(rb"^(Message-ID|In-Reply-To):\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Recorder:
    """aiosmtpd handler writing one line per accepted message."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    async def handle_DATA(  # aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        head = content.split(b"\r\n\r\n", 1)[0]
        headers = {m.group(1).decode().lower(): m.group(2).decode() for m in _HEADER.finditer(head)}
        record: dict[str, Any] = {
            "t": time.time(),
            "to": list(envelope.rcpt_tos),
            "message_id": headers.get("message-id"),
            "in_reply_to": headers.get("in-reply-to"),
        }
        self._out.write(json.dumps(record) + "\n")
        self._out.flush()
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, out_path: str) -> None:
    """Serve until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with open(out_path, "a", encoding="utf-8") as out:
        recorder = Recorder(out)
        server = await loop.create_server(
            lambda: SMTP(recorder, hostname="sink.test", data_size_limit=None),
            host=host,
            port=port,
        )
        print("ready", flush=True)
        await stop.wait()
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.out))


if __name__ == "__main__":
    main()
