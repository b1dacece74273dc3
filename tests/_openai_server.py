"""A real, local, OpenAI-compatible HTTP server for tests and benchmarks.

``FakeOpenAIServer`` speaks the OpenAI wire format over real HTTP on
127.0.0.1, so the official ``openai`` client (and anything built on it) can
be exercised end to end without a network, an API key or a model:

* ``POST /v1/chat/completions`` answers a standard ChatCompletion. With a
  ``json_schema`` response format the message content is a JSON instance of
  that schema, generated deterministically from the prompt (the same request
  gives the same answer in any process); strings are made from the content
  words of the last user message (of its last ``<tag>...</tag>`` pair when it
  has one), so answers visibly follow the conversation. A request with
  ``tools`` (as instructor's default TOOLS mode sends) is answered with one
  tool call to the chosen function, its arguments an instance of the
  function's ``parameters`` schema, made the same way.
* With the ``choice_tag`` setting (e.g. ``"option"``, or a list of tag
  names), a prompt that lists ``<option>...</option>`` elements gets every
  free-text string chosen from those elements, as a model told to pick one
  of them would answer; an array of free-text strings gets several distinct
  ones (about the middle of its ``minItems``..``maxItems``, each sharing as
  few words as it can with those before it), as a model asked for "about N
  names" that cover what it was shown would answer.
* With ``match_words``, an enum answers the option sharing most content
  words (leaving out words every other option has) with the prompt's element whose
  ``id`` attribute is the property's name (``<cluster id="cluster_3">``),
  else with the last tag pair; when no option shares a word, the option
  saying "none" if there is one: a model matching items to categories, with
  "None of these" for an outlier.
* With ``record_requests``, every chat request's JSON body and the answer's
  content are kept (``requests()``), so tests can check what was asked.
* ``POST /v1/embeddings`` answers feature-hashed bag-of-words vectors
  (unit norm, deterministic; texts sharing words have cosine > 0), as
  ``float`` lists or as ``base64`` little-endian float32 (the client default).
* ``GET /v1/models`` lists a couple of model ids.

Faults can be injected (429, 500, a slow "timeout" answer, malformed JSON
content, a status-200 body cut off mid-JSON, a connection dropped before any
answer, a 401 whose message echoes the key it was sent), at a seeded random
rate or always for requests whose body holds a marker, and a latency can be
added to every answer. ``stats()`` counts what
the server saw, including the highest number of requests handled at once;
``chat_requests()`` returns the chat requests themselves (their JSON bodies,
in arrival order), so tests can check the prompts a client sent.
``script_answer(marker, contents)`` makes the next requests whose body holds
``marker`` get the given message contents, one each, before the usual answer
resumes (a model that first answers out of bounds, then within them).

Every API request needs an ``Authorization: Bearer <anything non-empty>``
header (the key is neither stored nor logged; only the "401" fault sends it
back, as some servers and proxies do, to test that clients hide it). The
server is driven in process through ``configure()``, ``reset()`` and
``stats()``, or from another process over HTTP: ``POST /_control/config``
(JSON settings), ``POST /_control/reset`` and ``GET /_control/stats``.
Control requests need no key and are not counted in the stats.

Standalone, in the foreground (for benchmarks)::

    python tests/_openai_server.py --port 8765 --latency 0.1

Only the Python standard library is used.

>>> content_words("<conversation>User: How do I bake sourdough bread?</conversation>")
['user', 'bake', 'sourdough', 'bread']
>>> schema = {"type": "object", "properties": {"n": {"type": "integer",
...           "minimum": 1, "maximum": 3}, "topic_name": {"type": "string"}}}
>>> answer = instance_for_schema(schema, "Tell me about tidal energy")
>>> answer["topic_name"], 1 <= answer["n"] <= 3
('Topic name: tell tidal energy', True)
"""

import argparse
import base64
import hashlib
import json
import math
import random
import re
import socket
import socketserver
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_FAULT_KINDS",
    "DEFAULT_SETTINGS",
    "FAULT_KINDS",
    "TEST_KEY_ENV",
    "FakeOpenAIServer",
    "content_words",
    "embed_text",
    "instance_for_schema",
    "tagged_choices",
]

#: Environment variable that the test fixtures fill with a dummy API key.
TEST_KEY_ENV = "KURA_SKLEARN_TEST_KEY"

#: Every kind of fault the server can inject. "truncated_body" answers 200
#: with the first half of the JSON body (its Content-Length matching what is
#: sent, as a proxy or a server dying mid-answer leaves it);
#: "dropped_connection" closes the connection without any answer; "401"
#: rejects the key with a message that repeats it.
FAULT_KINDS = (
    "429",
    "500",
    "timeout",
    "malformed_json",
    "truncated_body",
    "dropped_connection",
    "401",
)

#: The kinds a random fault is drawn from unless ``fault_kinds`` says otherwise.
DEFAULT_FAULT_KINDS = ("429", "500", "timeout", "malformed_json")

#: Settings of a fresh (or reset) server; see ``FakeOpenAIServer.configure``.
DEFAULT_SETTINGS = {
    "latency": 0.0,
    "fault_rate": 0.0,
    "fault_kinds": DEFAULT_FAULT_KINDS,
    "timeout_seconds": 30.0,
    "permanent_fault_marker": None,
    "permanent_fault_kind": "500",
    "seed": 0,
    "embedding_dimensions": 64,
    "choice_tag": None,
    "match_words": False,
    "record_requests": False,
}

