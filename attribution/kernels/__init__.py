"""Compiled (numba) kernels over the journey substrate; each has a plain-Python
reference in the tests. Compiled code is cached on disk (``cache=True``)."""
