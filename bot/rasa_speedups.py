"""Measured fixes for Rasa 3.6's hottest paths, installed when the Rasa server starts.

Each was found with py-spy on the Rasa server under `make bench` (20 citizens) and gives the
same results as the code it replaces (tests/test_rasa_speedups.py compares them):

- Rasa checks every answer of the action server with `jsonschema.validate()`, which first
  re-checks the schema itself on each call: two thirds of the CPU (2026-11-27). A validator
  built once gives the same verdict; an answer it rejects still goes through Rasa's own code,
  so the error stays Rasa's. (fastjsonschema's compiled check was tried: 4.4 % of the CPU
  against 4.8 %, not worth a dependency.)
- The graph runner recomputes, for every message and every predicted action, the sub-graph its
  targets need (a recursion without memory) and hands it to dask's general scheduler. The
  sub-graph is fixed once the model is loaded: it is computed once per target list and run in
  dependency order directly.
- Rebuilding a tracker from stored events looks each event's class up among all subclasses
  of `Event`, once per event; the classes are looked up once per type name.
- Rasa deep-copies policy states, events and slots to pass them to debug logs, also when debug
  logging is off (a tenth of the CPU). In the modules that deep-copy only for logs, the copy
  is made only while Rasa's debug logging is on.
- Every call to the action server opened a new HTTP client and TCP connection. Calls now share
  one client per event loop and endpoint, keeping connections alive for less time than the
  action server does (so the client, not the server, closes an idle one); `close_sessions`
  closes them when the server stops. The request, the whole conversation, is written as JSON
  by ujson (the standard library's encoder where ujson refuses a value).
- Every tracker Rasa builds copies every slot with `copy.copy`, the generic (slow) way; slots
  get a `__copy__` that does the same shallow copy directly.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import logging
import types
from typing import Any, Callable, Dict, List, Optional, Tuple

_installed = False
_original: Optional[Callable[..., bool]] = None  # Rasa's own action-answer validation


def install() -> None:
    """Idempotent: the Rasa server calls it once per channel set-up."""
    global _installed
    if _installed:
        return
    _install_graph_runner()
    _install_event_lookup()
    _install_action_validator()
    _install_shared_sessions()
    _install_log_copies()
    _install_slot_copy()
    _installed = True


def _install_action_validator() -> None:
    global _original
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    original = RemoteAction._validate_action_result

    def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
        if validator.is_valid(result):
            return True
        return original(self, result)  # raises Rasa's own ValidationError

    RemoteAction._validate_action_result = validate_action_result
    _original = original


def run_in_order(graph: Dict[str, Any], targets: List[str]) -> List[Any]:
    """What `dask.get(graph, targets)` returns, for graphs whose tasks are `(callable, *keys)`."""
    results: Dict[str, Any] = {}

    def value(key: str) -> Any:
        if key in results:
            return results[key]
        task = graph[key]
        if isinstance(task, tuple) and task and callable(task[0]):
            arguments = [value(a) if isinstance(a, str) and a in graph else a for a in task[1:]]
            results[key] = task[0](*arguments)
        else:
            results[key] = task
        return results[key]

    return [value(target) for target in targets]


def _install_graph_runner() -> None:
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    def run(self: DaskGraphRunner, inputs: Optional[Dict[str, Any]] = None,
            targets: Optional[List[str]] = None) -> Dict[str, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        graphs = self.__dict__.setdefault("_graphs_by_targets", {})
        template = graphs.get(tuple(run_targets))
        if template is None:
            template = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
            graphs[tuple(run_targets)] = template
        run_graph = dict(template)
        if inputs:
            self._add_inputs_to_graph(inputs, run_graph)
        try:
            return dict(run_in_order(run_graph, run_targets))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error

    DaskGraphRunner.run = run


def _install_event_lookup() -> None:
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    classes: Dict[str, type] = {}

    def resolve_by_type(type_name: str, default: Optional[type] = None) -> Optional[type]:
        found = classes.get(type_name)
        if found is None:
            found = original(type_name, default)
            if found is not None and getattr(found, "type_name", None) == type_name:
                classes[type_name] = found
        return found

    Event.resolve_by_type = staticmethod(resolve_by_type)


_sessions: Dict[Tuple[Any, ...], Any] = {}
KEEPALIVE_S = 2.0  # Sanic, the action server's framework, keeps an idle connection for 5 s


class _SharedSession:
    """Used as `async with endpoint.session() as session:` — everywhere Rasa 3.6 calls it."""

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> Any:
        import aiohttp
        from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

        endpoint, loop = self.endpoint, asyncio.get_running_loop()
        key = (tuple(sorted(endpoint.headers.items())), tuple(sorted(endpoint.basic_auth.items())))
        session = _sessions.get(key)
        if session is None or session.closed or session.loop is not loop:
            auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
                    if endpoint.basic_auth else None)
            session = aiohttp.ClientSession(
                headers=endpoint.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S), json_serialize=json_text)
            _sessions[key] = session
        return session

    async def __aexit__(self, *_: Any) -> None:
        return None


def json_text(value: Any) -> str:
    import ujson

    try:
        return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)
    except (TypeError, OverflowError, ValueError):
        return json.dumps(value)  # the standard library's result, or its error


async def close_sessions() -> None:
    while _sessions:
        _, session = _sessions.popitem()
        await session.close()


def _install_shared_sessions() -> None:
    from rasa.utils.endpoints import EndpointConfig

    EndpointConfig.session = lambda self: _SharedSession(self)


# Modules of Rasa 3.6.21 whose every `copy.deepcopy` is an argument of a `structlogger.debug`.
LOG_ONLY_DEEPCOPY_MODULES = ("rasa.core.processor", "rasa.core.policies.memoization",
                             "rasa.core.policies.rule_policy", "rasa.core.actions.forms")


class _CopyForLogs(types.ModuleType):
    """The `copy` module, except that `deepcopy` copies only while debug logs are written."""

    def __init__(self) -> None:
        super().__init__("copy")
        self._rasa = logging.getLogger("rasa")

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Optional[Dict[int, Any]] = None) -> Any:
        return copy.deepcopy(value, memo) if self._rasa.isEnabledFor(logging.DEBUG) else value


def _install_log_copies() -> None:
    shim = _CopyForLogs()
    for name in LOG_ONLY_DEEPCOPY_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "copy", None) is copy:
            module.copy = shim


def _install_slot_copy() -> None:
    from rasa.shared.core.slots import Slot

    def __copy__(self: Slot) -> Slot:  # what copy.copy does for an object with a __dict__
        duplicate = self.__class__.__new__(self.__class__)
        duplicate.__dict__.update(self.__dict__)
        return duplicate

    Slot.__copy__ = __copy__