CHAT_MODEL = "fake-chat-model"
EMBEDDING_MODEL = "fake-embedding-model"
MODEL_IDS = (CHAT_MODEL, EMBEDDING_MODEL, "gpt-4o-mini", "text-embedding-3-small")

_MAX_DEPTH = 8  # recursion guard for self-referencing schemas
#: Chat requests kept by ``FakeOpenAIServer.chat_requests()``.
_MAX_RECORDED = 10_000
_MAX_DIMENSIONS = 16384

# --------------------------------------------------------------------------
# Deterministic content
# --------------------------------------------------------------------------

_STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be
    because been before being below between both but by can could did do does
    doing down during each few for from further had has have having he her
    here hers him his how if in into is it its just let me more most my no nor
    not now of off on once only or other our ours out over own please same she
    should so some such than that the their theirs them then there these they
    this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours
""".split()
)

_TAG_PAIR = re.compile(r"<([A-Za-z_][\w.:-]*)(?:\s[^<>]*)?>(.*?)</\1\s*>", re.DOTALL)
_LETTER_WORD = re.compile(r"[^\W\d_]{3,}")
_EMBED_WORD = re.compile(r"\w+")
_ANY_WORD = re.compile(r"\S+")


def _digest(*parts):
    """Stable 64-bit integer from strings (never Python's salted ``hash``)."""
    data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def _focus_text(text):
    """Inner text of the last ``<tag>...</tag>`` pair, else the whole text."""
    pairs = list(_TAG_PAIR.finditer(text))
    return pairs[-1].group(2) if pairs else text


def content_words(text, limit=8):
    """First ``limit`` distinct content words of ``text``, lowercased.

    Words are runs of 3+ letters (any script) outside a small English stop
    list, taken from the last ``<tag>...</tag>`` pair when there is one.
    """
    words = []
    for word in _LETTER_WORD.findall(_focus_text(text)):
        word = word.lower()
        if word not in _STOP_WORDS and word not in words:
            words.append(word)
            if len(words) == limit:
                break
    return words


def _title(name):
    title = (name or "Answer").replace("_", " ").strip() or "Answer"
    return title[:1].upper() + title[1:]


class _Generator:
    """Builds a schema instance; every choice hashes (prompt, JSON path)."""

    def __init__(self, root, prompt, words, choices=(), match_words=False):
        self.root = root
        self.prompt = prompt
        self.words = words
        self.choices = list(choices)
        self.match_words = match_words

    def _h(self, path):
        return _digest(self.prompt, path)

    def resolve(self, schema):
        for _ in range(64):
            if not isinstance(schema, dict) or "$ref" not in schema:
                return schema
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise ValueError(f"unsupported $ref {ref!r}: only local references")
            node = self.root
            for part in ref[1:].split("/"):
                if part:
                    node = node[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**node, **siblings} if isinstance(node, dict) else node
        raise ValueError("$ref chain too long")

    @staticmethod
    def _is_null(schema):
        if not isinstance(schema, dict):
            return False
        kind = schema.get("type")
        return (
            kind == "null"
            or kind == ["null"]
            or ("const" in schema and schema["const"] is None)
            or schema.get("enum") == [None]
        )

    def generate(self, schema, path="$", name=None, depth=0):
        schema = self.resolve(schema)
        if schema is True or not isinstance(schema, dict):
            return self.string({}, path, name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if self.match_words and len(options) > 1:
                return self.matching_option(options, path, name)
            return options[self._h(path) % len(options)] if options else None
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                options = [self.resolve(o) for o in schema[key]]
                non_null = [o for o in options if not self._is_null(o)]
                nulls = [o for o in options if self._is_null(o)]
                if depth >= _MAX_DEPTH and nulls:
                    pick = nulls[0]
                else:
                    pick = non_null[0] if non_null else options[0]
                base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
                merged = {**base, **pick} if isinstance(pick, dict) else pick
                return self.generate(merged, path, name, depth + 1)
        if schema.get("allOf"):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part)
                if isinstance(part, dict):
                    props = {
                        **merged.get("properties", {}),
                        **part.get("properties", {}),
                    }
                    merged.update(part)
                    if props:
                        merged["properties"] = props
            return self.generate(merged, path, name, depth + 1)

        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            kind = non_null[0] if non_null else "null"
        if kind is None:
            if "properties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"

        if kind == "object":
            return {
                prop: self.generate(sub, f"{path}.{prop}", prop, depth + 1)
                for prop, sub in (schema.get("properties") or {}).items()
            }
        if kind == "array":
            return self.array(schema, path, name, depth)
        if kind == "integer":
            return self.integer(schema, path)
        if kind == "number":
            return self.number(schema, path)
        if kind == "boolean":
            return self._h(path) % 2 == 0
        if kind == "null":
            return None
        return self.string(schema, path, name)

    def matching_option(self, options, path, name):
        """The option sharing most distinctive words with the item asked about."""
        focus = _element_by_id(self.prompt, name) if name else None
        words = set(content_words(focus if focus is not None else self.prompt, 64))
        option_words = [set(content_words(str(o), 64)) for o in options]
        real = [w for o, w in zip(options, option_words) if not _says_none(o)]
        common = set.intersection(*real) if len(real) > 1 else set()
        scores = [len((w - common) & words) for w in option_words]
        best = max(scores)
        if best == 0:
            nones = [o for o in options if _says_none(o)]
            if nones:
                return nones[0]
        tied = [o for o, score in zip(options, scores) if score == best]
        return tied[self._h(path) % len(tied)]

    def distinct_choices(self, schema, path, min_items):
        """Distinct choices for an array of free-text strings, hash-ordered."""
        most = int(schema.get("maxItems", max(min_items, 3)))
        about = max(min_items, min(most, math.ceil((min_items + most) / 2)))
        # diverse picks, as a model asked to cover everything it was shown:
        # the first by hash, then each time the one sharing fewest words with
        # those already picked
        pool = sorted(self.choices, key=lambda c: _digest(self.prompt, path, c))
        picks, seen = [], set()
        while pool and len(picks) < about:
            best = min(pool, key=lambda c: len(set(content_words(c, 64)) & seen))
            pool.remove(best)
            picks.append(best)
            seen |= set(content_words(best, 64))
        while len(picks) < min_items:  # fewer choices than asked: made up
            picks.append(
                f"{self.string({}, f'{path}[{len(picks)}]', None)} {len(picks)}"
            )
        return picks

    def array(self, schema, path, name, depth):
        min_items = int(schema.get("minItems", 0))
        items_schema = self.resolve(schema.get("items", {}))
        if (
            self.choices
            and not schema.get("prefixItems")
            and isinstance(items_schema, dict)
            and items_schema.get("type") == "string"
            and not {"enum", "const", "format"} & set(items_schema)
        ):
            return self.distinct_choices(schema, path, min_items)
        count = min(max(min_items, 1), 2)
        if depth >= _MAX_DEPTH:
            count = min_items
        count = max(count, min_items)  # validity first: minItems may exceed 2
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        prefix = schema.get("prefixItems") or []
        items = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else schema.get("items", {})
            items.append(self.generate(sub, f"{path}[{i}]", name, depth + 1))
        if schema.get("uniqueItems"):
            unique = []
            for item in items:
                if item not in unique:
                    unique.append(item)
            if len(unique) >= min_items:
                items = unique
        return items

    @staticmethod
    def _bounds(schema, integer):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        lo_open = hi_open = False
        ex_lo, ex_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(ex_lo, bool):  # draft 4 style
            lo_open = ex_lo and lo is not None
        elif ex_lo is not None and (lo is None or ex_lo >= lo):
            lo, lo_open = ex_lo, True
        if isinstance(ex_hi, bool):
            hi_open = ex_hi and hi is not None
        elif ex_hi is not None and (hi is None or ex_hi <= hi):
            hi, hi_open = ex_hi, True
        if integer:
            if lo is not None:
                lo = math.floor(lo) + 1 if lo_open else math.ceil(lo)
            if hi is not None:
                hi = math.ceil(hi) - 1 if hi_open else math.floor(hi)
            lo_open = hi_open = False
        if lo is None and hi is None:
            lo, hi = 1, 5
        elif lo is None:
            lo = hi - 4
        elif hi is None:
            hi = lo + 4
        return lo, hi, lo_open, hi_open

    def integer(self, schema, path):
        lo, hi, _, _ = self._bounds(schema, integer=True)
        if hi < lo:
            return lo
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first, last = math.ceil(lo / step), math.floor(hi / step)
            if last >= first:
                return (first + self._h(path) % (last - first + 1)) * step
        return lo + self._h(path) % (hi - lo + 1)

    def number(self, schema, path):
        lo, hi, lo_open, hi_open = self._bounds(schema, integer=False)
        if hi <= lo:
            return lo
        fraction = (self._h(path) % 999 + 1) / 1000  # strictly inside (0, 1)
        value = lo + fraction * (hi - lo)
        rounded = round(value, 3)
        ok_lo = rounded > lo if lo_open else rounded >= lo
        ok_hi = rounded < hi if hi_open else rounded <= hi
        return rounded if ok_lo and ok_hi else value

    def string(self, schema, path, name):
        fmt = schema.get("format")
        h = self._h(path)
        word = self.words[h % len(self.words)] if self.words else "item"
        if fmt == "date-time":
            text = f"2024-01-{h % 28 + 1:02d}T12:00:00Z"
        elif fmt == "date":
            text = f"2024-01-{h % 28 + 1:02d}"
        elif fmt == "time":
            text = f"12:{h % 60:02d}:00"
        elif fmt == "email":
            text = f"{word}@example.com"
        elif fmt in ("uri", "url"):
            text = f"https://example.com/{word}"
        elif fmt == "uuid":
            text = str(uuid.UUID(int=_digest(self.prompt, path, "uuid") << 64 | h))
        elif self.choices:
            text = self.choices[h % len(self.choices)]
        else:
            title = _title(name if name is not None else schema.get("title"))
            text = f"{title}: {' '.join(self.words) if self.words else 'none'}"
        min_len = int(schema.get("minLength", 0))
        filler = " ".join(self.words) or "none"
        while len(text) < min_len:
            text = f"{text} {filler}"
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])].rstrip()
        if len(text) < min_len:
            text = text.ljust(min_len, "x")
        return text


