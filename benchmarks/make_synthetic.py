"""Synthetic, varied, labelled conversation requests for scale benchmarks.

Made from topics x templates x slots in five languages, deterministic given a
seed. For measuring cost as the work grows, not quality: the texts are
plausible one-line requests, each labelled with its topic, so clusterings
can be scored against the labels (NMI) too.

As a script it writes a large embedding store for ``bench_million.py``::

    python benchmarks/make_synthetic.py --n 1000000 --out benchmarks/.cache/m1

which embeds ``--n-base`` distinct requests for real (all-MiniLM-L6-v2) and
builds each of the ``n`` rows as the vector of one of them (picked at random)
plus Gaussian noise, L2-normalised, written in chunks to a float32 ``.npy``
memmap, next to the topic labels and base indices. The text of row ``i`` is
``request_text(i)``: its base request with row-specific slot values (numbers
and names), so the texts differ while the vectors keep the base's structure.
"""

import argparse
import hashlib
import json
import math
import os
import time
from pathlib import Path

import numpy as np

# Each topic: its phrase per language. English has every topic; the other
# languages a translated subset. "{x}" slots take a value from SLOTS.
TOPICS = [
    {
        "en": "fix a pandas SettingWithCopyWarning in {lang} code",
        "es": "arreglar un aviso SettingWithCopyWarning de pandas",
        "fr": "corriger un avertissement SettingWithCopyWarning de pandas",
        "de": "eine SettingWithCopyWarning in pandas beheben",
        "pt": "corrigir um aviso SettingWithCopyWarning do pandas",
    },
    {
        "en": "speed up a slow loop over a {num} line log file",
        "es": "acelerar un bucle lento sobre un log de {num} líneas",
        "fr": "accélérer une boucle lente sur un journal de {num} lignes",
        "de": "eine langsame Schleife über eine Logdatei mit {num} Zeilen "
        "beschleunigen",
        "pt": "acelerar um laço lento num log de {num} linhas",
    },
    {
        "en": "write a SQL query that joins orders and customers by {field}",
        "es": "escribir una consulta SQL que una pedidos y clientes por {field}",
        "fr": "écrire une requête SQL qui joint commandes et clients par {field}",
        "de": "eine SQL-Abfrage schreiben, die Bestellungen und Kunden über {field} "
        "verknüpft",
        "pt": "escrever uma consulta SQL que junte pedidos e clientes por {field}",
    },
    {
        "en": "debug a segmentation fault in a {lang} extension",
        "es": "depurar un fallo de segmentación en una extensión de {lang}",
        "fr": "déboguer une erreur de segmentation dans une extension {lang}",
        "de": "einen Segmentation Fault in einer {lang}-Erweiterung debuggen",
        "pt": "depurar uma falha de segmentação numa extensão {lang}",
    },
    {
        "en": "set up a CI pipeline that runs {lang} tests on every push",
        "es": "configurar una integración continua que ejecute pruebas de {lang}",
        "fr": "mettre en place une intégration continue pour les tests {lang}",
        "de": "eine CI-Pipeline für {lang}-Tests bei jedem Push einrichten",
        "pt": "configurar uma pipeline de CI que rode testes de {lang}",
    },
    {
        "en": "plan a {num} day trip to {city} on a budget",
        "es": "planear un viaje de {num} días a {city} con poco dinero",
        "fr": "organiser un voyage de {num} jours à {city} à petit budget",
        "de": "eine günstige Reise von {num} Tagen nach {city} planen",
        "pt": "planejar uma viagem barata de {num} dias para {city}",
    },
    {
        "en": "write a cover letter for a {job} position",
        "es": "escribir una carta de presentación para un puesto de {job}",
        "fr": "rédiger une lettre de motivation pour un poste de {job}",
        "de": "ein Anschreiben für eine Stelle als {job} schreiben",
        "pt": "escrever uma carta de apresentação para uma vaga de {job}",
    },
    {
        "en": "return a laptop bought online {num} days ago",
        "es": "devolver un portátil comprado por internet hace {num} días",
        "fr": "retourner un ordinateur portable acheté en ligne il y a {num} jours",
        "de": "einen vor {num} Tagen online gekauften Laptop zurückgeben",
        "pt": "devolver um portátil comprado online há {num} dias",
    },
    {
        "en": "cook a vegetarian dinner for {num} people with {food}",
        "es": "cocinar una cena vegetariana para {num} personas con {food}",
        "fr": "cuisiner un dîner végétarien pour {num} personnes avec {food}",
        "de": "ein vegetarisches Abendessen für {num} Personen mit {food} kochen",
        "pt": "cozinhar um jantar vegetariano para {num} pessoas com {food}",
    },
    {
        "en": "start running at age {num} without getting injured",
        "es": "empezar a correr a los {num} años sin lesionarse",
        "fr": "commencer à courir à {num} ans sans se blesser",
        "de": "mit {num} Jahren mit dem Laufen anfangen, ohne sich zu verletzen",
        "pt": "começar a correr aos {num} anos sem se lesionar",
    },
    {
        "en": "understand a lease clause about the deposit in {city}",
        "es": "entender una cláusula del alquiler sobre la fianza en {city}",
        "fr": "comprendre une clause du bail sur le dépôt de garantie à {city}",
        "de": "eine Mietvertragsklausel zur Kaution in {city} verstehen",
        "pt": "entender uma cláusula do contrato sobre a caução em {city}",
    },
    {
        "en": "explain how compound interest grows {num} euros over ten years",
        "es": "explicar cómo crecen {num} euros con interés compuesto",
        "fr": "expliquer comment {num} euros grandissent avec les intérêts composés",
        "de": "erklären, wie {num} Euro mit Zinseszins wachsen",
        "pt": "explicar como {num} euros crescem com juros compostos",
    },
    {
        "en": "write a short poem about {thing} for a birthday card",
        "es": "escribir un poema corto sobre {thing} para una tarjeta",
        "fr": "écrire un court poème sur {thing} pour une carte d'anniversaire",
        "de": "ein kurzes Gedicht über {thing} für eine Geburtstagskarte schreiben",
        "pt": "escrever um poema curto sobre {thing} para um cartão",
    },
    {
        "en": "translate a business email about {thing} into {language}",
        "es": "traducir un correo de trabajo sobre {thing} al {language}",
        "fr": "traduire un courriel professionnel sur {thing} en {language}",
        "de": "eine geschäftliche E-Mail über {thing} ins {language} übersetzen",
        "pt": "traduzir um e-mail de trabalho sobre {thing} para {language}",
    },
    {
        "en": "prepare for a job interview as a {job}",
        "es": "prepararse para una entrevista de trabajo como {job}",
        "fr": "préparer un entretien d'embauche de {job}",
        "de": "sich auf ein Vorstellungsgespräch als {job} vorbereiten",
        "pt": "preparar-se para uma entrevista de emprego como {job}",
    },
    {
        "en": "fix an SSH connection timeout to a cloud server on port {port}",
        "es": "arreglar un tiempo de espera de SSH a un servidor en el puerto {port}",
        "fr": "résoudre un délai d'attente SSH vers un serveur sur le port {port}",
        "de": "ein SSH-Timeout zu einem Cloud-Server auf Port {port} beheben",
        "pt": "resolver um timeout de SSH para um servidor na porta {port}",
    },
    {"en": "train a {model} classifier on an imbalanced dataset"},
    {"en": "choose between {lang} and {lang2} for a new web backend"},
    {"en": "write unit tests for a {lang} function that parses dates"},
    {"en": "migrate a {db} database to a new server with no downtime"},
    {"en": "center a div with CSS in a {framework} app"},
    {"en": "fix a memory leak in a long running {lang} service"},
    {"en": "design a REST API for a {thing} rental shop"},
    {"en": "configure nginx as a reverse proxy on port {port}"},
    {"en": "write a bash script that backs up {num} folders every night"},
    {"en": "deploy a {framework} app with Docker Compose"},
    {"en": "explain the {num} most common git merge conflicts"},
    {"en": "improve the accuracy of a {model} model that overfits"},
    {"en": "plot a time series of {thing} sales with matplotlib"},
    {"en": "solve a quadratic equation with coefficients {num} and {num2}"},
    {"en": "explain a proof by induction for sums up to {num}"},
    {"en": "summarise a research paper about {science}"},
    {"en": "explain {science} to a {num} year old"},
    {"en": "write a wedding speech for my friend who loves {thing}"},
    {"en": "negotiate a salary of {num} thousand for a {job} role"},
    {"en": "deal with a coworker who takes credit for my {thing} project"},
    {"en": "make a {num} week workout plan to build strength"},
    {"en": "get better sleep after switching to night shifts as a {job}"},
    {"en": "care for a {pet} that stopped eating"},
    {"en": "grow {food} on a small balcony"},
    {"en": "write a fantasy story opening set in {city}"},
    {"en": "recommend {num} novels similar to ones about {thing}"},
    {"en": "learn {language} vocabulary for a trip to {city}"},
    {"en": "file taxes as a freelance {job} for the first time"},
    {"en": "dispute a wrong charge of {num} dollars on a credit card"},
    {"en": "write a product description for handmade {thing}"},
    {"en": "build a budget spreadsheet for a family of {num}"},
    {"en": "write a limerick about a {pet} that plays {thing}"},
]

