"""ConversationSummarizer: conversations in, summaries and facets out."""

import logging
import os
from numbers import Integral

import numpy as np
from pydantic import BaseModel
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..llm import (
    PROMPT_VERSION,
    SUMMARY_PROMPT,
    LLMSettings,
    ServerInStateMixin,
    cached_complete,
    fill,
)
from ..privacy import scrub_pii
from ..utils import (
    VersionStampMixin,
    check_conversations,
    is_one_shot,
    output_is_pandas,
    progress,
)
from ._extractive import extractive_summary
from ._output import SummaryArray
from ._schema import ConversationSummary

logger = logging.getLogger(__name__)

# a message is read up to 6,000 characters (_request.py); scrubbing a little
# beyond makes that cut fall after a placeholder, never inside an address
_SCRUB_CHARS = 6100


def _scrubbed(conversation):
    """``conversation`` with private information in its messages replaced.

    URLs are left to the extractive summary, which elides every one as
    ``[url]``.
    """
    messages = [
        m.model_copy(
            update={"content": scrub_pii(m.content[:_SCRUB_CHARS], skip={"url"})[0]}
        )
        for m in conversation.messages
    ]
    return conversation.model_copy(update={"messages": messages})


def _scrub_value(value):
    """A facet value with private information replaced in its strings."""
    if isinstance(value, str):
        return scrub_pii(value)[0]
    if isinstance(value, list):
        return [_scrub_value(v) for v in value]
    return value


def _user_id(conversation, key):
    value = conversation.metadata.get(key)
    return None if value is None else str(value)


def _extra_fields_text(schema):
    """Lines describing the fields ``schema`` adds to :class:`ConversationSummary`.

    Servers that use the JSON schema only to constrain decoding never show
    the model its descriptions, so the prompt lists each added field with
    its description (its name alone when it has none).
    """
    lines = []
    for name, field in schema.model_fields.items():
        if name in ConversationSummary.model_fields:
            continue
        description = " ".join((field.description or "").split())
        lines.append(f"- {name}: {description}" if description else f"- {name}")
    return "\n" + "\n".join(lines) if lines else ""


