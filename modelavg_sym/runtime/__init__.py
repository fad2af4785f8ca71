"""Infrastructure with one home each, below every other layer.

* :mod:`~modelavg_sym.runtime.pool`: the process pool and :func:`parallel_map` (this
  process, local worker processes, or a Dask cluster; results in task order).
* :mod:`~modelavg_sym.runtime.progress`: the progress bar (rich, optional).
* :mod:`~modelavg_sym.runtime.atomic`: the atomic file write.
* :mod:`~modelavg_sym.runtime.store`: the content-hash keyed cache directory.

These modules import the standard library, optional third-party libraries (rich, dask
distributed) and :mod:`modelavg_sym.errors` only.
"""
