"""A stand-in peer that is not installed."""

from __future__ import annotations

from benchmarks.peers.common import Job, PeerInfo, PeerModel

INFO = PeerInfo(
    name=__name__,
    label="missing peer",
    distribution="no-such-peer",
    import_name="no_such_peer_module",
    input="paths",
    setup="none",
    jobs=(Job("model", (PeerModel("model", "linear"),)),),
)