SLOTS = {
    "lang": ["Python", "Rust", "Go", "Java", "C++", "TypeScript", "Ruby", "Kotlin"],
    "lang2": ["Node.js", "Elixir", "PHP", "Scala", "C#", "Swift"],
    "city": [
        "Lisbon",
        "Kyoto",
        "Madrid",
        "Berlin",
        "Montreal",
        "Lyon",
        "Porto",
        "Oaxaca",
        "Vienna",
        "Seoul",
    ],
    "job": [
        "nurse",
        "data analyst",
        "teacher",
        "software engineer",
        "chef",
        "accountant",
        "designer",
        "electrician",
    ],
    "food": [
        "lentils",
        "chickpeas",
        "tofu",
        "mushrooms",
        "aubergine",
        "spinach",
        "tomatoes",
        "peppers",
    ],
    "thing": [
        "the sea",
        "autumn",
        "coffee",
        "bicycles",
        "old maps",
        "jazz",
        "mountains",
        "chess",
        "robots",
        "gardens",
    ],
    "language": ["Japanese", "German", "Portuguese", "Italian", "Korean", "Spanish"],
    "field": ["customer id", "email", "order date", "region"],
    "model": [
        "random forest",
        "logistic regression",
        "gradient boosting",
        "neural network",
    ],
    "db": ["PostgreSQL", "MySQL", "MongoDB", "SQLite"],
    "framework": ["React", "Django", "Flask", "Vue", "Rails", "Next.js"],
    "science": [
        "black holes",
        "photosynthesis",
        "CRISPR",
        "plate tectonics",
        "quantum entanglement",
        "vaccines",
    ],
    "pet": ["cat", "dog", "rabbit", "parrot", "hamster"],
    "who": [
        "a school project",
        "my manager",
        "my grandmother",
        "a client",
        "a hackathon",
        "my own blog",
    ],
}

