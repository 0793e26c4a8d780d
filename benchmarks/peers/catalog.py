"""The peers, by name, in the order they are reported."""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType

from benchmarks.peers.common import ADAPTER_MODULES, PeerInfo

#: Adapter modules by peer name.
ADAPTERS: dict[str, ModuleType] = {
    name: importlib.import_module(module) for name, module in ADAPTER_MODULES.items()
}

#: Peer descriptions by name.
PEERS: dict[str, PeerInfo] = {name: module.INFO for name, module in ADAPTERS.items()}


def peer_names(parser: argparse.ArgumentParser, text: str) -> list[str]:
    """The comma-separated peer names of a ``--peers`` option; unknown names exit with usage."""
    names = [name for name in text.split(",") if name]
    unknown = sorted(set(names) - set(PEERS))
    if unknown:
        parser.error(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}")
    return names
