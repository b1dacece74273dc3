"""The facets an LLM extracts from each conversation (Clio/Kura's schema)."""

from pydantic import BaseModel, ConfigDict, Field


class ConversationSummary(BaseModel):
    """Privacy-preserving summary and facets of one conversation.

    Subclass it to ask the LLM for more fields; pass the subclass as
    ``ConversationSummarizer(schema=...)``. Field descriptions are sent to the
    model as part of the JSON schema, so describe new fields well.

    Examples
    --------
    >>> from pydantic import Field
    >>> from kura_sklearn import ConversationSummary
    >>> class WithSentiment(ConversationSummary):
    ...     sentiment: str = Field(description="positive, neutral or negative")
    >>> sorted(WithSentiment.model_fields)[:3]
    ['assistant_errors', 'concerning_score', 'languages']
    """

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(
        description="One or two sentences, at most 40 words, on what the user "
        "wanted, with no personally identifying information."
    )
    request: str = Field(description="The user's overall request for the assistant.")
    task: str = Field(description="The task the assistant performed.")
    languages: list[str] = Field(
        description="Human and programming languages used, lower-case names."
    )
    concerning_score: int = Field(
        ge=1, le=5, description="1 = nothing concerning, 5 = clearly harmful."
    )
    user_frustration: int = Field(
        ge=1, le=5, description="1 = content, 5 = extremely frustrated."
    )
    assistant_errors: list[str] = Field(
        description="Mistakes the assistant made; empty if none."
    )