def _says_none(option):
    return "none" in str(option).lower().split()


def _element_by_id(text, ident):
    """Inner text of the first element of ``text`` with ``id="ident"``, or None."""
    match = re.search(
        rf"<([A-Za-z_][\w.:-]*)\s[^<>]*\bid=\"{re.escape(ident)}\"[^<>]*>(.*?)</\1\s*>",
        text,
        re.DOTALL,
    )
    return match.group(2) if match else None


def instance_for_schema(schema, prompt, words=None, choices=(), match_words=False):
    """A deterministic instance of JSON ``schema`` for ``prompt``.

    ``words`` are the content words that strings are made of; by default
    ``content_words(prompt)``. ``$ref``/``$defs``, ``anyOf``/``oneOf`` (the
    first non-null option), ``enum``, ``const``, objects (every property),
    arrays, bounded integers and numbers, booleans and strings are handled.
    ``choices``, when given, replace free-text strings: each is one of them,
    picked by hashing the prompt and the JSON path (an array of free-text
    strings gets distinct ones). ``match_words`` picks enum options by the
    words they share with the item asked about (see the module docstring).

    >>> schema = {"type": "object", "properties": {"c_0": {"enum": [
    ...     "Bake bread", "Fix code", "None of these"]}}}
    >>> instance_for_schema(schema, '<c id="c_0">sourdough bread</c>',
    ...                     match_words=True)
    {'c_0': 'Bake bread'}
    >>> instance_for_schema(schema, '<c id="c_0">tax forms</c>', match_words=True)
    {'c_0': 'None of these'}
    """
    if words is None:
        words = content_words(prompt)
    return _Generator(schema, prompt, words, choices, match_words).generate(schema)


