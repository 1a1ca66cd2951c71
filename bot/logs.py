"""Secrets and citizens' personal data out of everything the assistant's processes write.

`python -m bot.run` starts every Python service as `python -m bot.logs <its command>` (`wrap`),
which installs the masking (`install`) and then runs the command in the same process. From
then on every log record, whichever logger and handler it goes to, and every line written to
stdout or stderr (prints, warnings, tracebacks) passes `mask` first:

* the values of the secret settings (`SECRET_SETTINGS` and the passwords in `URL_SETTINGS`),
  a password in any URL, `Bearer` credentials and `token=`, `secret=`, `verification=`, ...
  values (a failed one-stop call names its URL, and the URL holds the verification value);
* what `bot.privacy.mask_text` recognises by its shape: phone and ID numbers, e-mail
  addresses, a name the citizen introduces, "4 số cuối là 1234";
* in Rasa's structured records (JSON; forced with FORCE_JSON_LOGGING, as on a terminal Rasa
  would print coloured key=value pairs) the fields Rasa lists for anonymisation, masked whole:
  they hold the citizen's words, slots and events, and a verification value or a name typed as
  an answer has no shape to recognise. Rasa logs them at DEBUG (LOG_LEVEL=DEBUG); the default
  level, INFO, has none of them.

Secrets shorter than `MIN_SECRET_CHARS` are left alone: masking every "abc" would garble the
logs and protect nothing.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import runpy
import shutil
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional
from urllib.parse import quote, unquote, urlsplit

from bot.privacy import MASK, mask_text

SECRET_SETTINGS = (
    "RASA_TOKEN", "ONESTOP_TOKEN", "ONESTOP_WEBHOOK_SECRET", "TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN",
    "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_ACCESS_TOKEN", "ZALO_REFRESH_TOKEN",
    # bot/production.py gives the Rasa server its stores' passwords in these.
    "ASSISTANT_TRACKER_DB_PASSWORD", "ASSISTANT_REDIS_PASSWORD", "ASSISTANT_RABBITMQ_PASSWORD",
)
URL_SETTINGS = ("TRACKER_DB_URL", "APP_DB_URL", "REDIS_URL", "RABBITMQ_URL", "ONESTOP_SANDBOX_DB_URL")
MIN_SECRET_CHARS = 6
# The fields of Rasa 3.6's structured log records that `rasa.utils.log_utils._anonymizer` lists as
# holding conversation data.
RASA_CONVERSATION_FIELDS = frozenset((
    "text", "response_text", "user_text", "slot_values", "parse_data_text", "parse_data_entities",
    "prediction_events", "tracker_latest_message", "prefilled_slots", "message", "response",
    "slot_candidates", "rasa_event", "rasa_events", "tracker_states", "current_states", "old_states",
    "successes", "current_entity", "next_entity", "states", "entity", "token_text", "user_message",
    "json_message",
))

_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@'\"]*):[^\s@/'\"]+@")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s'\",;]+")
# `name=value`, `name: value`, `"name": "value"`, `'name': 'value'` for names that hold secrets or
# a verification value; the value ends at a space, a quote or a separator.
_NAMES = (r"(?:access_|refresh_|secret_|csrf_)?token|secret(?:_key|_token)?|password|passwd|api_key"
          r"|verification(?:_value)?|applicant_(?:name|phone|id)")
_NAMED_VALUE = re.compile(rf"(?i)\b({_NAMES})(['\"]?\s*[=:]\s*['\"]?)([^\s'\"&,;)}}\]]+)")
_NAMED_KEY = re.compile(rf"(?i)(?:{_NAMES})")
_NAMED_HINTS = ("token", "secret", "passw", "api_key", "verification", "applicant")
# A slot in Rasa's event text: `SlotSet(key: verification_value, value: 0284)`.
_SLOT_VALUE = re.compile(r"(?i)(key:\s*(?:verification_value|applicant_\w+),\s*value:\s*)[^)]+")


class Masker:
    """`mask(text)`: the text without the secrets it was built with and without personal data."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_CHARS:
                variants |= {secret, quote(secret, safe=""), quote(secret)}
        # Longest first: a secret that contains another is masked whole.
        self._secrets = re.compile("|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))) \
            if variants else None

    @classmethod
    def from_environment(cls, environ: Optional[Mapping[str, str]] = None) -> "Masker":
        environ = os.environ if environ is None else environ
        secrets = [environ.get(name, "") for name in SECRET_SETTINGS]
        for name in URL_SETTINGS:
            try:
                password = urlsplit(environ.get(name, "")).password
            except ValueError:
                password = None
            if password:
                secrets += [password, unquote(password)]
        return cls(secrets)

    def mask(self, text: str) -> str:
        if not text:
            return text
        structured = self._structured(text)
        if structured is not None:
            return structured
        return self._plain(text)

    def _plain(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        # The substring tests only spare the slower patterns most lines (a debug run has many).
        lower = text.lower()
        if "@" in text:
            text = _URL_PASSWORD.sub(rf"\1:{MASK}@", text)
        if "bearer" in lower:
            text = _BEARER.sub(rf"\1{MASK}", text)
        if any(word in lower for word in _NAMED_HINTS):
            text = _NAMED_VALUE.sub(rf"\1\2{MASK}", text)
        if "key:" in lower:
            text = _SLOT_VALUE.sub(rf"\1{MASK}", text)
        return mask_text(text)

    def _structured(self, text: str) -> Optional[str]:
        """A structured (JSON) record of Rasa's, its conversation fields masked whole; else None."""
        stripped = text.strip()
        if not (stripped.startswith("{") and stripped.endswith("}") and '"event"' in stripped):
            return None
        try:
            record = json.loads(stripped)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None

        def clean(value: Any) -> Any:
            if isinstance(value, str):
                return self._plain(value)
            if isinstance(value, list):
                return [clean(item) for item in value]
            if isinstance(value, dict):
                return {key: MASK if _NAMED_KEY.fullmatch(str(key)) and item not in (None, "") else clean(item)
                        for key, item in value.items()}
            return value

        masked = clean({key: MASK if key in RASA_CONVERSATION_FIELDS and value not in (None, "", [], {}) else value
                        for key, value in record.items()})
        return json.dumps(masked)


class MaskingStream(io.TextIOBase):
    """A text stream that writes whole lines, masked, to another one (sys.stdout, sys.stderr)."""

    def __init__(self, stream: Any, mask: Callable[[str], str]) -> None:
        self._stream, self._mask = stream, mask
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                lines, _, self._pending = self._pending.rpartition("\n")
                self._stream.write("".join(self._mask(line) + "\n" for line in lines.split("\n")))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._stream.write(self._mask(self._pending))
                self._pending = ""
        if not self._stream.closed:  # at interpreter shutdown it may be closed first
            self._stream.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def errors(self) -> Optional[str]:  # type: ignore[override]
        return self._stream.errors

    @property
    def buffer(self) -> Any:
        return self._stream.buffer

    def __getattr__(self, name: str) -> Any:  # reconfigure(), line_buffering, ... of the real stream
        return getattr(self._stream, name)


_installed: Optional[Masker] = None


def install(environ: Optional[Dict[str, str]] = None) -> Masker:
    """Mask every log record and everything written to stdout and stderr from now on (once)."""
    global _installed
    if _installed is not None:
        return _installed
    masker = _installed = Masker.from_environment(environ)
    # Before Rasa is imported: its structured records as JSON, whose fields can be masked.
    os.environ.setdefault("FORCE_JSON_LOGGING", "true")
    previous = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is logging's to report
            return record
        record.msg, record.args = masker.mask(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = masker.mask(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = masker.mask(record.stack_info)
        return record

    logging.setLogRecordFactory(masked_record)
    sys.stdout = MaskingStream(sys.stdout, masker.mask)
    sys.stderr = MaskingStream(sys.stderr, masker.mask)
    return masker


def _this_python(program: str) -> bool:
    found = shutil.which(program) or program
    return found == sys.executable or os.path.realpath(found) == os.path.realpath(sys.executable)


def _python_program(path: str) -> bool:
    """An executable file whose first line runs Python (a console script such as `rasa`)."""
    try:
        with open(path, "rb") as program:
            first = program.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def wrap(command: List[str]) -> List[str]:
    """The command run through `python -m bot.logs` if it is a Python program; else unchanged."""
    if command and (_this_python(command[0]) or _python_program(command[0])):
        return [sys.executable, "-m", "bot.logs", *command]
    return command


def main(command: List[str]) -> None:
    """Install the masking, then run `command` (`python -m module …`, `python -c code …`,
    `python script …` or a Python console script) in this process, as if started itself."""
    if not command:
        raise SystemExit("usage: python -m bot.logs <python command>")
    install()
    if _this_python(command[0]):
        command = command[1:]
        if command[:1] == ["-m"]:
            sys.argv = [command[1], *command[2:]]
            runpy.run_module(command[1], run_name="__main__", alter_sys=True)
            return
        if command[:1] == ["-c"]:
            sys.argv = ["-c", *command[2:]]
            exec(compile(command[1], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102 - python -c
            return
    sys.argv = list(command)
    sys.path[0] = str(Path(command[0]).resolve().parent)
    runpy.run_path(command[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