class ConversationSummarizer(
    ServerInStateMixin,
    VersionStampMixin,
    TransformerMixin,
    BaseEstimator,
    auto_wrap_output_keys=None,  # transform builds its own pandas output
):
    """Summarise each conversation, with an LLM or, offline, extractively.

    With ``model=None`` (the default) no model is called: the request is the
    user's substantive ask (the most informative sentences of the user's
    earliest turn that says something, greetings and thanks skipped), the
    summary is that request plus what the user's later turns add, and the
    languages are detected from the text; facets that need judgement are
    missing (see Notes). With ``model="openai/gpt-4o-mini"`` or any model name an
    OpenAI-compatible server knows, each conversation is sent to the LLM,
    which fills ``schema`` (Clio's facets by default) through JSON-schema
    structured output.

    The estimator is stateless: ``fit`` only validates, and ``transform``
    works on an unfitted instance, as in
    :class:`~sklearn.feature_extraction.text.HashingVectorizer`.

    Parameters
    ----------
    model : str, default=None
        ``None`` for the offline extractive mode, else the model name, with an
        optional provider prefix (``"openai/gpt-4o-mini"``, ``"llama3.1:8b"``;
        an unknown prefix is an error, see :func:`kura_sklearn.llm.make_backend`).
    llm : LLMSettings, default=None
        Server, key variable, sampling, concurrency, time-out, retries,
        token cap and structured-output form of the LLM calls (see
        :class:`kura_sklearn.llm.LLMSettings`); ``None`` uses the defaults.
        Grid search reaches each field as ``llm__temperature`` and so on.
    prompt : str, default=None
        Prompt template with a ``{conversation}`` placeholder, which receives
        the conversation as escaped ``<message>`` elements (see
        :meth:`Conversation.render_xml`), and optionally ``{extra_fields}``,
        which receives one line per field ``schema`` adds to
        :class:`ConversationSummary`, with its description. ``None`` uses
        :data:`kura_sklearn.llm.SUMMARY_PROMPT`.
    schema : subclass of pydantic.BaseModel, default=None
        Answer schema; must have a ``summary`` string field. ``None`` uses
        :class:`ConversationSummary`. Subclass it to add facets: each added
        field's description is sent in the JSON schema and listed in the
        prompt (for servers that only constrain decoding with the schema).
    max_chars : int, default=12000
        Character budget of the message text sent to the model (about 3,000
        tokens). Longer conversations keep their first two thirds and last
        third of the budget, with a ``<truncated/>`` element in between.
    on_error : {"raise", "fallback"}, default="fallback"
        What happens to a conversation whose summary still fails after every
        retry; the same policy as :class:`~kura_sklearn.naming.LLMNamer`'s.
        "fallback" gives it the offline extractive summary, marked
        ``"fallback"`` in the ``summary_source`` column (``"llm"``
        otherwise), logged as a warning and counted by
        :func:`kura_sklearn.llm.track_llm_usage`; fallbacks are not cached,
        so a later call asks the model again. "raise" raises
        :class:`kura_sklearn.llm.LLMBatchError` naming the failed chat_ids.
        A refused API key or an unknown model or URL raises under either
        policy.
    cache_dir : str or path, default=None
        Directory of the per-item cache. Each summary is stored as soon as it
        arrives, keyed by the conversation's text and every setting that
        changes the answer (model, server, prompt, schema, temperature, seed,
        structured output, budget, prompt version), never by chat_id. Later
        calls, in any process, only summarise what is new; identical
        conversations are summarised once. A ``redis://`` URL keeps it in a
        Redis server that several machines share. ``None`` caches nothing.
    scrub_pii : bool, default=True
        Replace private information by placeholders (``[EMAIL]``,
        ``[PHONE]``, ``[URL]``, ``[CARD]``, ``[IBAN]``, ``[IP]``,
        ``[NUMBER]``, ``[NAME]``) with :func:`kura_sklearn.privacy.scrub_pii`:
        offline, in the messages before they are summarised (so neither the
        summary nor the request, nor the keywords and names built from them,
        can quote it); with a model, in every text field of its answer (the
        prompt already asks for no private information; the conversation
        sent to the model is not changed, and the per-item cache keeps the
        model's answer as it came). What is removed is counted by
        :func:`kura_sklearn.privacy.track_pii_removed` (the CLI writes the
        counts to ``run.json``). See ``docs/privacy.md`` for what it finds
        and what it misses (names without a cue such as "my name is").
    user_id_key : str, default=None
        Metadata field of each conversation that identifies its user. When
        set, the output has a ``user_id`` column (``None`` where the field is
        missing), which :class:`~kura_sklearn.ConversationClusterer` counts
        for ``min_unique_users``. ``None`` adds no column.
    verbose : int, default=0
        0 is silent. Above 0, ``transform`` logs the start and end of
        summarising (logger ``kura_sklearn.summarization._summarizer``, INFO)
        and, when standard error is a terminal, shows a progress bar of the
        conversations done, their rate and the time left. Cached summaries
        count as done at once. Never part of the cache key.

    See Also
    --------
    kura_sklearn.ConversationSummary : The default answer schema.
    kura_sklearn.load_conversations : Read conversations from files and frames.

    Notes
    -----
    Offline mode reads the user's turns sentence by sentence. A sentence's
    information is the number of its content words (not grammar words, not
    pleasantries), each weighted by how many other messages use it; the
    request is the best sentence, discounted by its turn's position (the
    k-th user turn with content counts 1 / (1 + k)), with the other
    informative sentences of its turn. The summary adds the best sentence
    (same discount) of the other user turns if it says at least half as much
    and adds new words, so it equals the request when the rest of the
    conversation adds nothing. A conversation of greetings only is summarised by its
    greeting. Code blocks become ``[code]`` and URLs ``[url]``; both are cut
    at 300 characters, and only the first 6,000 characters of a message
    (40,000 of a conversation) are read, so a huge message costs no more
    than a long one.

    Offline mode fills ``summary``, ``request``, ``languages`` (human
    languages) and ``programming_languages`` (languages of code); ``task``,
    ``concerning_score``, ``user_frustration`` and ``assistant_errors`` are
    missing (``None``/NaN) because no model judged them. Both modes add
    ``n_messages`` and ``n_user_messages``.

    With an LLM, the DataFrame output has a ``summary_source`` column:
    ``"llm"``, or ``"fallback"`` for a conversation that failed after every
    retry and was summarised extractively (``on_error="fallback"``; with
    "raise", :class:`kura_sklearn.llm.LLMBatchError` names the failed
    chat_ids and keeps the summaries that succeeded in its ``results``).

    Examples
    --------
    >>> from kura_sklearn import Conversation, ConversationSummarizer
    >>> convs = [Conversation(chat_id="a", messages=[
    ...     {"role": "user", "content": "How do I sort a dict by value in Python?"},
    ...     {"role": "assistant", "content": "Use sorted(d.items(), key=...)."}])]
    >>> ConversationSummarizer().fit_transform(convs)
    array(['How do I sort a dict by value in Python?'], dtype=object)
    >>> frame = ConversationSummarizer().set_output(transform="pandas").transform(convs)
    >>> frame.loc["a", "languages"]
    ['english']
    """

    _parameter_constraints: dict = {
        "model": [str, None],
        "llm": [LLMSettings, None],
        "on_error": [StrOptions({"raise", "fallback"})],
        "prompt": [str, None],
        "schema": [type, None],
        "max_chars": [Interval(Integral, 200, None, closed="left")],
        "cache_dir": [str, os.PathLike, None],
        "scrub_pii": ["boolean"],
        "user_id_key": [str, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model=None,
        *,
        llm=None,
        prompt=None,
        schema=None,
        max_chars=12000,
        on_error="fallback",
        cache_dir=None,
        scrub_pii=True,
        user_id_key=None,
        verbose=0,
    ):
        self.model = model
        self.llm = llm
        self.prompt = prompt
        self.schema = schema
        self.max_chars = max_chars
        self.on_error = on_error
        self.cache_dir = cache_dir
        self.scrub_pii = scrub_pii
        self.user_id_key = user_id_key
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and the input; nothing is learned.

        Parameters
        ----------
        X : iterable of Conversation or dict, or DataFrame
            Conversations, as :func:`kura_sklearn.load_conversations` reads
            them. An iterator (a generator) is not read, so that
            ``transform`` (and ``fit_transform``) still sees every
            conversation, as with scikit-learn's ``HashingVectorizer``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            This estimator.
        """
        self._check_settings()
        if not is_one_shot(X):
            check_conversations(X)
        return self

    def transform(self, X):
        """Summarise each conversation.

        Parameters
        ----------
        X : iterable of Conversation or dict, or DataFrame
            Conversations.

        Returns
        -------
        summaries : ndarray of shape (n_conversations,) or DataFrame
            Summary strings, as a :class:`SummaryArray` (an object ndarray
            that also carries the chat_ids and facets, so that a
            :class:`ConversationClusterer` after it in a Pipeline reports
            both); with ``set_output(transform="pandas")`` a DataFrame of
            every facet, indexed by ``chat_id``.
        """
        self._validate_params()
        schema, prompt = self._check_settings()
        conversations = check_conversations(X)
        with progress(
            len(conversations),
            "Summarising",
            self.verbose,
            done="Summarised",
            unit="conv",
            noun="conversation",
            logger=logger,
        ) as bar:
            if self.model is None:
                rows = []
                for conv in conversations:
                    if self.scrub_pii:
                        conv = _scrubbed(conv)
                    rows.append(extractive_summary(conv))
                    bar.update(1)
            else:
                rows = self._summarize_with_llm(conversations, schema, prompt, bar)
                if self.scrub_pii:
                    rows = [
                        {name: _scrub_value(v) for name, v in row.items()}
                        for row in rows
                    ]
        for row, conv in zip(rows, conversations):
            row["n_messages"] = len(conv.messages)
            row["n_user_messages"] = sum(m.role == "user" for m in conv.messages)
            if self.user_id_key is not None:
                row["user_id"] = _user_id(conv, self.user_id_key)
        if output_is_pandas(self):
            import pandas as pd

            index = pd.Index([c.chat_id for c in conversations], name="chat_id")
            columns = self._columns(schema)
            return pd.DataFrame(rows, index=index, columns=columns)
        columns = self._columns(schema)  # a fallback row's too (on_error)
        return SummaryArray(
            [row["summary"] for row in rows],
            [c.chat_id for c in conversations],
            {
                name: [row.get(name) for row in rows]
                for name in columns
                if name != "summary"
            },
        )

    def set_output(self, *, transform=None):
        """Choose the output of ``transform``: ``"default"`` or ``"pandas"``.

        Parameters
        ----------
        transform : {"default", "pandas"}, default=None
            ``"pandas"`` returns a DataFrame of every facet, indexed by
            ``chat_id``. ``None`` leaves the configuration unchanged.

        Returns
        -------
        self : object
            This estimator.
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise ValueError(
                f"transform must be 'default' or 'pandas', got {transform!r}."
            )
        self._sklearn_output_config = {"transform": transform}
        return self

    def get_feature_names_out(self, input_features=None):
        """Columns of the pandas output: the schema's fields, then the counts.

        Parameters
        ----------
        input_features : None
            Ignored; present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``summary`` and the other facets (of :class:`ConversationSummary`
            offline, of ``schema`` with a model), then ``n_messages`` and
            ``n_user_messages``.
        """
        schema, _ = self._check_settings()
        return np.asarray(self._columns(schema), dtype=object)

    def _check_settings(self):
        schema = ConversationSummary if self.schema is None else self.schema
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise ValueError(
                f"schema must be a subclass of pydantic.BaseModel, got {schema!r}."
            )
        field = schema.model_fields.get("summary")
        if field is None or field.annotation is not str:
            raise ValueError(
                f"schema {schema.__name__} needs a 'summary' field of type str."
            )
        prompt = SUMMARY_PROMPT if self.prompt is None else self.prompt
        if "{conversation}" not in prompt:
            raise ValueError("prompt must contain the placeholder '{conversation}'.")
        if self.model is not None or self.llm is not None:
            (self.llm or LLMSettings()).check(self.model)
        return schema, prompt

    def _columns(self, schema):
        if self.model is None:
            names = list(ConversationSummary.model_fields)
        else:
            names = list(schema.model_fields) + ["summary_source"]
        names += ["n_messages", "n_user_messages"]
        return names + (["user_id"] if self.user_id_key is not None else [])

    def _summarize_with_llm(self, conversations, schema, prompt, bar=None):
        extra = _extra_fields_text(schema)
        prompts = [
            fill(prompt, conversation=c.render_xml(self.max_chars), extra_fields=extra)
            for c in conversations
        ]
        result, _ = cached_complete(
            self.llm,
            self.model,
            prompts,
            schema,
            kind="summary",  # the filled prompt holds the (truncated) conversation
            cache=self.cache_dir,
            ids=[c.chat_id for c in conversations],
            on_error=self.on_error,
            what="Summarisation",
            stage="summarize",
            progress=bar,
            count_fallbacks=True,
        )
        rows = [None if r is None else r.model_dump() for r in result.results]
        failed = [i for i, row in enumerate(rows) if row is None]
        out = []
        for conv, row in zip(conversations, rows):
            if row is None:  # on_error="fallback": the offline summary stands in
                row = {name: None for name in schema.model_fields}
                row.update(extractive_summary(conv))
                row["summary_source"] = "fallback"
            else:
                row = {**row, "summary_source": "llm"}
            out.append(row)
        if failed:
            logger.warning(
                "%d of %d conversations summarised extractively after LLM "
                "failures (on_error='fallback'); they are not cached, so the "
                "next call asks the model again",
                len(failed),
                len(rows),
            )
        return out

    def __getstate__(self):
        # Pipeline(memory=...) keys this step by its pickle: with a model,
        # the prompt version is part of it, so new prompts miss that cache
        # as they miss the per-item one
        state = super().__getstate__()
        if self.model is not None:
            state["_kura_sklearn_prompt_version"] = PROMPT_VERSION
        return state

    def __setstate__(self, state):
        state.pop("_kura_sklearn_prompt_version", None)
        super().__setstate__(state)

    def __sklearn_is_fitted__(self):
        return True  # stateless: transform needs no fit

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        tags.non_deterministic = self.model is not None
        return tags
