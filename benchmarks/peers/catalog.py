"""The peers, by name, in the order they are reported."""

from __future__ import annotations

import argparse
from types import ModuleType

from benchmarks.peers import channel_attribution, mam1, mam2, mta_models
from benchmarks.peers.common import PeerInfo

#: Adapter modules by peer name.
ADAPTERS: dict[str, ModuleType] = {
    module.INFO.name: module for module in (channel_attribution, mam2, mam1, mta_models)
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
