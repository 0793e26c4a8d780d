"""Run the attribution engine on a Dask cluster: the same models, exactly, on data that
outgrows one machine (:func:`attribute`; the design is in :mod:`attribution.dask.engine`).

Needs the ``dask`` extra (``pip install 'pipeline-attribution[dask]'``): ``dask[dataframe]``
and ``distributed``. ``import attribution`` never imports Dask; this package does.
"""

from __future__ import annotations

try:
    import dask.dataframe  # noqa: F401
    import distributed  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised without the extra only
    raise ImportError(
        "the Dask engine needs dask[dataframe] and distributed: "
        "pip install 'pipeline-attribution[dask]'"
    ) from error

from attribution.dask.engine import attribute, partition_journeys

__all__ = ["attribute", "partition_journeys"]
