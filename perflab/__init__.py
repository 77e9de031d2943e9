"""perflab: the measuring engine behind the handbook.

Pages ask for an experiment by id; perflab finds its example (a Python file or a Go
package), serves it from the on-disk cache or runs it in fresh, pinned subprocesses,
summarizes the samples and renders tables, charts, claims and provenance.
"""

from perflab.errors import PerflabError

__all__ = ["PerflabError"]
