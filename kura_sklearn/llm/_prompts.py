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


# --- cluster naming and the meta-cluster hierarchy -----------------------
# Data the answer is about goes last, inside the last tag pair.

NAME_CLUSTER_PROMPT = """\
You are naming one group of related conversations between users and an AI \
assistant. Below are summaries from neighbouring groups, which the name must \
NOT describe, and then summaries from inside the group.

Answer with:
- name: an imperative sentence of at most ten words that says what the users \
asked for, specific enough to set this group apart from its neighbours, e.g. \
"Debug Python list comprehensions" or "Plan budget trips around Europe".
- description: two sentences in the past tense on what the users in this group \
asked for and how they differ from the neighbouring groups.
Include no names, places or other details that could identify anyone.

<neighbours>
{contrastive}
</neighbours>

<group>
{examples}
</group>"""

PROPOSE_PARENTS_PROMPT = """\
Below are names and descriptions of clusters of conversations between users \
and an AI assistant, one neighbourhood of a larger set, and then the clusters \
just outside it, for context only. Propose about {n_parents} (between \
{min_parents} and {max_parents}) broader categories that together cover the \
clusters of the neighbourhood; each category should be able to hold several \
of them. The context clusters show where the neighbourhood ends: a category \
may also fit them, but need not cover them. Write each category as an \
imperative sentence of at most ten words, e.g. "Help with software development".

<context>
{context}
</context>

<clusters>
{children}
</clusters>"""

ASSIGN_PARENTS_PROMPT = """\
Assign each cluster below to the category that fits it best. Judge by what \
the cluster's conversations are about, not by words its name happens to share \
with a category. The categories, in no particular order:
<categories>
{parents}
</categories>

If no category fits a cluster, answer "None of these" for it: it will get a \
category of its own. First give your reasoning, then one category per cluster, \
using the cluster's id.

<clusters>
{children}
</clusters>"""

RENAME_PARENTS_PROMPT = """\
Each category below groups clusters of conversations between users and an AI \
assistant. For each category, write a name (an imperative sentence of at most \
ten words) and a two-sentence description that fit the clusters it now holds, \
using the category's key.

<categories>
{parents}
</categories>"""

DEDUPLICATE_PARENTS_PROMPT = """\
Below are names of broader categories for clusters of conversations between \
users and an AI assistant. They were proposed by several groups working \
separately, one neighbourhood of clusters each, so many of them say the same \
thing in different words. Merge them into about {n_parents} (between \
{min_parents} and {max_parents}) distinct categories that together cover \
everything the names cover: one name for each set of names that mean the \
same, and no two names that overlap. Keep the names as specific as the ones \
they replace. Write each as an imperative sentence of at most ten words.

<names>
{names}
</names>"""

#: The assignment's answer for a cluster that fits none of the categories.
NONE_OF_THESE = "None of these"

NAMING_PROMPTS = {
    "name_cluster": NAME_CLUSTER_PROMPT,
    "propose_parents": PROPOSE_PARENTS_PROMPT,
    "deduplicate_parents": DEDUPLICATE_PARENTS_PROMPT,
    "assign_parents": ASSIGN_PARENTS_PROMPT,
    "rename_parents": RENAME_PARENTS_PROMPT,
}
REQUIRED_PLACEHOLDERS.update(
    {
        "name_cluster": ("{examples}", "{contrastive}"),
        "propose_parents": ("{children}", "{max_parents}"),
        "deduplicate_parents": ("{names}", "{max_parents}"),
        "assign_parents": ("{children}", "{parents}"),
        "rename_parents": ("{parents}",),
    }
)
