"""Prompt templates: data, not code.

Each template names its placeholders in braces and is filled with
``str.replace``, so braces elsewhere in a template (JSON examples) are safe.
Bump the version when a template's wording changes: caches key on it.
"""

#: Version of the prompts below; part of every cache key.
PROMPT_VERSION = "2026-11-24.1"

SUMMARY_PROMPT = """\
You are analysing a conversation between a user and an AI assistant, to learn \
what people use the assistant for, in aggregate. Describe it without any \
personally identifying information: no names, places, organisations, \
addresses, numbers or dates that could identify anyone.

Fill in every field of the answer:
- summary: one or two sentences, at most 40 words, describing what the user \
wanted, in English, in the third person.
- request: the user's overall request, starting with "The user's overall \
request for the assistant is to".
- task: the task the assistant performed, starting with "The task is to".
- languages: the human languages and programming languages used, as lower-case \
names (e.g. "english", "python").
- concerning_score: 1 (nothing concerning) to 5 (clear intent to cause serious \
harm to people or systems).
- user_frustration: 1 (content) to 5 (extremely frustrated with the assistant).
- assistant_errors: short descriptions of mistakes the assistant made; empty if \
none.
Describe fields added beyond these from their names and descriptions.

<conversation>
{conversation}
</conversation>"""

#: Placeholders each template must contain.
REQUIRED_PLACEHOLDERS = {"summary": ("{conversation}",)}


def fill(template, **values):
    """Replace ``{name}`` placeholders in ``template`` with ``values``."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template