TEMPLATES = {
    "en": [
        "The user's overall request for the assistant is to {topic}.",
        "The user asks for help to {topic}, {extra}.",
        "The user wants to {topic} and asks for {extra}.",
        "Help me {topic}, {extra}.",
        "The user needs to {topic}; they ask for {extra}.",
        "Can you {topic}? I need {extra}.",
    ],
    "es": [
        "El usuario quiere {topic}.",
        "¿Me ayudas a {topic}? Necesito {extra}.",
        "El usuario pide ayuda para {topic}, {extra}.",
    ],
    "fr": [
        "L'utilisateur veut {topic}.",
        "Peux-tu m'aider à {topic} ? J'ai besoin de {extra}.",
        "L'utilisateur demande de l'aide pour {topic}, {extra}.",
    ],
    "de": [
        "Der Nutzer möchte {topic}.",
        "Kannst du mir helfen, {topic}? Ich brauche {extra}.",
        "Der Nutzer bittet um Hilfe: {topic}, {extra}.",
    ],
    "pt": [
        "O usuário quer {topic}.",
        "Pode me ajudar a {topic}? Preciso de {extra}.",
        "O usuário pede ajuda para {topic}, {extra}.",
    ],
}

EXTRAS = {
    "en": [
        "step by step",
        "a short answer",
        "examples",
        "a simple explanation",
        "a checklist",
        "something that works today",
        "a friendly tone",
        "options to compare",
    ],
    "es": ["paso a paso", "ejemplos", "una respuesta corta", "algo sencillo"],
    "fr": ["étape par étape", "des exemples", "une réponse courte", "simplicité"],
    "de": ["Schritt für Schritt", "Beispiele", "eine kurze Antwort", "Einfachheit"],
    "pt": ["passo a passo", "exemplos", "uma resposta curta", "algo simples"],
}

