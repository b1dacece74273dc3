"""Progress bars and stage log lines for the long stages, silent by default.

Every long stage (summarising, embedding, naming, each hierarchy level) runs
inside :func:`progress`. With ``verbose=0`` it does nothing at all. With
``verbose>0`` it

* logs one INFO line when the stage starts and one when it ends, through
  :mod:`logging` (so they appear once the application configures logging,
  e.g. ``logging.basicConfig(level=logging.INFO)``), and
* draws a tqdm bar (items done, rate, elapsed and ETA) on standard error, but
  only when standard error is interactive: a terminal or a Jupyter kernel.
  Redirected to a file or a CI log, no bar is drawn, as with tqdm's
  ``disable=None``.

``update`` may be called from another thread (LLM answers arrive on the
background event-loop thread): it takes a lock.

tqdm is imported only when a bar is drawn, so ``import kura_sklearn`` stays
light.
"""

import logging
import os
import sys
import threading
import time

_logger = logging.getLogger(__name__)


def _stderr_is_interactive():
    stream = sys.stderr
    if stream is None:
        return False
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
    # Jupyter and IPython kernels render carriage returns: a bar works there
    # although their streams are no TTY.
    return type(stream).__module__.startswith("ipykernel")


def _stderr_has_size():
    """Whether the terminal reports its size (a fresh pseudo-terminal says 0x0)."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return size.columns > 0 and size.lines > 0


def _plural(noun, n):
    return noun if n == 1 or noun.endswith("s") else noun + "s"


def _format_rate(n, seconds):
    if seconds <= 0 or n == 0:
        return ""
    rate = n / seconds
    return f" ({rate:.3g}/s)" if rate < 100 else f" ({rate:.0f}/s)"


class _NoProgress:
    """What :func:`progress` returns for ``verbose=0``: every method does nothing."""

    n = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def update(self, n=1):
        pass

    def close(self):
        pass


_NO_PROGRESS = _NoProgress()


class _Progress:
    """A stage: two log lines, and a tqdm bar when standard error is interactive."""

    def __init__(self, total, desc, *, done, unit, noun, logger, start):
        self.total = total
        self.desc = desc
        self.start = start
        self.done = done
        self.unit = unit
        self.noun = noun
        self.logger = logger
        self.n = 0
        self._lock = threading.Lock()
        self._bar = None
        self._start = None

    def __enter__(self):
        self._start = time.perf_counter()
        if self.start is not None:
            self.logger.info("%s", self.start)
        elif self.total is None:
            self.logger.info("%s", self.desc)
        else:
            self.logger.info(
                "%s %d %s", self.desc, self.total, _plural(self.noun, self.total)
            )
        if self.total is not None and _stderr_is_interactive():
            from tqdm.std import tqdm

            # follow the terminal's size; tqdm draws nothing on a terminal of
            # size 0x0, so that one is taken for 80x24
            if _stderr_has_size():
                shape = {"dynamic_ncols": True}
            else:
                shape = {"ncols": 80, "nrows": 24}
            self._bar = tqdm(
                total=self.total,
                desc=self.desc,
                unit=self.unit,
                file=sys.stderr,
                leave=True,
                **shape,
            )
        return self

    def update(self, n=1):
        """Count ``n`` more items as done (safe from any thread)."""
        with self._lock:
            self.n += n
            if self._bar is not None:
                self._bar.update(n)

    def close(self):
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def __exit__(self, exc_type, exc, tb):
        self.close()
        elapsed = time.perf_counter() - self._start
        noun = _plural(self.noun, self.n)
        if exc_type is not None:
            of = "" if self.total is None else f" of {self.total}"
            self.logger.info(
                "%s stopped after %d%s %s (%s)",
                self.desc,
                self.n,
                of,
                noun,
                exc_type.__name__,
            )
        elif self.total is None and self.n == 0:
            self.logger.info("%s in %.1f s", self.done, elapsed)
        else:
            self.logger.info(
                "%s %d %s in %.1f s%s",
                self.done,
                self.n,
                noun,
                elapsed,
                _format_rate(self.n, elapsed),
            )
        return False


def progress(
    total,
    desc,
    verbose,
    *,
    done=None,
    unit="it",
    noun="item",
    start=None,
    logger=None,
):
    """A context manager that shows and logs the progress of one stage.

    Parameters
    ----------
    total : int or None
        Items the stage will process. None for a stage that counts nothing:
        it only logs its start and its duration, with no bar.
    desc : str
        What the stage does, as a present participle: ``"Summarising"``. It
        starts the bar and the first log line ("Summarising 300
        conversations").
    verbose : int or bool
        0 or False: do nothing. Above 0: log the start and end of the stage at
        INFO level and, when standard error is interactive, draw a bar.
    done : str, default=None
        Past participle for the last log line ("Summarised 300 conversations
        in 1.2 s (250/s)"); ``desc`` when None.
    unit : str, default="it"
        Unit shown by the bar's rate ("conv/s").
    noun : str, default="item"
        Singular noun of the log lines ("conversation").
    start : str, default=None
        The first log line, instead of "<desc> <total> <nouns>".
    logger : logging.Logger, default=None
        Where the lines go; this module's logger when None.

    Returns
    -------
    progress : context manager
        Its ``update(n=1)`` counts items as done, from any thread.

    Examples
    --------
    >>> from kura_sklearn.utils._progress import progress
    >>> with progress(3, "Counting", verbose=0) as bar:
    ...     for _ in range(3):
    ...         bar.update(1)
    """
    if not verbose:
        return _NO_PROGRESS
    return _Progress(
        total,
        desc,
        done=done or desc,
        unit=unit,
        noun=noun,
        logger=logger or _logger,
        start=start,
    )
