"""A stand-in for TensorFlow in a Rasa process whose model has no TensorFlow component.

Importing Rasa imports TensorFlow (and through it Keras, jax, TensorBoard...), whatever the
model: Rasa's non-TensorFlow code imports modules that define Keras classes (e.g.
rasa/utils/train_utils.py imports rasa/utils/tensorflow/callback.py), and the default recipe
imports every default component, DIET and TED included. Our model (config.yml) uses none of
them, so this puts a finder on `sys.meta_path`, before Rasa is imported, that serves a stand-in
for `tensorflow`, `keras` and the packages built on them. Rasa's TensorFlow modules still import
and define their classes on it: each of its attributes is a class, usable as a base class, a
type annotation or a default value, and `tf.function` returns the function it decorates. Any
real use (calling a TensorFlow function, creating a layer or a model) raises
`TensorFlowNotLoaded`, which names the switch: `RASA_PATCHES_OFF=no_tensorflow`.

It is put in only for `run`, `shell` and `test core` with a local model archive whose graph
(metadata.json) has no component that needs TensorFlow (`tensorflow_components`), and only
when nothing has imported TensorFlow yet. Otherwise Rasa imports the real one, as shipped.
Rasa's HTTP API can then still be asked to load another model (`PUT /model`) or to train one
(`POST /model/train`): with TensorFlow components, that fails with the error naming the switch.
"""

from __future__ import annotations

import abc
import ast
import importlib.abc
import importlib.machinery
import json
import os
import sys
import tarfile
import types
from pathlib import Path
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from bot.rasa_patches.patch import ImportHook

# The packages served by the stand-in: TensorFlow and what can only run on it.
SERVED = ("tensorflow", "keras", "tensorflow_addons", "tensorflow_hub", "tensorflow_text")

# Rasa 3.6.21's modules that import TensorFlow (or Keras) when they are imported
# (tests/rasa_patches/test_no_tensorflow.py checks the list against Rasa's sources). A component
# needs TensorFlow when its class is defined in one of them: DIETClassifier, ResponseSelector,
# TEDPolicy, UnexpecTEDIntentPolicy, LanguageModelFeaturizer, ConveRTFeaturizer.
RASA_TENSORFLOW_MODULES = frozenset({
    "rasa.core.policies.ted_policy", "rasa.core.policies.unexpected_intent_policy",
    "rasa.nlu.classifiers.diet_classifier", "rasa.nlu.selectors.response_selector",
    "rasa.nlu.featurizers.dense_featurizer.convert_featurizer", "rasa.nlu.featurizers.dense_featurizer.lm_featurizer",
    "rasa.utils.tensorflow.callback", "rasa.utils.tensorflow.crf", "rasa.utils.tensorflow.data_generator",
    "rasa.utils.tensorflow.layers", "rasa.utils.tensorflow.layers_utils", "rasa.utils.tensorflow.metrics",
    "rasa.utils.tensorflow.models", "rasa.utils.tensorflow.rasa_layers", "rasa.utils.tensorflow.transformer",
    "rasa.utils.tensorflow.types",
})

# Rasa's settings that make it configure TensorFlow at start-up (rasa/utils/tensorflow/environment.py).
TENSORFLOW_SETTINGS = ("TF_GPU_MEMORY_ALLOC", "TF_INTER_OP_PARALLELISM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS")
SWITCH = "no_tensorflow"


class TensorFlowNotLoaded(RuntimeError):
    """TensorFlow was used in a process that runs on the stand-in."""


