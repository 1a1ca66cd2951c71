"""The one way every channel hands a citizen's message to Rasa.

Rate limit → admission (is the server too busy to answer in time?) → clean → Rasa → a
technical-error notice when Rasa fails → a no-answer notice when it said nothing. Each step's
notice is a text of data/texts/channels.yml, sent through the channel's own `tell`. The
outcome lets a channel answer in its protocol (REST: 429, 503 with Retry-After).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.channels.admission import Admission
from bot.channels.ratelimit import Verdict, limiter
from bot.config import load_settings
from bot.datafiles import read_yaml
from bot.sanitise import clean_message

logger = logging.getLogger(__name__)


class Outcome(Enum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"          # Rasa said nothing: the citizen got the no-answer notice
    FAILED = "failed"                # Rasa failed: the citizen got the technical-error notice
    BUSY = "busy"                    # refused by admission control: told to try again in a minute
    RATE_LIMITED = "rate_limited"    # over the sender's limit, told once
    DROPPED = "dropped"              # over the limit again in the same window: nothing said


@lru_cache(maxsize=1)
def channel_texts() -> Dict[str, str]:
    return dict(read_yaml(load_settings().data_dir / "texts" / "channels.yml")["messages"])


@lru_cache(maxsize=1)
def admission() -> Admission:
    """The process's admission control, built on first use."""
    return Admission(load_settings().admission_max_wait_s)


@dataclass
class Incoming:
    """A citizen's message as a channel received it, with the channel's ways to answer."""

    channel: str
    sender: str
    text: str
    output: OutputChannel
    tell: Callable[[str], Awaitable[None]]      # the channel's own way to say a notice
    answered: Callable[[], bool]                # whether the assistant said anything
    metadata: Optional[Dict[str, Any]] = None
    message_id: Optional[str] = None
    clean: bool = True                          # False for a button payload or a command
    input_channel: Optional[str] = None         # what Rasa records, when not `channel` (REST lets the client name it)
    arrived: float = field(default_factory=time.monotonic)


# A chat app's commands and "menu" typed on any channel open the main menu (Telegram's own
# command handling maps /start and /help before this).
MENU_WORDS = {"/start", "/help", "/menu", "menu"}
MENU_PAYLOAD = "/greet"


async def deliver(message: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Outcome:
    texts = channel_texts()
    verdict = limiter().check(message.channel, message.sender)
    if verdict is not Verdict.ALLOW:  # never reaches Rasa: nothing of it is stored
        if verdict is Verdict.TELL:
            await message.tell(texts["rate_limited"])
            return Outcome.RATE_LIMITED
        return Outcome.DROPPED
    control = admission()
    if not control.admit(time.monotonic() - message.arrived):
        logger.warning("%s: busy (%d in flight), a citizen told to try again", message.channel, control.in_flight)
        await message.tell(texts["busy"])
        return Outcome.BUSY
    text = clean_message(message.text, load_settings().max_message_chars) if message.clean else message.text
    text = MENU_PAYLOAD if text.strip().lower() in MENU_WORDS else text
    with control.ticket():
        try:
            await on_new_message(UserMessage(text, message.output, message.sender, input_channel=message.input_channel or message.channel,
                                             metadata=message.metadata, message_id=message.message_id))
        except Exception:
            logger.exception("%s: message from a citizen could not be handled", message.channel)
            await message.tell(texts["technical_error"])
            return Outcome.FAILED
    if not message.answered():  # a citizen is never left without an answer
        await message.tell(texts["no_answer"])
        return Outcome.NO_ANSWER
    return Outcome.ANSWERED