# Optional last sentence, per language (slot values make most texts distinct).
SUFFIXES = {
    "en": [
        "",
        " It is for {who}.",
        " They tried for {num} minutes already.",
        " The deadline is in {num2} days.",
        " This is urgent.",
    ],
    "es": ["", " Es para {num2} personas.", " Lo intenté {num2} veces."],
    "fr": ["", " C'est pour {num2} personnes.", " J'ai essayé {num2} fois."],
    "de": ["", " Es ist für {num2} Personen.", " Ich habe es {num2} Mal versucht."],
    "pt": ["", " É para {num2} pessoas.", " Tentei {num2} vezes."],
}

#: Share of each language among the requests.
LANGUAGE_WEIGHTS = {"en": 0.6, "es": 0.1, "fr": 0.1, "de": 0.1, "pt": 0.1}
LANGUAGES = list(LANGUAGE_WEIGHTS)

ASSISTANT_REPLIES = [
    "Here is a step-by-step answer with the main options and their trade-offs.",
    "Sure. First check the basics, then try the fix below and tell me the result.",
    "Good question: the short version is below, with an example.",
]


def _fill(template, rng):
    out = template
    for name, values in SLOTS.items():
        key = "{" + name + "}"
        while key in out:
            out = out.replace(key, str(values[rng.randrange(len(values))]), 1)
    while "{num}" in out:
        out = out.replace("{num}", str(rng.randrange(2, 500)), 1)
    while "{num2}" in out:
        out = out.replace("{num2}", str(rng.randrange(2, 50)), 1)
    while "{port}" in out:
        out = out.replace("{port}", str(rng.randrange(1024, 9000)), 1)
    return out


def _pick_language(rng, topic):
    """A language in proportion to LANGUAGE_WEIGHTS among those the topic has."""
    langs = [lang for lang in LANGUAGES if lang in topic]
    weights = [LANGUAGE_WEIGHTS[lang] for lang in langs]
    x = rng.random() * sum(weights)
    for lang, w in zip(langs, weights):
        x -= w
        if x < 0:
            return lang
    return langs[-1]


def request_text(i, seed=0, base=None):
    """Request number ``i``: (text, topic label, language), deterministic.

    With ``base`` (an int), the topic, language and template of base request
    ``base`` are kept and only the slot values come from ``i``: the row of a
    large store built around an embedded base request.
    """
    import random

    shape_rng = random.Random(f"{seed}-shape-{i if base is None else base}")
    topic_id = shape_rng.randrange(len(TOPICS))
    topic = TOPICS[topic_id]
    lang = _pick_language(shape_rng, topic)
    template = TEMPLATES[lang][shape_rng.randrange(len(TEMPLATES[lang]))]
    extra = EXTRAS[lang][shape_rng.randrange(len(EXTRAS[lang]))]
    slot_rng = random.Random(f"{seed}-slots-{i}")
    suffixes = SUFFIXES[lang]
    suffix = _fill(suffixes[slot_rng.randrange(len(suffixes))], slot_rng)
    text = template.format(topic=_fill(topic[lang], slot_rng), extra=extra) + suffix
    return text, topic_id, lang


