"""The summarizer's default output: summary strings that remember their chat_ids."""

import numpy as np


class SummaryArray(np.ndarray):
    """1-D object array of summaries that keeps the chat_ids and the facets.

    What :class:`ConversationSummarizer` returns with the default output. It
    is a plain NumPy array to every consumer, but a
    :class:`~kura_sklearn.ConversationClusterer` after the summarizer in a
    Pipeline reads the chat_ids and facets from it, as it would from the
    pandas output; without it, ``Pipeline([("summarize",
    ConversationSummarizer()), ("cluster", ConversationClusterer())])``
    (or ``pipe.set_output(transform="default")``) would name conversations
    by position and lose the facets.

    Arrays derived from it (slices, copies, arithmetic) are plain summaries
    again: only the array the summarizer returned speaks for its rows. It
    pickles with its chat_ids (``Pipeline(memory=...)`` stores it).
    """

    def __new__(cls, summaries, chat_ids, facets):
        array = np.empty(len(summaries), dtype=object)
        array[:] = summaries
        self = array.view(cls)
        self._chat_ids = tuple(chat_ids)
        self._facets = {str(k): list(v) for k, v in facets.items()}
        return self

    def __array_finalize__(self, obj):
        # views, slices and results of operations carry no chat_ids: they
        # need not describe the same rows
        self._chat_ids = None
        self._facets = None

    def __reduce__(self):
        constructor, args, state = super().__reduce__()
        return constructor, args, (state, self._chat_ids, self._facets)

    def __setstate__(self, state):
        array_state, self._chat_ids, self._facets = state
        super().__setstate__(array_state)

    def __repr__(self):
        return repr(self.view(np.ndarray))

    def to_frame(self):
        """The summaries and facets as the pandas output, or None if unknown.

        Returns
        -------
        frame : pandas.DataFrame or None
            Indexed by ``chat_id``, with a ``summary`` column and one column
            per facet; None for a derived array, whose rows are unknown.
        """
        if self._chat_ids is None or len(self._chat_ids) != len(self):
            return None
        import pandas as pd

        columns = {"summary": list(self.view(np.ndarray))}
        columns.update(self._facets)
        index = pd.Index(list(self._chat_ids), name="chat_id")
        return pd.DataFrame(columns, index=index)
