"""Cached values as bytes that can only be data: JSON, or a raw numeric array.

No pickle anywhere: decoding parses JSON or copies numbers, so an entry
planted by someone who can write the cache can give a wrong value (caught by
the caller's checks) but never run code. Anything that is not one of the two
layouts raises :class:`UnreadableEntry`, and the caller recomputes the item.

Layouts (the first four bytes say which):

- ``KSJ1`` + UTF-8 JSON: dicts, lists, strings, numbers, booleans, null;
- ``KSA1`` + a length-prefixed JSON header ``{"dtype": "<f4", "shape": [384]}``
  + the array's bytes, C order: compact (6 bytes more than the raw vector
  plus the header) and read with one copy.
"""

import functools
import json
import struct

import numpy as np

_JSON = b"KSJ1"
_ARRAY = b"KSA1"
_HEADER_LEN = struct.Struct("<H")
# numbers only: no object, string or void arrays (those could hide anything)
_ARRAY_KINDS = "biuf"


class UnreadableEntry(ValueError):
    """A stored value that is not data written by this codec."""


def encode_value(value):
    """Bytes for a JSON-compatible value or a numeric ndarray.

    Parameters
    ----------
    value : dict, list, str, int, float, bool, None or ndarray
        A numeric (bool, int, float) array is stored raw; anything else must
        be JSON-serialisable.

    Returns
    -------
    data : bytes

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn.caching import decode_value, encode_value
    >>> decode_value(encode_value({"summary": "hi", "score": 2}))
    {'summary': 'hi', 'score': 2}
    >>> decode_value(encode_value(np.arange(3, dtype=np.float32)))
    array([0., 1., 2.], dtype=float32)
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"Only numeric arrays are cached, got dtype {value.dtype}.")
        header = json.dumps(
            {"dtype": value.dtype.str, "shape": list(value.shape)},
            separators=(",", ":"),
        ).encode("ascii")
        return b"".join(
            (
                _ARRAY,
                _HEADER_LEN.pack(len(header)),
                header,
                np.ascontiguousarray(value).tobytes(),
            )
        )
    # surrogatepass: a lone surrogate in a conversation round-trips
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _JSON + text.encode("utf-8", "surrogatepass")


def decode_value(data):
    """The value stored by :func:`encode_value`; :class:`UnreadableEntry` otherwise.

    Parameters
    ----------
    data : bytes

    Returns
    -------
    value : JSON value or ndarray
        Arrays are read-only views of ``data``.
    """
    if type(data) is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UnreadableEntry(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
    magic = data[:4]
    if magic == _JSON:
        try:
            return json.loads(data[4:].decode("utf-8", "surrogatepass"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise UnreadableEntry(f"invalid JSON ({exc.__class__.__name__})") from None
    if magic == _ARRAY:
        return _loads_array(data)
    raise UnreadableEntry("not written by kura_sklearn's cache (unknown layout)")


def _loads_array(data):
    try:
        (n,) = _HEADER_LEN.unpack_from(data, 4)
        dtype, shape, nbytes = _parse_header(data[6 : 6 + n])
    except (struct.error, UnicodeDecodeError, ValueError, TypeError, KeyError):
        raise UnreadableEntry("invalid array header") from None
    if len(data) - 6 - n != nbytes:
        raise UnreadableEntry("array size does not match its header")
    return np.frombuffer(data, dtype=dtype, offset=6 + n).reshape(shape)


@functools.lru_cache(maxsize=64)
def _parse_header(header):
    # cached: a cache's arrays share a handful of headers (one per model)
    fields = json.loads(header.decode("ascii"))
    dtype = np.dtype(fields["dtype"])
    shape = tuple(int(s) for s in fields["shape"])
    if dtype.kind not in _ARRAY_KINDS or any(s < 0 for s in shape):
        raise ValueError("invalid array header")
    return dtype, shape, dtype.itemsize * int(np.prod(shape, dtype=np.int64))
