"""The facets an LLM extracts from each conversation (Clio/Kura's schema)."""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..llm import (
    CONCERNING_RUBRIC,
    HUMAN_LANGUAGES_GUIDANCE,
    PROGRAMMING_LANGUAGES_GUIDANCE,
)
from ._language import split_languages


def _sentence(text):
    return text[0].upper() + text[1:] + "."


class ConversationSummary(BaseModel):
    """Privacy-preserving summary and facets of one conversation.

    Subclass it to ask the LLM for more fields; pass the subclass as
    ``ConversationSummarizer(schema=...)``. Field descriptions are sent to the
    model as part of the JSON schema and, for servers that only use the
    schema to constrain decoding, listed in the prompt: describe new fields
    well.

    ``languages`` holds human languages only and ``programming_languages``
    the languages of any code, both as lower-case names (``"english"``,
    ``"python"``, as the offline summarizer reports them): whatever form the
    model answers in (``"English"``, ``"en-US"``, ``"Español"``), the names are
    normalised when the answer is read, and a programming language the model
    lists among the human ones moves to ``programming_languages``.

    Examples
    --------
    >>> from pydantic import Field
    >>> from kura_sklearn import ConversationSummary
    >>> class WithSentiment(ConversationSummary):
    ...     sentiment: str = Field(description="positive, neutral or negative")
    >>> sorted(WithSentiment.model_fields)[:3]
    ['assistant_errors', 'concerning_score', 'languages']
    >>> ConversationSummary(summary="s", request="r", task="t",
    ...     languages=["Spanish", "Python"], concerning_score=1,
    ...     user_frustration=1, assistant_errors=[]).programming_languages
    ['python']
    """

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(
        description="One or two sentences, at most 40 words, on what the user "
        "wanted, with no personally identifying information."
    )
    request: str = Field(description="The user's overall request for the assistant.")
    task: str = Field(description="The task the assistant performed.")
    languages: list[str] = Field(description=_sentence(HUMAN_LANGUAGES_GUIDANCE))
    programming_languages: list[str] = Field(
        default_factory=list, description=_sentence(PROGRAMMING_LANGUAGES_GUIDANCE)
    )
    concerning_score: int = Field(ge=1, le=5, description=CONCERNING_RUBRIC)
    user_frustration: int = Field(
        ge=1, le=5, description="1 = content, 5 = extremely frustrated."
    )
    assistant_errors: list[str] = Field(
        description="Mistakes the assistant made; empty if none."
    )

    @model_validator(mode="after")
    def _normalise_languages(self):
        # full, lower-case names; code languages apart from human ones
        human, code = split_languages(self.languages, self.programming_languages)
        self.__dict__["languages"] = human
        self.__dict__["programming_languages"] = code
        return self