def _identity_decorator(*args: Any, **kwargs: Any) -> Any:
    """`@tf.function` and `@tf.function(...)`: the function itself (it can only run on TensorFlow)."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda function: function


# Stand-ins called while Rasa's modules are imported (decorators), and what the call returns.
DEFINITION_TIME: Dict[str, Callable[..., Any]] = {"tensorflow.function": _identity_decorator}

_why = "the model uses no TensorFlow component"


def _not_loaded(what: str) -> TensorFlowNotLoaded:
    return TensorFlowNotLoaded(
        f"{what} needs TensorFlow, which is not loaded in this process: bot/rasa_patches served a stand-in "
        f"for it because {_why}. Start Rasa with RASA_PATCHES_OFF={SWITCH} to load TensorFlow.")


class StandInType(abc.ABCMeta):
    """The type of the stand-ins. Each stand-in is a class named after its path
    (`tensorflow.keras.layers.Layer`) whose attributes are stand-ins; a class derived from one
    (Rasa's Keras layers) is an ordinary class whose instances cannot be created.
    A subclass of ABCMeta, so Rasa's classes may derive from a stand-in and an ABC at once."""

    def __getattr__(cls, name: str) -> Any:
        path = vars(cls).get("_stand_in_path")
        if path is None or name.startswith("__"):
            raise AttributeError(name)
        return stand_in(f"{path}.{name}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        path = vars(cls).get("_stand_in_path")
        if path in DEFINITION_TIME:
            return DEFINITION_TIME[path](*args, **kwargs)
        raise _not_loaded(f"`{path}(...)`" if path else f"{cls.__module__}.{cls.__qualname__} (a TensorFlow class)")


_stand_ins: Dict[str, type] = {}


def stand_in(path: str) -> type:
    """The stand-in for `path` (`tensorflow.keras.layers.Layer`), the same one each time."""
    if path not in _stand_ins:
        module, _, name = path.rpartition(".")
        _stand_ins[path] = StandInType(name, (), {"_stand_in_path": path, "__module__": module,
                                                  "__qualname__": name, "__doc__": f"A stand-in for {path}."})
    return _stand_ins[path]


class StandInModule(types.ModuleType):
    """A served module (`tensorflow`, `keras.utils`...): its attributes are stand-ins."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return stand_in(f"{self.__name__}.{name}")


def served(name: str) -> bool:
    return name.split(".", 1)[0] in SERVED


class StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves a StandInModule for every module of the SERVED packages."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[types.ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if not served(fullname):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = StandInModule(spec.name, f"A stand-in for {spec.name} (bot/rasa_patches/no_tensorflow.py).")
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


_finder: Optional[StandInFinder] = None


def real_tensorflow_imported() -> bool:
    return any(served(name) and not isinstance(module, StandInModule) for name, module in list(sys.modules.items()))


def stand_ins_imported() -> bool:
    return any(isinstance(module, StandInModule) for module in list(sys.modules.values()))


def is_in() -> bool:
    return _finder is not None


def put_in(command: Optional[Sequence[str]]) -> Optional[str]:
    """Put the finder in for Rasa's `command` (its arguments, `run --model ...`).

    Returns None when it is in, else why it was not put in. Imports nothing that imports
    TensorFlow (tests/rasa_patches/test_no_tensorflow.py)."""
    global _finder, _why
    if _finder is not None:
        return None
    if real_tensorflow_imported():
        return "TensorFlow is imported already"
    if command is None:
        return "no Rasa command given"
    set_up = [name for name in TENSORFLOW_SETTINGS if os.environ.get(name)]
    if set_up:
        return f"{', '.join(set_up)} configure TensorFlow"
    model = model_of(command)
    if model is None:
        return f"`rasa {' '.join(command[:2])}` does not only load a local model"
    try:
        needs = tensorflow_components(model)
    except (OSError, ValueError, KeyError, tarfile.TarError) as error:
        return f"the model {model} could not be read ({error})"
    if needs:
        return f"the model {model} has components that need TensorFlow: {', '.join(needs)}"
    _why = f"the model {model} uses no TensorFlow component"
    _finder = StandInFinder()
    sys.meta_path.insert(0, _finder)
    return None


def take_out() -> bool:
    """Take the finder out, when no module was imported from it; returns whether it is out.

    Once Rasa's modules were imported with the stand-in, their classes are defined on it and
    stay so: the finder stays in, and `installed()` keeps naming the patch."""
    global _finder
    if _finder is None:
        return True
    if stand_ins_imported():
        return False
    sys.meta_path.remove(_finder)
    _finder = None
    return True


def _option(arguments: Sequence[str], *names: str) -> List[str]:
    """The values given to an option (`--model x`, `--model=x`, `-m x`; all values up to the next option)."""
    values: List[str] = []
    for index, argument in enumerate(arguments):
        for name in names:
            if argument == name:
                values += list(_until_option(arguments[index + 1:]))
            elif name.startswith("--") and argument.startswith(name + "="):
                values.append(argument.split("=", 1)[1])
    return values


def _until_option(arguments: Sequence[str]) -> Iterable[str]:
    for argument in arguments:
        if argument.startswith("-"):
            return
        yield argument


def model_of(command: Sequence[str]) -> Optional[str]:
    """The local model archive Rasa's `command` loads, or None when it may do anything else
    (train, test NLU, read models from a model server or a remote storage...)."""
    from rasa.exceptions import ModelNotFound
    from rasa.model import get_local_model
    from rasa.shared.constants import DEFAULT_ENDPOINTS_PATH, DEFAULT_MODELS_PATH

    command = list(command)
    # The commands that only load a trained model (no training, no action server).
    if not (command[:1] == ["run"] and command[1:2] != ["actions"] or command[:1] == ["shell"]
            or command[:2] == ["test", "core"]):
        return None
    if _option(command, "--remote-storage") or "--evaluate-model-directory" in command:
        return None
    # rasa/cli/utils.py, parse_last_positional_argument_as_model_path: `rasa run <model>`
    if command[0] in ("run", "shell") and len(command) >= 2 and not command[-2].startswith("-") \
            and os.path.exists(command[-1]):
        command[-1:] = ["--model", command[-1]]
    models = _option(command, "-m", "--model") or [DEFAULT_MODELS_PATH]
    if len(models) != 1:
        return None
    endpoints = (_option(command, "--endpoints") or [DEFAULT_ENDPOINTS_PATH])[-1]
    if _has_model_server(endpoints):
        return None
    try:
        return str(get_local_model(models[0]))
    except ModelNotFound:  # Rasa says so itself
        return None


def _has_model_server(endpoints: str) -> bool:
    """Whether Rasa's endpoints file names a model server (unreadable: it may)."""
    import yaml

    try:
        data = yaml.safe_load(Path(endpoints).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True
    return isinstance(data, dict) and bool(data.get("models"))


def model_components(model: str) -> Set[str]:
    """The class paths of the components of a model archive's graphs (its metadata.json), read
    as rasa/engine/storage/local_model_storage.py and rasa/engine/graph.py read them."""
    with tarfile.open(model, mode="r:gz") as archive:
        for member in archive:
            if member.name.lstrip("/") == "metadata.json":
                handle = archive.extractfile(member)
                if handle is None:
                    break
                metadata = json.load(handle)
                return {node["uses"] for schema in ("train_schema", "predict_schema")
                        for node in metadata[schema]["nodes"].values()}
    raise ValueError("no metadata.json in the archive")


def tensorflow_components(model: str) -> List[str]:
    """The components of the model that need TensorFlow (sorted class paths)."""
    return sorted(path for path in model_components(model) if module_needs_tensorflow(path.rpartition(".")[0]))


def module_needs_tensorflow(module: str, seen: Optional[Set[str]] = None) -> bool:
    """Whether the classes of `module` may need TensorFlow: for Rasa's own, whether it is one of
    RASA_TENSORFLOW_MODULES; for others, whether its source imports TensorFlow, one of those, or
    (the same question) a module of its own package. A module whose source is not found may."""
    if module in RASA_TENSORFLOW_MODULES or served(module):
        return True
    if module == "rasa" or module.startswith("rasa."):
        return False
    seen = set() if seen is None else seen
    seen.add(module)
    imports = _imports_of(module)
    if imports is None:
        return True
    package = module.split(".", 1)[0]
    return any(imported in RASA_TENSORFLOW_MODULES or served(imported) for imported in imports) or any(
        module_needs_tensorflow(imported, seen) for imported in imports
        if imported.split(".", 1)[0] == package and imported not in seen and _imports_of(imported) is not None)


@lru_cache(maxsize=None)
def _imports_of(module: str) -> Optional[Tuple[str, ...]]:
    """The modules the source of `module` imports, None when its source is not found."""
    origin = _source_file(module)
    if origin is None:
        return None
    return tuple(_imports(ast.parse(origin.read_text(encoding="utf-8")), module, origin.name == "__init__.py"))


def _imports(tree: ast.Module, module: str, is_package: bool) -> Iterable[str]:
    """Every module a source imports, anywhere in it (`from a import b` gives `a` and `a.b`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parent = parts if is_package else parts[:-1]
                parent = parent[:len(parent) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _source_file(module: str) -> Optional[Path]:
    """The source file of a module, found without importing it nor its packages."""
    search: Optional[List[str]] = None
    spec = None
    parts = module.split(".")
    for index in range(len(parts)):
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:index + 1]), search)
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or [])
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


NO_TENSORFLOW = ImportHook(
    SWITCH, "TensorFlow not imported when the model has no TensorFlow component (a stand-in serves Rasa's imports)",
    put_in, take_out, is_in,
    ("rasa.cli.utils:parse_last_positional_argument_as_model_path",   # model_of: Rasa's command line
     "rasa.cli.arguments.default_arguments:add_model_param",
     "rasa.cli.test:run_core_test",
     "rasa.model:get_local_model",
     "rasa.core.agent:load_agent",                                     # a model server or a remote storage
     "rasa.engine.storage.local_model_storage:LocalModelStorage._load_metadata",  # model_components
     "rasa.engine.storage.storage:ModelMetadata.from_dict",
     "rasa.engine.graph:GraphSchema.from_dict",
     "rasa.utils.tensorflow.environment:setup_tf_environment"))         # TENSORFLOW_SETTINGS
