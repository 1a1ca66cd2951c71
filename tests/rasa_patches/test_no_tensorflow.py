"""The `no_tensorflow` import hook: when it applies, what its stand-in does, and the same
answers from Rasa without TensorFlow (in other processes: this one runs on the real one)."""

import ast
import asyncio
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest
import rasa

from bot import rasa_patches
from bot.rasa_patches import no_tensorflow
from tests.conftest import MODEL, ROOT, free_port, trained_model

TENSORFLOW_COMPONENTS = {"rasa.nlu.classifiers.diet_classifier.DIETClassifier",
                         "rasa.nlu.selectors.response_selector.ResponseSelector",
                         "rasa.core.policies.ted_policy.TEDPolicy",
                         "rasa.core.policies.unexpected_intent_policy.UnexpecTEDIntentPolicy",
                         "rasa.nlu.featurizers.dense_featurizer.lm_featurizer.LanguageModelFeaturizer",
                         "rasa.nlu.featurizers.dense_featurizer.convert_featurizer.ConveRTFeaturizer"}


def python(code: str, **env: str) -> str:
    """Runs `code` in a new Python process of this project; its standard output."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "RASA_PATCHES_OFF": "", **env})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def archive(tmp_path: Path, *uses: str) -> str:
    """A model archive whose metadata.json names these components (nothing else in it)."""
    nodes = {f"node{i}": {"uses": use} for i, use in enumerate(uses)}
    data = json.dumps({"train_schema": {"nodes": nodes}, "predict_schema": {"nodes": nodes}}).encode()
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return str(path)


def test_the_list_of_rasas_tensorflow_modules_is_what_rasas_sources_import():
    def imported_when_loaded(body):  # module-level imports, also under if/try, but not under TYPE_CHECKING
        for node in body:
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                yield node.module
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                yield from imported_when_loaded(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                yield from imported_when_loaded(node.body + node.orelse + node.finalbody
                                                + [n for h in node.handlers for n in h.body])

    root = Path(rasa.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        name = ".".join(("rasa",) + path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        if any(no_tensorflow.served(m) for m in imported_when_loaded(ast.parse(path.read_text()).body)):
            found.add(name)
    assert found == no_tensorflow.RASA_TENSORFLOW_MODULES


def test_rasas_components_that_need_tensorflow_are_those_defined_on_it():
    from rasa.engine.recipes.default_components import DEFAULT_COMPONENTS

    by_class = {f"{c.__module__}.{c.__name__}": any(base.__module__ in no_tensorflow.RASA_TENSORFLOW_MODULES
                                                     for base in c.__mro__) for c in DEFAULT_COMPONENTS}
    assert {path for path, needs in by_class.items() if needs} == TENSORFLOW_COMPONENTS
    for path, needs in by_class.items():
        assert no_tensorflow.module_needs_tensorflow(path.rpartition(".")[0]) == needs, path


def test_our_model_needs_no_tensorflow_and_the_stock_one_does(tmp_path):
    components = no_tensorflow.model_components(str(MODEL))
    assert "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier" in components
    assert "bot.nlu.tokenizer.VietnameseTokenizer" in components
    assert no_tensorflow.tensorflow_components(str(MODEL)) == []
    stock = archive(tmp_path, "rasa.nlu.tokenizers.whitespace_tokenizer.WhitespaceTokenizer",
                    *sorted(TENSORFLOW_COMPONENTS))
    assert no_tensorflow.tensorflow_components(stock) == sorted(TENSORFLOW_COMPONENTS)


def test_a_project_component_built_on_tensorflow_is_noticed(tmp_path, monkeypatch):
    package = tmp_path / "ourcomponents"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plain.py").write_text("import numpy\nfrom rasa.utils.tensorflow.constants import EPOCHS\n"
                                      "from .helpers import clean\nclass Plain: pass\n")
    (package / "helpers.py").write_text("import re\ndef clean(text): return text\n")
    (package / "base.py").write_text("from rasa.nlu.classifiers import diet_classifier\n")
    (package / "derived.py").write_text("from ourcomponents.base import diet_classifier\nclass Mine: pass\n")
    (package / "lazy.py").write_text("def load():\n    import tensorflow_hub\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not no_tensorflow.module_needs_tensorflow("ourcomponents.plain")
    assert no_tensorflow.module_needs_tensorflow("ourcomponents.derived")  # through base.py
    assert no_tensorflow.module_needs_tensorflow("ourcomponents.lazy")
    assert no_tensorflow.module_needs_tensorflow("ourcomponents.missing")  # unknown: may
    assert not no_tensorflow.module_needs_tensorflow("bot.nlu.featurizer")


def test_the_model_a_rasa_command_loads(tmp_path, monkeypatch):
    model = str(MODEL)
    assert no_tensorflow.model_of(["run", "--enable-api", "--model", model, "--port", "5005"]) == model
    assert no_tensorflow.model_of(["run", f"--model={model}"]) == model
    assert no_tensorflow.model_of(["shell", "-m", model, "--endpoints", "endpoints.yml"]) == model
    assert no_tensorflow.model_of(["run", "--port", "5005", model]) == model  # Rasa's positional model
    assert no_tensorflow.model_of(["test", "core", "--model", model, "--stories", "tests/stories"]) == model
    for command in (["run", "actions"], ["train"], ["test", "nlu", "--model", model], ["test", "--model", model],
                    ["test", "core", "--model", model, model], ["run", "--model", model, "--remote-storage", "aws"],
                    ["interactive", "--model", model], ["run", "--model", str(tmp_path / "none.tar.gz")]):
        assert no_tensorflow.model_of(command) is None, command
    (tmp_path / "old.tar.gz").write_bytes(b"")
    (tmp_path / "new.tar.gz").write_bytes(b"")
    os.utime(tmp_path / "old.tar.gz", (1, 1))
    assert no_tensorflow.model_of(["run", "--model", str(tmp_path)]) == str(tmp_path / "new.tar.gz")
    monkeypatch.chdir(tmp_path)  # Rasa's defaults: models/ and endpoints.yml
    assert no_tensorflow.model_of(["run"]) is None
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.tar.gz").write_bytes(b"")
    assert no_tensorflow.model_of(["run"]) == "models/a.tar.gz"
    (tmp_path / "endpoints.yml").write_text("models:\n  url: http://models.example/model.tar.gz\n")
    assert no_tensorflow.model_of(["run"]) is None  # a model server may send any model


def test_in_the_tests_process_the_hook_is_out():
    """This process imported TensorFlow before installing: the hook declines."""
    assert "no_tensorflow" not in rasa_patches.installed()
    assert no_tensorflow.put_in(["run", "--model", str(MODEL)]) == "TensorFlow is imported already"
    assert not any(isinstance(f, no_tensorflow.StandInFinder) for f in sys.meta_path)


STAND_IN_CHECKS = """
import json, sys
from bot import rasa_patches
from bot.rasa_patches import no_tensorflow
names = rasa_patches.install(command=["run", "--model", MODEL])
assert names == ["no_tensorflow", *[p.name for p in rasa_patches.PATCHES]], names
import numpy as np
import rasa.__main__, rasa.core.run, rasa.engine.recipes.default_components, rasa.model_testing, rasa.nlu.test
import rasa.core.test
for module in sorted(no_tensorflow.RASA_TENSORFLOW_MODULES):
    __import__(module)