def make_requests(n, seed=0):
    """``n`` requests: lists of texts, topic labels and languages."""
    rows = [request_text(i, seed) for i in range(n)]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def make_conversations(n, seed=0):
    """``n`` two-message conversations (as dicts) built on ``make_requests``."""
    texts, _, _ = make_requests(n, seed)
    return [
        {
            "chat_id": f"syn-{i:07d}",
            "messages": [
                {"role": "user", "content": text},
                {"role": "assistant", "content": ASSISTANT_REPLIES[i % 3]},
            ],
        }
        for i, text in enumerate(texts)
    ]


def embed_texts(texts, cache_dir=None, batch_size=64):
    """all-MiniLM-L6-v2 float32 embeddings of ``texts``, cached on disk by content.

    Returns the embeddings and the seconds spent embedding (0.0 on a cache hit).
    """
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"emb-{len(texts)}-{digest}.npy" if cache_dir else None
    if path is not None and path.exists():
        return np.load(path, mmap_mode="r"), 0.0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from kura_sklearn import SentenceTransformerEmbedder

    started = time.perf_counter()
    X = SentenceTransformerEmbedder(batch_size=batch_size).transform(texts)
    seconds = time.perf_counter() - started
    X = np.ascontiguousarray(X, dtype=np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, X)
    return X, seconds


def write_embedding_store(
    n, out, *, n_base=4000, noise=0.5, seed=0, chunk_size=65536, cache_dir=None
):
    """Write ``n`` structured embeddings to ``out/embeddings.npy`` in chunks.

    ``n_base`` distinct requests are embedded for real; row ``i`` is the
    vector of base ``b_i`` (uniform at random) plus N(0, noise^2 / d) noise
    per dimension, L2-normalised (cosine to its base about
    ``1 / sqrt(1 + noise^2)``, 0.89 for 0.5). Also writes ``labels.npy``
    (topic of each row), ``bases.npy`` (``b_i``) and ``meta.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base_texts, base_labels, _ = make_requests(n_base, seed)
    base_vectors, embed_seconds = embed_texts(base_texts, cache_dir or out)
    base_vectors = np.asarray(base_vectors, dtype=np.float32)
    d = base_vectors.shape[1]
    rng = np.random.default_rng(seed)
    store = np.lib.format.open_memmap(
        out / "embeddings.npy", mode="w+", dtype=np.float32, shape=(n, d)
    )
    bases = rng.integers(n_base, size=n).astype(np.int32)
    started = time.perf_counter()
    for start in range(0, n, chunk_size):
        b = bases[start : start + chunk_size]
        rows = base_vectors[b] + rng.standard_normal(
            (len(b), d), dtype=np.float32
        ) * np.float32(noise / math.sqrt(d))
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        store[start : start + len(b)] = rows
    store.flush()
    del store
    np.save(out / "labels.npy", np.asarray(base_labels, dtype=np.int32)[bases])
    np.save(out / "bases.npy", bases)
    meta = {
        "n": n,
        "n_base": n_base,
        "noise": noise,
        "seed": seed,
        "dim": d,
        "base_embed_seconds": round(embed_seconds, 2),
        "write_seconds": round(time.perf_counter() - started, 2),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    return meta


def store_texts(out, limit=None):
    """The texts of the rows (the first ``limit``) of a ``write_embedding_store``."""
    out = Path(out)
    meta = json.loads((out / "meta.json").read_text())
    bases = np.load(out / "bases.npy", mmap_mode="r")[:limit]
    return [request_text(i, meta["seed"], base=int(b))[0] for i, b in enumerate(bases)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--n-base", type=int, default=4000)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/.cache/million")
    parser.add_argument("--show", type=int, default=0, help="print N sample requests")
    args = parser.parse_args()
    if args.show:
        for text, label, lang in zip(*make_requests(args.show, args.seed)):
            print(f"[{lang} topic {label}] {text}")
        return
    meta = write_embedding_store(
        args.n, args.out, n_base=args.n_base, noise=args.noise, seed=args.seed
    )
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
