"""The graph runner: the sub-graph a message needs computed once, run in dependency order."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from bot.rasa_patches.patch import Patch, Replacements


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


def _graph_runner() -> Replacements:
    """The graph runner recomputes, for every message and every predicted action, the sub-graph
    its targets need (a recursion without memory) and hands it to dask's general scheduler. The
    sub-graph is fixed once the model is loaded: it is computed once per target list and run in
    dependency order directly."""
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

    return {(DaskGraphRunner, "run"): run}


GRAPH_RUNNER = Patch("graph_runner", "each message's sub-graph computed once and run in order, without dask",
                     _graph_runner, ("rasa.engine.runner.dask:DaskGraphRunner.run",
                                     "rasa.engine.runner.dask:DaskGraphRunner._build_dask_graph",
                                     "rasa.engine.runner.dask:DaskGraphRunner._add_inputs_to_graph",
                                     "rasa.engine.graph:GraphSchema.minimal_graph_schema"))
