"""Export of a fitted Markov chain's transitions: a table, or a GraphML graph.

The table (``from_state``, ``to_state``, ``count``, ``probability``) is the model's own
:meth:`~attribution.models.markov.Markov.transition_table`; ``.parquet``, ``.csv`` and
``.json`` write it as it is. ``.graphml`` writes it as a networkx ``DiGraph``: nodes are
state labels with a ``kind`` attribute (``start``, ``channel``, ``conversion``,
``null``), edges carry ``count`` and ``probability``. networkx is imported only when a
graph is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from attribution.errors import ParameterError
from attribution.io.writers import write_atomically, write_table
from attribution.models.markov_chain import CONVERSION_LABEL, NULL_LABEL, START_LABEL

if TYPE_CHECKING:
    from attribution.models.markov import Markov

#: Transition export formats, by extension: tables, or a networkx graph as GraphML.
TRANSITION_FORMATS = (".parquet", ".csv", ".json", ".graphml")


def check_transitions_path(path: str | Path) -> str:
    """The export format of a transitions path (by extension), or a clear error."""
    suffix = Path(path).suffix.lower()
    if suffix not in TRANSITION_FORMATS:
        raise ParameterError(
            f"transitions: cannot tell the transition-matrix format of {str(path)!r}: use "
            f"{', '.join(TRANSITION_FORMATS)}"
        )
    return suffix


def transition_graph(table: pd.DataFrame, **graph_attributes: Any) -> Any:
    """A transition table as a networkx ``DiGraph`` (see the module docstring)."""
    import networkx as nx

    graph = nx.DiGraph(**graph_attributes)
    for label in pd.unique(pd.concat([table["from_state"], table["to_state"]])):
        graph.add_node(label, kind=state_kind(str(label)))
    for source, target, count, probability in zip(
        table["from_state"], table["to_state"], table["count"], table["probability"], strict=True
    ):
        graph.add_edge(source, target, count=float(count), probability=float(probability))
    return graph


def state_kind(label: str) -> str:
    """``start``, ``conversion``, ``null`` or ``channel``, from a state's label."""
    kinds = {START_LABEL: "start", CONVERSION_LABEL: "conversion", NULL_LABEL: "null"}
    return kinds.get(label, "channel")


def write_transitions(model: Markov, path: str | Path) -> None:
    """Write a fitted model's transitions: a table, or a GraphML DiGraph for ``.graphml``."""
    table = model.transition_table()
    if check_transitions_path(path) == ".graphml":
        import networkx as nx

        graph = transition_graph(table, order=model.order, repeats=model.repeats)
        write_atomically(path, lambda temporary: nx.write_graphml(graph, str(temporary)))
    else:
        write_table(table, path)
