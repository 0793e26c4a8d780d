"""Peer attribution libraries run side by side with this engine, on the same data.

One adapter module per peer (:mod:`~benchmarks.peers.channel_attribution`,
:mod:`~benchmarks.peers.mam2`, :mod:`~benchmarks.peers.mam1`,
:mod:`~benchmarks.peers.mta_models`) says which *jobs* the peer runs (one call of the
peer: ChannelAttribution's ``heuristic_models`` gives three models at once), which model
of this engine each job's models correspond to, and how to call the peer on its native
input. :mod:`~benchmarks.peers.inputs` converts the engine's journeys into those inputs
(parquet files: a path table, a session table or a journey table), so every peer sees
exactly the touches this engine credits.

Isolation (:mod:`~benchmarks.peers.runner`): each peer runs in a child process
(:mod:`~benchmarks.peers.child`) under ``sys.executable`` or another interpreter, with
its standard output discarded, a time limit per job, and its results written to a file
as each job ends. A peer that is not installed, raises, crashes or exceeds the limit
gets a status (``not installed``, ``failed: <error>``, ``timeout > N s``) instead of
numbers, and the later jobs still run in a new child.

Nothing in this package imports ``attribution`` except :mod:`~benchmarks.peers.inputs`
and :mod:`~benchmarks.peers.catalog`'s callers, so the child runs under an interpreter
that has only pandas, pyarrow and the peer (e.g. a pandas 2 environment for MAM 1.x).
"""