def tagged_choices(text, tag):
    """Distinct stripped texts of the ``<tag>...</tag>`` elements in ``text``.

    ``tag`` may be a list of tag names: their elements, tag by tag.

    >>> tagged_choices("<c> Plan trips </c><c>Fix code</c><c>Plan trips</c>", "c")
    ['Plan trips', 'Fix code']
    >>> instance_for_schema({"type": "object", "properties": {"label": {
    ...     "type": "string"}}}, "pick one", choices=["Fix code"])
    {'label': 'Fix code'}
    """
    if not tag:
        return []
    if not isinstance(tag, str):
        out = []
        for one in tag:
            out += [c for c in tagged_choices(text, one) if c not in out]
        return out
    pattern = re.compile(
        rf"<{re.escape(tag)}(?:\s[^<>]*)?>(.*?)</{re.escape(tag)}\s*>", re.DOTALL
    )
    out = []
    for match in pattern.finditer(text):
        choice = match.group(1).strip()
        if choice and choice not in out:
            out.append(choice)
    return out


def embed_text(text, dimensions):
    """Unit-norm feature-hashed bag of words of ``text`` (a list of floats).

    Lowercased word tokens are hashed (blake2b) to an index and a sign;
    counts are summed and L2-normalised. A text without words gives e_0.
    """
    vector = [0.0] * dimensions
    for token in _EMBED_WORD.findall(text.lower()):
        h = int.from_bytes(
            hashlib.blake2b(
                token.encode("utf-8", "surrogatepass"), digest_size=8
            ).digest(),
            "little",
        )
        vector[h % dimensions] += -1.0 if h >> 63 else 1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector = [0.0] * dimensions
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


def _count_words(text):
    return len(_ANY_WORD.findall(text))


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