assert not no_tensorflow.real_tensorflow_imported()
assert not any(name.split(".")[0] in ("jax", "tensorboard", "h5py") for name in sys.modules)
import tensorflow as tf
from rasa.nlu.classifiers.diet_classifier import DIETClassifier  # defined, registered in the recipe
from rasa.utils.tensorflow.layers import Ffnn
errors = []
for use in (lambda: tf.constant(1), lambda: tf.keras.layers.Dense(3), lambda: Ffnn([1], 0.1, 0.1, 0.1, "x")):
    try:
        use()
    except no_tensorflow.TensorFlowNotLoaded as error:
        errors.append(str(error))
    except Exception as error:
        errors.append(f"OTHER {type(error).__name__}: {error}")
assert not isinstance(np.zeros(2), tf.Tensor)
@tf.function
def f(x): return x + 1
@tf.function(experimental_relax_shapes=True)
def g(x): return x * 2
rasa_patches.uninstall()
print(json.dumps({"errors": errors, "f": f(1), "g": g(2), "after_uninstall": rasa_patches.installed()}))
"""


def test_rasa_imports_and_defines_its_classes_on_the_stand_in_and_every_use_fails_loudly():
    seen = json.loads(python(f"MODEL = {str(MODEL)!r}\n" + STAND_IN_CHECKS).splitlines()[-1])
    assert seen["f"] == 2 and seen["g"] == 4
    assert len(seen["errors"]) == 3, seen["errors"]
    for error in seen["errors"]:
        assert "RASA_PATCHES_OFF=no_tensorflow" in error and "uses no TensorFlow component" in error, error
    assert "`tensorflow.constant(...)`" in seen["errors"][0]
    assert "rasa.utils.tensorflow.layers.Ffnn" in seen["errors"][2]
    assert seen["after_uninstall"] == ["no_tensorflow"]  # Rasa's classes were defined on it: it stays


CHECK_INSTALL = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
from bot import rasa_patches
from bot.rasa_patches import no_tensorflow
installed = rasa_patches.install(command=COMMAND)
print(json.dumps({"installed": installed, "finder": any(isinstance(f, no_tensorflow.StandInFinder)
                                                          for f in sys.meta_path)}))
"""


