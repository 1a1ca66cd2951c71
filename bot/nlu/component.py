"""The one way our stateless graph components are built from their configuration."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


class FromConfig:
    """Mixin: `create` passes the merged configuration to `__init__(config)`.

    Put it first among the bases so it wins over the Rasa base class's own `create`.
    """

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Any:
        return cls({**cls.get_default_config(), **config})  # type: ignore[attr-defined,call-arg]
