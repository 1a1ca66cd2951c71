"""`python -m bot.notifier`: serve the webhook and register it with the one-stop system."""

from __future__ import annotations

import argparse
import logging
import threading

from bot.config import load_settings
from bot.notifier.app import create_app
from bot.onestop.client import OneStopClient, OneStopUnavailable

logger = logging.getLogger("bot.notifier")


def register_until_done(settings, url: str, stop: threading.Event) -> None:
    """The one-stop system may start after us: keep trying, quietly, until it answers."""
    client = OneStopClient(settings.onestop_url, settings.onestop_token)
    while not stop.is_set():
        try:
            client.register_webhook(url, settings.webhook_secret)
            logger.info("webhook registered with the one-stop system")
            return
        except OneStopUnavailable as error:
            logger.info("one-stop system not ready for webhook registration (%s); retrying", error.kind)
            stop.wait(2.0)


def main() -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=settings.notifier_port)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s notifier %(levelname)s %(message)s")
    rasa_url = f"http://127.0.0.1:{settings.rasa_port}"
    url = settings.notifier_public_url or f"http://127.0.0.1:{args.port}/onestop/webhook"
    stop = threading.Event()
    threading.Thread(target=register_until_done, args=(settings, url, stop), daemon=True).start()
    app = create_app(settings, rasa_url)
    try:
        app.run(host=settings.bind_host, port=args.port, workers=1, access_log=False)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