@pytest.mark.parametrize("switch", ["all", "graph_runner,no_tensorflow"])
def test_the_switch_leaves_tensorflow_as_rasa_ships_it(switch):
    out = python(f"COMMAND = ['run', '--model', {str(MODEL)!r}]\n" + CHECK_INSTALL, RASA_PATCHES_OFF=switch)
    seen = json.loads(out.splitlines()[-1])
    assert not seen["finder"] and "no_tensorflow" not in seen["installed"]
    assert "Rasa patches switched off" in out and "no_tensorflow" in out


def test_a_model_with_tensorflow_components_gets_the_real_one(tmp_path):
    stock = archive(tmp_path, "rasa.nlu.classifiers.diet_classifier.DIETClassifier")
    out = python(f"COMMAND = ['run', '--model', {stock!r}]\n" + CHECK_INSTALL)
    seen = json.loads(out.splitlines()[-1])
    assert not seen["finder"] and seen["installed"] == [patch.name for patch in rasa_patches.PATCHES]
    assert "no_tensorflow not put in" in out and "DIETClassifier" in out


CONVERSATIONS = [["xin chào", "lam so do mat bao lau", "đk kết hôn cần j", "cảm ơn"],
                 ["000.00.14.H46-261123-0015", "ở huyện Núi Thành", "asdkjh qwe", "😀"],
                 ["tôi muốn nộp hồ sơ trực tuyến", "khai sinh", "lệ phí bao nhiêu", "tạm biệt"]]

ANSWERS = """
import asyncio, json
from rasa.core.channels.channel import UserMessage

async def answers(agent, conversations):
    seen = []
    for number, texts in enumerate(conversations):
        for text in texts:
            parsed = await agent.parse_message(text)
            tracker = await agent.log_message(UserMessage(text, sender_id=f"same-{number}"))
            predicted = await agent.predict_next_for_sender_id(tracker.sender_id)
            scores = sorted(predicted["scores"], key=lambda s: -s["score"])[:3]
            seen.append({"intent": parsed["intent"]["name"], "confidence": round(parsed["intent"]["confidence"], 6),
                         "ranking": [(r["name"], round(r["confidence"], 6)) for r in parsed["intent_ranking"][:5]],
                         "entities": parsed["entities"], "policy": predicted["policy"],
                         "next": [(s["action"], round(s["score"], 6)) for s in scores]})
    return seen
"""


def test_answers_are_the_same_without_tensorflow(agent):
    code = f"""
MODEL, CONVERSATIONS = {str(trained_model())!r}, {CONVERSATIONS!r}
from bot import rasa_patches
assert "no_tensorflow" in rasa_patches.install(command=["run", "--model", MODEL])
{ANSWERS}
import logging
from rasa.core.agent import Agent
from bot.rasa_patches import no_tensorflow
logging.getLogger("rasa").setLevel(logging.WARNING)
agent = Agent.load(MODEL)
seen = asyncio.run(answers(agent, CONVERSATIONS))
assert not no_tensorflow.real_tensorflow_imported()
print(json.dumps(seen, ensure_ascii=False))
"""
    without = json.loads(python(code).splitlines()[-1])
    namespace: dict = {}
    exec(ANSWERS, namespace)
    with_tensorflow = asyncio.run(namespace["answers"](agent, CONVERSATIONS))
    assert json.loads(json.dumps(with_tensorflow, ensure_ascii=False)) == without
    assert len({answer["intent"] for answer in without}) > 4 and all(answer["next"] for answer in without)


def test_the_rasa_server_runs_without_tensorflow(agent, tmp_path):
    port = free_port()
    endpoints = tmp_path / "endpoints.yml"  # Rasa's in-memory stores: no service to start
    endpoints.write_text("action_endpoint:\n  url: http://127.0.0.1:9/webhook\n")
    server = subprocess.Popen([sys.executable, "-m", "bot.rasa_patches", "run", "--enable-api", "--port", str(port),
                               "--model", str(trained_model()), "--endpoints", str(endpoints)],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "RASA_PATCHES_OFF": ""},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        parsed = None
        while parsed is None and time.monotonic() < deadline and server.poll() is None:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/model/parse",
                                                 data=json.dumps({"text": "đk kết hôn cần j"}).encode())
                with urllib.request.urlopen(request, timeout=10) as reply:
                    parsed = json.loads(reply.read())
            except OSError:
                time.sleep(0.5)
        assert parsed is not None, "the Rasa server did not answer"
        mapped = Path(f"/proc/{server.pid}/maps").read_text()
        assert "tensorflow" not in mapped and "jaxlib" not in mapped
        expected = asyncio.run(agent.parse_message("đk kết hôn cần j"))
        assert parsed["intent"]["name"] == expected["intent"]["name"]
        assert round(parsed["intent"]["confidence"], 6) == round(expected["intent"]["confidence"], 6)
    finally:
        server.terminate()
        server.wait(30)
