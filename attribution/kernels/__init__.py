"""Compiled (numba) kernels over the journey substrate; each has a plain-Python
reference in the tests. Compiled code is cached on disk (``cache=True``).

Parallel kernels run on numba's OpenMP thread pool. Its threads wait for the next
parallel region asleep (``OMP_WAIT_POLICY=PASSIVE``, set here before the pool starts,
unless the environment already sets it): spinning threads took the cores from everything
else on the machine, from Dask workers on the same host, and from the pool's own threads
once the machine had other work, which made small parallel calls hundreds of times
slower (65 ms a call instead of 0.1 ms). ``OMP_WAIT_POLICY=ACTIVE`` in the environment
restores spinning.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
