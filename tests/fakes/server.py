"""The HTTP server under the fake chat APIs: threads, and a listen backlog like a real API's.

Python's `socketserver` listens with a backlog of 5: a burst of 40 citizens answered at once
overflows it, and the kernel drops connections the client already considers open (the bot
sees `httpx.ReadError`). Telegram and Zalo never do that, so a fake must not either.
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