class _RequestError(Exception):
    """An answer with an OpenAI-style error body."""

    def __init__(
        self,
        status,
        message,
        kind="invalid_request_error",
        code=None,
        headers=None,
        param=None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.headers = headers or {}
        self.param = param


class _DropConnection(Exception):
    """Close the connection without answering (the "dropped_connection" fault)."""


def _error_body(message, kind="invalid_request_error", code=None, param=None):
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _message_text(content):
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
        return "\n".join(texts)
    raise _RequestError(400, "message content must be a string or a list of parts")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address, fake):
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self):
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS look-up.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        pass  # a client that hung up mid-answer is not worth a traceback


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    timeout = 120  # idle keep-alive connections end eventually
    disable_nagle_algorithm = True  # else headers + body wait ~40 ms for an ACK

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    def setup(self):
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self):
        self.server.fake._track(self.connection, add=False)
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    # -- plumbing ----------------------------------------------------------

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, payload, headers=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:24]}")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if self.server.fake._stopping.is_set():
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the client hung up (e.g. its own timeout fired)
            self.close_connection = True

    def _send_error(self, err):
        self._send(
            err.status,
            _error_body(err.message, err.kind, err.code, err.param),
            err.headers,
        )

    def _dispatch(self, method):
        path = urlsplit(self.path).path.rstrip("/") or "/"
        try:
            body = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        if path.startswith("/_control/"):
            self._control(method, path, body)
        else:
            self._api(method, path, body)

    # -- control -------------------------------------------------------------

    def _control(self, method, path, body):
        fake = self.server.fake
        try:
            if path == "/_control/config" and method == "POST":
                try:
                    settings = json.loads(body or b"{}")
                except ValueError:
                    raise _RequestError(400, "the body is not JSON") from None
                if not isinstance(settings, dict):
                    raise _RequestError(400, "the body must be a JSON object")
                try:
                    fake.configure(**settings)
                except (TypeError, ValueError) as exc:
                    raise _RequestError(400, str(exc)) from None
                self._send(200, fake.settings)
            elif path == "/_control/config" and method == "GET":
                self._send(200, fake.settings)
            elif path == "/_control/reset" and method == "POST":
                fake.reset()
                self._send(200, {"ok": True})
            elif path == "/_control/stats" and method == "GET":
                self._send(200, fake.stats())
            else:
                raise _RequestError(
                    404, f"no control endpoint {method} {path}", code="unknown_url"
                )
        except _RequestError as err:
            self._send_error(err)

    # -- API -----------------------------------------------------------------

    _ROUTES = {
        "/v1/chat/completions": ("POST", "_chat"),
        "/v1/embeddings": ("POST", "_embeddings"),
        "/v1/models": ("GET", "_models"),
    }

    def _api(self, method, path, body):
        fake = self.server.fake
        ticket = fake._begin(path)
        status, payload, headers, counters = 500, None, {}, {}
        try:
            status, payload, headers, counters = self._api_answer(
                method, path, body, ticket
            )
        except _DropConnection:
            status = None
        except _RequestError as err:
            status, headers = err.status, err.headers
            payload = _error_body(err.message, err.kind, err.code, err.param)
        except Exception as exc:  # a bug here must show as a 500, not a hang
            status, payload = (
                500,
                _error_body(
                    f"fake server error: {exc!r}", "server_error", "internal_error"
                ),
            )
        finally:
            # Counted before the answer leaves, so a client that has its answer
            # sees it in stats().
            fake._end(ticket, status, counters)
        if status is None:  # hang up without a word, as a dying server does
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(status, payload, headers)

    def _api_answer(self, method, path, body, ticket):
        """(status, payload, headers, counters) of an API request."""
        fake = self.server.fake
        settings = ticket["settings"]
        auth = self.headers.get("Authorization", "")
        scheme, _, key = auth.partition(" ")
        authorised = scheme.lower() == "bearer" and bool(key.strip())
        route = self._ROUTES.get(path)

        fault = None
        if authorised and route is not None and route[0] == method:
            fault = fake._decide_fault(body)
        fake._sleep(ticket, settings["latency"])

        if not authorised:
            raise _RequestError(
                401,
                "Incorrect API key provided: an 'Authorization: Bearer "
                "<key>' header is required.",
                code="invalid_api_key",
            )
        if route is None:
            raise _RequestError(
                404, f"Invalid URL ({method} {path})", code="unknown_url"
            )
        if route[0] != method:
            raise _RequestError(
                405,
                f"Method {method} is not allowed on {path}",
                code="method_not_allowed",
            )
        if fault == "dropped_connection":
            raise _DropConnection
        if fault == "401":
            raise _RequestError(
                401,
                f"Incorrect API key provided: {key.strip()}. You can find your "
                "API key at https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        if fault == "429":
            raise _RequestError(
                429,
                "Rate limit reached (injected fault).",
                "requests",
                "rate_limit_exceeded",
                {"Retry-After": "0"},
            )
        if fault == "500" or (fault == "malformed_json" and route[1] != "_chat"):
            raise _RequestError(
                500,
                "The server had an error while processing "
                "your request (injected fault).",
                "server_error",
                "internal_error",
            )
        if fault == "timeout":
            fake._sleep(ticket, settings["timeout_seconds"])
        status, payload, counters = getattr(self, route[1])(
            body, settings, malformed=fault == "malformed_json"
        )
        if fault == "truncated_body" and status == 200:
            whole = json.dumps(payload).encode()
            payload = whole[: len(whole) // 2]  # sent with its own length
        return status, payload, {}, counters

    @staticmethod
    def _json_body(body):
        try:
            data = json.loads(body or b"")
        except ValueError:
            raise _RequestError(
                400, "We could not parse the JSON body of your request."
            ) from None
        if not isinstance(data, dict):
            raise _RequestError(400, "the request body must be a JSON object")
        return data

    def _models(self, body, settings, malformed=False):
        data = [
            {
                "id": model,
                "object": "model",
                "created": 1700000000,
                "owned_by": "kura-sklearn-tests",
            }
            for model in MODEL_IDS
        ]
        return 200, {"object": "list", "data": data}, {}

    def _chat(self, body, settings, malformed=False):
        request = self._json_body(body)
        model = request.get("model")
        messages = request.get("messages")
        if not isinstance(model, str) or not model:
            raise _RequestError(
                400, "you must provide a model parameter", param="model"
            )
        if not isinstance(messages, list) or not messages:
            raise _RequestError(400, "'messages' must be a non-empty list")
        if request.get("stream"):
            raise _RequestError(400, "streaming is not supported by the fake server")
        texts = []
        for message in messages:
            if not isinstance(message, dict) or "role" not in message:
                raise _RequestError(400, "each message needs a 'role'")
            texts.append((str(message["role"]), _message_text(message.get("content"))))
        prompt = "\n".join(f"{role}: {text}" for role, text in texts)
        users = [text for role, text in texts if role == "user"]
        last_user = users[-1] if users else texts[-1][1]
        words = content_words(last_user)

        response_format = request.get("response_format") or {"type": "text"}
        if not isinstance(response_format, dict):
            raise _RequestError(400, "'response_format' must be an object")
        kind = response_format.get("type", "text")
        schema = None
        schema_name = "text"
        if kind == "json_schema":
            spec = response_format.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
                raise _RequestError(
                    400, "'response_format.json_schema.schema' must be an object"
                )
            schema = spec["schema"]
            schema_name = str(spec.get("name") or "json_schema")
        elif kind == "json_object" and isinstance(response_format.get("schema"), dict):
            # llama-cpp-python's server constrains json_object by a "schema"
            schema = response_format["schema"]
            schema_name = str(schema.get("title") or "json_object")
        elif kind not in ("json_object", "text"):
            raise _RequestError(400, f"unknown response_format type {kind!r}")
        tool = self._chosen_tool(request)
        if tool is not None:
            schema = tool.get("parameters")
            if schema is None:
                schema = {"type": "object", "properties": {}}
            if not isinstance(schema, dict):
                raise _RequestError(400, "a function's 'parameters' must be an object")
            schema_name = tool["name"]
        choices = tagged_choices(prompt, settings["choice_tag"])
        fake = self.server.fake
        fake._record_chat(request)
        scripted = fake._scripted(body)

        if malformed:
            first = "summary"
            if schema is not None and isinstance(schema.get("properties"), dict):
                first = next(iter(schema["properties"]), first)
            content = '{"' + first + '": "unterminated'
        elif scripted is not None:
            content = scripted
        elif schema is not None:
            try:
                content = json.dumps(
                    instance_for_schema(
                        schema, prompt, words, choices, settings["match_words"]
                    )
                )
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise _RequestError(400, f"invalid JSON schema: {exc}") from None
        else:
            answer = f"Answer: {' '.join(words) if words else 'none'}"
            content = (
                json.dumps({"answer": answer}) if kind == "json_object" else answer
            )

        prompt_tokens = max(1, sum(_count_words(text) for _, text in texts))
        completion_tokens = max(1, _count_words(content))
        finish_reason = "stop"
        max_tokens = request.get("max_tokens")
        if max_tokens is not None:
            if not isinstance(max_tokens, int) or max_tokens < 1:
                raise _RequestError(
                    400, "'max_tokens' must be a positive integer", param="max_tokens"
                )
            if completion_tokens > max_tokens:
                # cut after max_tokens words, as a model stopped by its cap
                # ends mid-answer (mid-JSON for a structured answer)
                cut = list(_ANY_WORD.finditer(content))[max_tokens - 1].end()
                content, completion_tokens = content[:cut], max_tokens
                finish_reason = "length"
        message = {"role": "assistant", "content": content, "refusal": None}
        if tool is not None:  # the answer is the arguments of one tool call
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {"name": tool["name"], "arguments": content},
                }
            ]
            finish_reason = "tool_calls"
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        prompt_chars = sum(len(text) for _, text in texts)
        if settings["record_requests"]:
            self.server.fake._record(
                {"request": request, "schema_name": schema_name, "answer": content}
            )
        counters = {
            "chat_completions": 1,
            "prompt_chars": prompt_chars,
            "by_schema": {schema_name: 1},
            "cut_at_max_tokens": int(finish_reason == "length"),
        }
        return 200, payload, counters

    @staticmethod
    def _chosen_tool(request):
        """The function a request with ``tools`` gets a call to, else None.

        ``tool_choice`` naming a function picks it; "none" picks nothing;
        "auto", "required" or no choice pick the first tool (a deterministic
        model that always calls one).
        """
        tools = request.get("tools")
        if not tools:
            return None
        if not isinstance(tools, list):
            raise _RequestError(400, "'tools' must be a list", param="tools")
        functions = []
        for tool in tools:
            function = tool.get("function") if isinstance(tool, dict) else None
            if (
                not isinstance(tool, dict)
                or tool.get("type", "function") != "function"
                or not isinstance(function, dict)
                or not isinstance(function.get("name"), str)
            ):
                raise _RequestError(
                    400, "each tool needs type 'function' and a function name"
                )
            functions.append(function)
        choice = request.get("tool_choice")
        if choice == "none":
            return None
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
            for function in functions:
                if function["name"] == name:
                    return function
            raise _RequestError(400, f"tool_choice names no tool in 'tools': {name!r}")
        return functions[0]

    def _embeddings(self, body, settings, malformed=False):
        request = self._json_body(body)
        model = request.get("model") or EMBEDDING_MODEL
        raw = request.get("input")
        if isinstance(raw, str):
            texts = [raw]
        elif isinstance(raw, list) and raw and all(isinstance(t, str) for t in raw):
            texts = raw
        elif (
            isinstance(raw, list)
            and raw
            and all(isinstance(t, int) and not isinstance(t, bool) for t in raw)
        ):
            texts = [" ".join(map(str, raw))]  # one input given as token ids
        elif (
            isinstance(raw, list)
            and raw
            and all(
                isinstance(t, list) and all(isinstance(i, int) for i in t) for t in raw
            )
        ):
            texts = [" ".join(map(str, t)) for t in raw]
        else:
            raise _RequestError(
                400,
                "'input' must be a string or a non-empty list of strings",
                param="input",
            )
        dimensions = request.get("dimensions")
        if dimensions is None:
            dimensions = settings["embedding_dimensions"]
        if (
            not isinstance(dimensions, int)
            or isinstance(dimensions, bool)
            or not 1 <= dimensions <= _MAX_DIMENSIONS
        ):
            raise _RequestError(
                400,
                f"'dimensions' must be an integer in [1, {_MAX_DIMENSIONS}]",
                param="dimensions",
            )
        encoding = request.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise _RequestError(
                400,
                "'encoding_format' must be 'float' or 'base64'",
                param="encoding_format",
            )
        fmt = f"<{dimensions}f"
        data = []
        for i, text in enumerate(texts):
            packed = struct.pack(fmt, *embed_text(text, dimensions))
            if encoding == "base64":
                embedding = base64.b64encode(packed).decode("ascii")
            else:  # the same float32 values that base64 carries
                embedding = list(struct.unpack(fmt, packed))
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        tokens = max(1, sum(_count_words(t) for t in texts))
        payload = {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return 200, payload, {"embedding_requests": 1, "embedded_inputs": len(texts)}


# --------------------------------------------------------------------------
# The server object
# --------------------------------------------------------------------------


def _validated(settings):
    """Checked and normalised copy of ``settings``; raises Type/ValueError."""
    unknown = sorted(set(settings) - set(DEFAULT_SETTINGS))
    if unknown:
        raise TypeError(
            f"unknown setting(s) {unknown}; known: {sorted(DEFAULT_SETTINGS)}"
        )
    out = {}
    for key, value in settings.items():
        if key in ("latency", "timeout_seconds"):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or value < 0
            ):
                raise ValueError(f"{key} must be a number >= 0, got {value!r}")
            value = float(value)
        elif key == "fault_rate":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0.0 <= value <= 1.0
            ):
                raise ValueError(f"fault_rate must be in [0, 1], got {value!r}")
            value = float(value)
        elif key == "fault_kinds":
            value = (value,) if isinstance(value, str) else tuple(value)
            bad = [kind for kind in value if kind not in FAULT_KINDS]
            if bad:
                raise ValueError(f"unknown fault kind(s) {bad}; known: {FAULT_KINDS}")
        elif key == "permanent_fault_kind":
            if value not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {value!r}; known: {FAULT_KINDS}")
        elif key == "permanent_fault_marker":
            markers = [value] if isinstance(value, str) else value
            if value is not None and (
                not isinstance(markers, (list, tuple))
                or not markers
                or not all(isinstance(m, str) and m for m in markers)
            ):
                raise ValueError(
                    "permanent_fault_marker must be None, a non-empty str or "
                    "a list of them"
                )
            if isinstance(value, (list, tuple)):
                value = tuple(value)
        elif key == "embedding_dimensions":
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 1 <= value <= _MAX_DIMENSIONS
            ):
                raise ValueError(
                    f"embedding_dimensions must be an int in "
                    f"[1, {_MAX_DIMENSIONS}], got {value!r}"
                )
        elif key == "choice_tag":
            tags = [value] if isinstance(value, str) else value
            if value is not None and (
                not isinstance(tags, (list, tuple))
                or not tags
                or not all(
                    isinstance(t, str) and re.fullmatch(r"[A-Za-z_][\w.:-]*", t)
                    for t in tags
                )
            ):
                raise ValueError(
                    f"choice_tag must be None, a tag name or a list of them, "
                    f"got {value!r}"
                )
            if isinstance(value, (list, tuple)):
                value = tuple(value)
        elif key in ("match_words", "record_requests"):
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be True or False, got {value!r}")
        elif key == "seed":
            if not isinstance(value, (int, str, type(None))) or isinstance(value, bool):
                raise ValueError(f"seed must be an int, a str or None, got {value!r}")
        out[key] = value
    return out


