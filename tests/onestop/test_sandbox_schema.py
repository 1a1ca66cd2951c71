"""The sandbox against its contract, with requests generated from docs/onestop-openapi.yaml.

What schemathesis does, on hypothesis-jsonschema: no schemathesis release works beside the
pinned environment. 4.x and 3.22+ need hypothesis ≥ 6.84.3 (pinned 6.82.0), 3.17.5–3.21 pytest
< 8 (8.4.2), 3.15–3.17.4 attrs ≤ 21.4 (22.1.0), 3.11 and older jsonschema < 4 or click < 8; 3.12–
3.14.2 install but fail on import (hypothesis 6.82 has no `InferType`, Werkzeug 3.1.9 no
`__version__`), and through their pytest plugin would take every pytest run down with them.

Every operation of the document gets requests built from its own schemas: valid ones, ones the
contract forbids (a field replaced by any JSON, a required one dropped, a lone surrogate, bytes
that are not JSON, a path or query value of any text) and a few without the right token. They
go over HTTP to a sandbox process on SQLite and on PostgreSQL. Every answer must be documented
for its operation (status, JSON body valid against its schema, headers), never a 5xx, and never
a success for a request the contract forbids. Afterwards the documented demo dossiers look up
exactly as before, and every dossier the run created looks up as the sandbox last described it.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

import jsonschema
import requests
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.onestop import test_sandbox
from tests.onestop.test_sandbox import ROOT, TOKEN, Sandbox, documented_demo_dossiers

# The sandbox of tests/onestop/test_sandbox.py, on SQLite and on PostgreSQL.
db_url, sandbox = test_sandbox.db_url, test_sandbox.sandbox

EXAMPLES = 250  # generated requests per database
SPEC = yaml.safe_load((ROOT / "docs" / "onestop-openapi.yaml").read_text(encoding="utf-8"))
METHODS = ("get", "post", "put", "patch", "delete")
# A fault is a 500 or a slow answer by design: the run may set only "none".
TAME = {"sandboxSetFault": {"mode": {"type": "string", "enum": ["none"]}}}

TEXT = st.text(max_size=40)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=8)


def resolved(node: Any) -> Any:
    """The node with every local `$ref` replaced by what it points to (the document has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = SPEC
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolved(target)
        return {key: resolved(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(value) for value in node]
    return node


def json_schema(node: Any, ecma: bool = False) -> Any:
    """OpenAPI 3.0 to JSON Schema: `nullable` becomes a null type; with `ecma`, `\\d` means [0-9]
    as in ECMA-262 regular expressions, the dialect the document's patterns are written in."""
    if isinstance(node, dict):
        node = {key: json_schema(value, ecma) for key, value in node.items()
                if key not in ("example", "examples", "description")}
        if node.pop("nullable", False):
            node["type"] = [node["type"], "null"]
        if ecma and isinstance(node.get("pattern"), str):
            node["pattern"] = node["pattern"].replace(r"\d", "[0-9]")
        return node
    if isinstance(node, list):
        return [json_schema(value, ecma) for value in node]
    return node


def contract(node: Any) -> Any:
    """The JSON Schema of a node of the document, as a validator reads it."""
    return json_schema(resolved(node), ecma=True)


@lru_cache(maxsize=None)
def validator(schema_json: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(schema_json), format_checker=jsonschema.FormatChecker())


def violations(schema: Any, instance: Any) -> List[str]:
    return [f"{'/'.join(map(str, error.path))}: {error.message}"
            for error in validator(json.dumps(schema, sort_keys=True)).iter_errors(instance)]


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    spec: Dict[str, Any]

    @property
    def parameters(self) -> List[Dict[str, Any]]:
        return resolved(self.spec.get("parameters", []))

    @property
    def body_schema(self) -> Optional[Dict[str, Any]]:
        body = resolved(self.spec.get("requestBody"))
        if not body:
            return None
        schema = copy.deepcopy(body["content"]["application/json"]["schema"])
        schema.setdefault("properties", {}).update(TAME.get(self.id, {}))
        return schema

    @property
    def secured(self) -> bool:
        return bool(self.spec.get("security", SPEC.get("security")))


OPERATIONS = [Operation(op["operationId"], method.upper(), path, op)
              for path, item in SPEC["paths"].items() for method, op in item.items() if method in METHODS]


@dataclass
class Case:
    operation: Operation
    path_values: Dict[str, str]
    query: Dict[str, str]
    body: Optional[bytes]
    auth: Optional[str]
    invalid: List[str] = field(default_factory=list)  # why the contract forbids this request

    @property
    def url_path(self) -> str:
        path = self.operation.path
        for name, value in self.path_values.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        return path

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return (f"{self.operation.method} {self.url_path} query={self.query} auth={self.auth!r} "
                f"body={(self.body or b'')[:300]!r} invalid={self.invalid}")

    def describe(self, answer: requests.Response) -> str:
        return f"{self!r} → {answer.status_code} {answer.text[:300]}"


@dataclass
class Record:
    """What the run learnt: dossiers it created (their verification and last known state)."""

    dossiers: Dict[str, Tuple[str, Dict[str, Any]]] = field(default_factory=dict)
    requests: int = 0
    statuses: Dict[str, int] = field(default_factory=dict)


def with_lone_surrogate(value: Any, schema: Dict[str, Any]) -> Any:
    """The value with a lone surrogate (valid JSON text, not valid Unicode) in a documented string."""
    if isinstance(value, str):
        return "\ud800" + value
    if isinstance(value, dict):
        documented = schema.get("properties", {})
        for key in [k for k in documented if k in value] or list(value):
            if isinstance(value[key], (str, dict, list)):
                return {**value, key: with_lone_surrogate(value[key], documented.get(key, {}))}
        return value
    if isinstance(value, list) and value:
        return [with_lone_surrogate(value[0], schema.get("items", {})), *value[1:]]
    return value


def lone_surrogates(value: Any, schema: Dict[str, Any]) -> bool:
    """Whether a value the contract describes holds a lone surrogate (unknown properties are ignored)."""
    if isinstance(value, str):
        return any(0xD800 <= ord(char) <= 0xDFFF for char in value)
    if isinstance(value, dict):
        documented = schema.get("properties", {})
        return any(lone_surrogates(value[key], documented[key]) for key in documented if key in value)
    if isinstance(value, list):
        return any(lone_surrogates(item, schema.get("items", {})) for item in value)
    return False


@st.composite
def bodies(draw: Any, schema: Dict[str, Any]) -> bytes:
    schema = resolved(schema)
    kind = draw(st.sampled_from(["valid", "valid", "valid", "digits", "broken", "surrogate", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=120))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    # "digits": Python's reading of the patterns, where `\d` is any Unicode digit ("٢"), not the contract's.
    body = draw(from_schema(json_schema(schema, ecma=kind != "digits")))
    if kind == "surrogate":
        body = with_lone_surrogate(body, schema)
    elif kind == "broken" and isinstance(body, dict) and body:
        key = draw(st.sampled_from(sorted(body)))
        if draw(st.booleans()):
            del body[key]
        else:
            body[key] = draw(JSON)
    return json.dumps(body).encode()


def tamed(operation: Operation, body: bytes) -> bytes:
    """Never a fault other than "none", whatever the generator drew."""
    if operation.id != "sandboxSetFault":
        return body
    try:
        value = json.loads(body)
    except ValueError:
        return body
    if isinstance(value, dict) and value.get("mode") in ("slow", "error", "malformed"):
        return json.dumps({**value, "mode": "none"}).encode()
    return body


def request_problems(operation: Operation, path_values: Dict[str, str], query: Dict[str, str],
                     body: Optional[bytes]) -> List[str]:
    problems = []
    for parameter in operation.parameters:
        where = {"path": path_values, "query": query}[parameter["in"]]
        if parameter["name"] not in where:
            if parameter.get("required"):
                problems.append(f"{parameter['name']} missing")
            continue
        problems += [f"{parameter['name']} {p}" for p in violations(contract(parameter["schema"]),
                                                                    where[parameter["name"]])]
    schema = operation.body_schema
    if schema is not None:
        try:
            value = json.loads(body or b"")
        except ValueError:
            return problems + ["body is not JSON"]
        if lone_surrogates(value, resolved(schema)):
            problems.append("body has a lone surrogate")
        problems += [f"body {p}" for p in violations(contract(schema), value)]
    return problems


@st.composite
def cases(draw: Any, record: Record) -> Case:
    """One request. Draws never depend on what the run created (hypothesis replays by draws): a
    "known" value is picked by index among the dossiers created so far, with their verification."""
    operation = draw(st.sampled_from(OPERATIONS))
    known = sorted(record.dossiers)
    pick = draw(st.integers(0, 2 ** 16))
    code, verification = (known[pick % len(known)], record.dossiers[known[pick % len(known)]][0]) \
        if known else (None, None)
    path_values: Dict[str, str] = {}
    query: Dict[str, str] = {}
    for parameter in operation.parameters:
        kind = draw(st.sampled_from(["schema", "known", "known", "digits", "text"]))
        schema = json_schema(parameter["schema"], ecma=kind != "digits")
        if parameter["in"] == "path":
            value = draw(from_schema({"minLength": 1, **schema}))
            text = draw(st.text(min_size=1, max_size=30))
            path_values[parameter["name"]] = (text if kind == "text" else
                                              code if kind == "known" and parameter["name"] == "code" and code else
                                              value)
        else:
            value = draw(from_schema(schema))
            text = draw(st.one_of(TEXT, st.none()))
            chosen = text if kind == "text" else verification if kind == "known" and verification else value
            if chosen is not None:
                query[parameter["name"]] = chosen
    schema = operation.body_schema
    body = tamed(operation, draw(bodies(schema))) if schema is not None else None
    auth = draw(st.sampled_from([f"Bearer {TOKEN}"] * 17 + [None, "Bearer wrong", TOKEN]))
    case = Case(operation, path_values, query, body, auth)
    case.invalid = request_problems(operation, path_values, query, body)
    if operation.secured and auth != f"Bearer {TOKEN}":
        case.invalid.append("no valid token")
    return case


def send(sandbox: Sandbox, case: Case) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if case.auth is not None:
        headers["Authorization"] = case.auth
    return requests.request(case.operation.method, sandbox.url + case.url_path, params=case.query,
                            data=case.body, headers=headers, timeout=10)


def check(case: Case, answer: requests.Response) -> Any:
    """The answer as the document describes it for this operation; its JSON body."""
    where = case.describe(answer)
    assert answer.status_code < 500, f"server error: {where}"
    documented = case.operation.spec["responses"]
    assert str(answer.status_code) in documented, f"undocumented status: {where}"
    if 200 <= answer.status_code < 300:
        assert not case.invalid, f"accepted a request the contract forbids ({case.invalid}): {where}"
    described = resolved(documented[str(answer.status_code)])
    for header in described.get("headers", {}):
        assert header in answer.headers, f"no {header} header: {where}"
    content = described.get("content", {}).get("application/json")
    if content is None:
        assert answer.content == b"", f"a body where none is documented: {where}"
        return None
    assert answer.headers.get("Content-Type", "").startswith("application/json"), where
    body = answer.json()
    problems = violations(contract(content["schema"]), body)
    assert not problems, f"answer not as documented {problems}: {where}"
    return body


def learn(sandbox: Sandbox, case: Case, answer: requests.Response, body: Any, record: Record) -> None:
    """Remember created dossiers; unregister generated webhooks at once, before any delivery."""
    operation, status = case.operation.id, answer.status_code
    if operation == "registerWebhook" and status == 201:
        hook_id = body["id"]
        assert "secret" not in body
        gone = sandbox.call("DELETE", f"/api/v1/webhooks/{quote(hook_id, safe='')}")
        assert gone.status_code == 204, gone.text
    elif operation == "listWebhooks" and status == 200:
        assert all("secret" not in hook for hook in body)
    elif operation in ("createDraft", "sandboxCreateDossier") and status == 201:
        applicant = json.loads(case.body or b"{}").get("applicant") or {}
        phone = (applicant.get("phone") or "0900000000").strip()  # the sandbox's default applicant
        expected = body if operation == "sandboxCreateDossier" else {
            "code": body["code"], "status": body["status"], "continue_url": body["continue_url"]}
        assert body["code"] not in record.dossiers, f"a code given twice: {body['code']}"
        record.dossiers[body["code"]] = (phone[-4:], expected)
    elif operation in ("sandboxChangeStatus", "sandboxSubmitDraft") and status == 200:
        if body["code"] in record.dossiers:
            record.dossiers[body["code"]] = (record.dossiers[body["code"]][0], body)


def demo_lookups(sandbox: Sandbox) -> List[Any]:
    rows = documented_demo_dossiers()
    assert len(rows) == 12
    answers = []
    for row in rows:
        for verification in (row["phone4"], row["id"]):
            answer = sandbox.lookup(row["code"], verification)
            assert answer.status_code == 200, (row, answer.text)
            answers.append(answer.json())
    return answers


def test_every_operation_of_the_document_is_generated() -> None:
    assert {op.id for op in OPERATIONS} == {
        "getDossier", "createDraft", "registerWebhook", "listWebhooks", "deleteWebhook", "sandboxCreateDossier",
        "sandboxChangeStatus", "sandboxSubmitDraft", "sandboxLockDossier", "sandboxSetFault", "health"}


def test_generated_requests_get_documented_answers_and_keep_the_data(sandbox: Sandbox) -> None:
    before = demo_lookups(sandbox)
    record = Record()
    started = time.monotonic()

    # Generation only: the sandbox's state moves on, so shrinking would replay other requests.
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(cases(record))
        answer = send(sandbox, case)
        record.requests += 1
        record.statuses[f"{case.operation.id} {answer.status_code}"] = \
            record.statuses.get(f"{case.operation.id} {answer.status_code}", 0) + 1
        learn(sandbox, case, answer, check(case, answer), record)

    try:
        run()
    finally:
        sandbox.call("POST", "/sandbox/faults", json={"mode": "none"})
        # generated locks (up to a day) would refuse the lookups below with 423
        for code in [row["code"] for row in documented_demo_dossiers()] + list(record.dossiers):
            sandbox.call("POST", f"/sandbox/dossiers/{code}/lock", json={"seconds": 0})
        print(f"\n{record.requests} generated requests in {time.monotonic() - started:.1f} s on "
              f"{sandbox.db_url.split(':')[0]}: {dict(sorted(record.statuses.items()))}")

    assert demo_lookups(sandbox) == before
    assert record.requests >= EXAMPLES and {key.split()[0] for key in record.statuses} == {op.id for op in OPERATIONS}
    successes = sum(n for key, n in record.statuses.items() if key.split()[1].startswith("2"))
    assert successes >= EXAMPLES // 10, record.statuses  # the generated requests are not all refused
    for code, (verification, expected) in record.dossiers.items():
        answer = sandbox.lookup(code, verification)
        assert answer.status_code == 200, (code, answer.text)
        stored = answer.json()
        assert {key: stored[key] for key in expected} == expected, code