class FakeOpenAIServer:
    """OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

    Parameters
    ----------
    host : str, default="127.0.0.1"
        A loopback address; nothing else is accepted.
    port : int, default=0
        0 picks a free port.

    Use ``start()``/``stop()`` or ``with FakeOpenAIServer() as server:``;
    point a client at ``server.base_url``.
    """

    def __init__(self, host="127.0.0.1", port=0):
        if not (host == "localhost" or host.startswith("127.")):
            raise ValueError(
                f"the fake server binds a loopback address only, not {host!r}"
            )
        self.host = "127.0.0.1" if host == "localhost" else host
        self._requested_port = int(port)
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self._connections = set()
        self._stopping = threading.Event()
        self._generation = 0
        self._wake = threading.Event()
        self._in_flight = 0
        self._settings = dict(DEFAULT_SETTINGS)
        self._rng = random.Random(self._settings["seed"])
        self._chat_requests = []
        self._scripts = []
        self._zero_counters()

    # -- life cycle ----------------------------------------------------------

    def start(self):
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        with self._lock:
            self._wake = threading.Event()
        self._httpd = _HTTPServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeOpenAIServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving, wake sleeping handlers and close connections."""
        httpd = self._httpd
        if httpd is None:
            return
        self._stopping.set()
        with self._lock:
            self._wake.set()
            connections = list(self._connections)
        httpd.shutdown()
        httpd.server_close()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=2)
        self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def __repr__(self):
        where = self.base_url if self._httpd is not None else "stopped"
        return f"FakeOpenAIServer({where})"

    @property
    def port(self):
        """The bound port (after ``start()``)."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self):
        """``http://127.0.0.1:{port}/v1``, for ``openai.OpenAI(base_url=...)``."""
        return f"http://{self.host}:{self.port}/v1"

    # -- settings and stats ----------------------------------------------------

    def configure(self, **settings):
        """Update settings; unknown names raise TypeError, bad values ValueError.

        latency (0.0): seconds slept before every answer.
        fault_rate (0.0): probability that a request gets a random fault.
        fault_kinds (DEFAULT_FAULT_KINDS): kinds picked from: "429", "500",
            "timeout", "malformed_json" (the default four), "truncated_body",
            "dropped_connection", "401" (echoes the key).
        timeout_seconds (30.0): how long a "timeout" fault sleeps first.
        permanent_fault_marker (None): a request whose body contains it (or
            one of them, given a list) always gets permanent_fault_kind
            ("500").
        seed (0): seed of the fault RNG, re-seeded on every configure/reset.
        embedding_dimensions (64): when a request gives no ``dimensions``.
        match_words (False): enums answered by shared words (see above).
        record_requests (False): keep every chat request and its answer
            (``requests()``); cleared by ``reset()``.
        choice_tag (None): a tag name (or a list); a prompt listing ``<tag>...</tag>``
            elements gets every free-text string chosen among their texts.

        Returns the new settings.
        """
        checked = _validated(settings)
        with self._lock:
            self._settings.update(checked)
            self._rng = random.Random(self._settings["seed"])
            return dict(self._settings)

    @property
    def settings(self):
        """A copy of the current settings."""
        with self._lock:
            return dict(self._settings)

    def reset(self):
        """Default settings, zeroed counters; wakes handlers still sleeping."""
        with self._lock:
            self._wake.set()
            self._wake = threading.Event()
            self._generation += 1
            self._settings = dict(DEFAULT_SETTINGS)
            self._rng = random.Random(self._settings["seed"])
            self._chat_requests = []
            self._scripts = []
            self._zero_counters()

    def chat_requests(self):
        """The chat requests received since the last reset, oldest first.

        Each is the request's JSON body as a dict (model, messages,
        response_format...), failed and retried attempts included; at most
        the last :data:`_MAX_RECORDED` are kept.
        """
        with self._lock:
            return json.loads(json.dumps(self._chat_requests))

    def script_answer(self, marker, contents):
        """Answer the next requests whose body holds ``marker`` with ``contents``.

        ``contents`` are message contents (strings, e.g. ``json.dumps`` of an
        answer), used one per matching request in order; after the last, such
        requests get the usual deterministic answer. Cleared by ``reset()``.
        """
        if not isinstance(marker, str) or not marker:
            raise ValueError("marker must be a non-empty str")
        contents = [contents] if isinstance(contents, str) else list(contents)
        if not all(isinstance(c, str) for c in contents):
            raise ValueError("contents must be strings")
        with self._lock:
            self._scripts.append((marker, contents))

    def _record_chat(self, request):
        with self._lock:
            self._chat_requests.append(request)
            del self._chat_requests[:-_MAX_RECORDED]

    def _scripted(self, body):
        text = body.decode("utf-8", "replace")
        with self._lock:
            for marker, contents in self._scripts:
                if contents and marker in text:
                    return contents.pop(0)
        return None

    def requests(self):
        """Chat requests recorded since the last reset (``record_requests``).

        Each a dict: ``request`` (the JSON body), ``schema_name`` and
        ``answer`` (the message content or tool arguments sent back), in the
        order the answers were made.
        """
        with self._lock:
            return list(self._records)

    def _record(self, entry):
        with self._lock:
            self._records.append(entry)

    def _zero_counters(self):
        self._records = []
        self._stats = {
            "requests": 0,
            "by_path": {},
            "by_status": {},
            "faults": {},
            "chat_completions": 0,
            "prompt_chars": 0,
            "embedding_requests": 0,
            "embedded_inputs": 0,
            "by_schema": {},
            "cut_at_max_tokens": 0,
            "max_in_flight": self._in_flight,
        }

    def stats(self):
        """A snapshot of the counters (control requests are not counted).

        requests, by_path {path: n}, by_status {int status: n}, faults
        {kind: n}, chat_completions (chat answers with status 200),
        prompt_chars (characters of the messages those answers were for),
        embedding_requests (embedding answers with status 200),
        embedded_inputs (texts embedded), by_schema {schema or tool name:
        chat answers}, cut_at_max_tokens (answers cut short by a request's
        ``max_tokens``, counted in words), max_in_flight, in_flight. Over HTTP
        (``GET /_control/stats``) the status keys of by_status are strings.
        """
        with self._lock:
            snapshot = {
                key: dict(value) if isinstance(value, dict) else value
                for key, value in self._stats.items()
            }
            snapshot["in_flight"] = self._in_flight
        return snapshot

    # -- used by the handler ---------------------------------------------------

    def _track(self, conn, add):
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _begin(self, path):
        with self._lock:
            self._in_flight += 1
            stats = self._stats
            stats["requests"] += 1
            stats["by_path"][path] = stats["by_path"].get(path, 0) + 1
            stats["max_in_flight"] = max(stats["max_in_flight"], self._in_flight)
            return {
                "generation": self._generation,
                "wake": self._wake,
                "settings": dict(self._settings),
            }

    def _end(self, ticket, status, counters):
        with self._lock:
            self._in_flight -= 1
            if ticket["generation"] != self._generation:
                return  # started before a reset: belongs to an earlier test
            stats = self._stats
            if status is not None:  # None: the connection was dropped
                stats["by_status"][status] = stats["by_status"].get(status, 0) + 1
            for key, value in counters.items():
                if isinstance(value, dict):
                    for name, n in value.items():
                        stats[key][name] = stats[key].get(name, 0) + n
                else:
                    stats[key] += value

    def _decide_fault(self, body):
        with self._lock:
            settings = self._settings
            marker = settings["permanent_fault_marker"]
            markers = (marker,) if isinstance(marker, str) else marker or ()
            text = body.decode("utf-8", "replace") if markers else ""
            if any(m.encode("utf-8") in body or m in text for m in markers):
                kind = settings["permanent_fault_kind"]
            elif (
                self._rng.random() < settings["fault_rate"] and settings["fault_kinds"]
            ):
                kind = self._rng.choice(settings["fault_kinds"])
            else:
                return None
            faults = self._stats["faults"]
            faults[kind] = faults.get(kind, 0) + 1
            return kind

    def _sleep(self, ticket, seconds):
        if seconds > 0 and not self._stopping.is_set():
            ticket["wake"].wait(seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Run the fake OpenAI-compatible server in the foreground."
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds slept before every answer"
    )
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embedding-dimensions", type=int, default=64)
    parser.add_argument(
        "--choice-tag",
        default=None,
        help="answer strings with the texts of <TAG>...</TAG> elements of the prompt",
    )
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(port=args.port)
    server.configure(
        latency=args.latency,
        fault_rate=args.fault_rate,
        seed=args.seed,
        embedding_dimensions=args.embedding_dimensions,
        choice_tag=args.choice_tag,
    )
    import signal

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    server.start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
