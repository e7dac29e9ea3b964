"""Normalisation and fuzzy suggestions shared by the contact, SKU, mapping and trace checks.

Everything here is built to stay linear at scale (100,000 contacts a side, 50,000 SKUs):

* **Index once.** :class:`Index` groups records in a dict keyed by a normalised value, so every
  look-up is O(1); nothing compares each source record with each destination record.
* **Fuzzy only for the few misses.** :class:`Suggester` answers "did you mean?" for a value
  that has no match, in three steps, cheapest first:

  1. a *skeleton* look-up (case, punctuation and look-alike characters folded: ``O``/``0``,
     ``I``/``l``/``1``, ``S``/``5``, ``Z``/``2``, ``B``/``8``), which catches ``PROD-0O1`` -> ``PROD-001`` with one dict hit;
  2. every value one edit away from the query (delete, transpose, replace, insert over the
     characters seen in the index), each looked up in the dict: a few hundred hits, no scan;
  3. only when both find nothing, :mod:`difflib` on a small candidate set taken from a
     trigram index built on first use, preferring the query's rarest trigrams.

  Step 3 has a per-suggester budget (:data:`FALLBACK_BUDGET`): when hundreds of values are
  missing the cause is systemic (the wrong catalogue, a renamed prefix) and a guess per value
  would cost time without helping anyone.
"""

from __future__ import annotations

import difflib
import logging
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

FALLBACK_BUDGET = 50  # difflib fallbacks per Suggester (see module docstring)
_FALLBACK_CANDIDATES = 200  # strings difflib compares per fallback
_COMMON_GRAM = 1_000  # a trigram on more values than this says little about similarity

# ASCII fast path for fold(): delete every ASCII character that is not a letter or digit
_ASCII_NON_ALNUM = "".join(chr(c) for c in range(128) if not chr(c).isalnum())
_DROP_ASCII = str.maketrans("", "", _ASCII_NON_ALNUM)
# Look-alike characters people (and OCR) swap in codes; folded after casefolding.
_CONFUSABLES = str.maketrans({"o": "0", "i": "1", "l": "1", "|": "1", "s": "5", "z": "2", "b": "8"})
# ASCII fast path for skeleton(): fold() and the look-alike folding above in one translate
_SKELETON_ASCII = str.maketrans(
    {chr(c): (None if not chr(c).isalnum() else chr(c).lower().translate(_CONFUSABLES)) for c in range(128)}
)


def _is_punct(ch: str) -> bool:
    # Unicode punctuation (P*) and symbols (S*): hyphen, full stop, ampersand, apostrophes (U+2019 too), slash...
    return unicodedata.category(ch)[0] in "PS"


def name_key(text: str | None) -> str:
    """Case- and space-insensitive form of a name: how Xero and QuickBooks compare names
    when they enforce uniqueness (``Acme Ltd`` and ``ACME  ltd`` collide; ``Acme Ltd.``
    is a different name to them)."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split()).casefold()


def fold(text: str | None) -> str:
    """Case, space and punctuation folded away: ``O'Brien & Co.`` and ``OBRIEN & CO`` -> ``obrienco``.

    Only letters and digits are kept, so ``Acme-Ltd``, ``Acme Ltd`` and ``AcmeLtd`` meet too:
    this is the "same name, typed differently" key, not a rule any system enforces.
    """
    if not text:
        return ""
    if text.isascii():  # the common case, ~10x faster than the per-character path
        return text.translate(_DROP_ASCII).lower()
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def fold_email(email: str | None) -> str:
    """An email with case and every space removed (``" Jane@Acme.com "`` -> ``jane@acme.com``)."""
    if not email:
        return ""
    if email.isascii() and email.isprintable() and " " not in email:
        return email.lower()  # the common case: nothing to strip
    return "".join(email.split()).casefold()


def fold_code(code: str | None) -> str:
    """A SKU / account / tax code with case and surrounding space folded; punctuation kept
    (``PROD-001`` and ``PROD001`` are different codes, ``PROD-001`` and ``prod-001`` are not)."""
    if not code:
        return ""
    return code.strip().lower() if code.isascii() else code.strip().casefold()


def skeleton(text: str) -> str:
    """Case, punctuation, spaces and look-alike characters folded: ``PROD-0O1`` -> ``pr0d001``."""
    if text and text.isascii():
        return text.translate(_SKELETON_ASCII)
    return fold(text).translate(_CONFUSABLES)


def name_difference(a: str, b: str) -> list[str]:
    """How two names differ: any of ``case``, ``spaces``, ``punctuation``, or ``["other"]``
    when they differ beyond those (empty when identical)."""
    if a == b:
        return []
    if fold(a) != fold(b):
        return ["other"]
    kinds: list[str] = []
    if [c for c in a if c.isalnum()] != [c for c in b if c.isalnum()]:
        kinds.append("case")
    if [c for c in a if _is_punct(c)] != [c for c in b if _is_punct(c)]:
        kinds.append("punctuation")

    def no_punct_lower(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKC", text) if not _is_punct(c)).casefold()

    if no_punct_lower(a) != no_punct_lower(b):
        kinds.append("spaces")
    return kinds


def email_difference(a: str, b: str) -> list[str]:
    """How two emails that fold to the same value differ: ``case`` and/or ``spaces``."""
    kinds: list[str] = []
    if "".join(a.split()) != "".join(b.split()):
        kinds.append("case")
    # they fold to the same value, so once case is ignored only whitespace can still differ
    if a.casefold() != b.casefold():
        kinds.append("spaces")
    return kinds


class Index(Generic[T]):
    """Records grouped by a key function; one pass to build, O(1) per look-up.

    Most keys hold one record, so a record is stored as itself and only a key seen twice gets
    a list: at 100,000 records that avoids 100,000 one-element lists, whose allocation would
    otherwise set off repeated full garbage collections over the run's data.
    """

    def __init__(self, records: Iterable[T], key: Callable[[T], str | None]) -> None:
        self._one: dict[str, T] = {}
        self._many: dict[str, list[T]] = {}
        one, many = self._one, self._many
        for record in records:
            k = key(record)
            if not k:
                continue
            if k in many:
                many[k].append(record)
            elif k in one:
                many[k] = [one.pop(k), record]
            else:
                one[k] = record

    def get(self, key: str | None) -> list[T]:
        if not key:
            return []
        if key in self._one:
            return [self._one[key]]
        return list(self._many.get(key, ()))

    def only(self, key: str | None) -> T | None:
        """The record under ``key`` when there is exactly one, else ``None``."""
        return self._one.get(key) if key else None

    def firsts(self) -> Iterator[T]:
        """The first record indexed under each key (in no particular order of keys)."""
        yield from self._one.values()
        for records in self._many.values():
            yield records[0]

    def __contains__(self, key: object) -> bool:
        return key in self._one or key in self._many

    def __len__(self) -> int:
        return len(self._one) + len(self._many)


class Suggester:
    """ "Did you mean?" over a fixed set of values; see the module docstring for the steps."""

    def __init__(self, values: Iterable[str | None], *, key: Callable[[str], str] = fold_code) -> None:
        self._key = key
        # Buckets are tuples, not lists: nearly every one holds a single value, and the cyclic
        # garbage collector stops tracking a tuple of strings once it has survived a collection,
        # so 50,000 of them add nothing to later full collections (50,000 lists would).
        by_key: dict[str, tuple[str, ...]] = {}
        for value in values:
            if value:
                k = key(value)
                if k:
                    bucket = by_key.get(k)
                    if bucket is None:
                        by_key[k] = (value,)
                    elif value not in bucket:
                        by_key[k] = (*bucket, value)
        self._by_key = by_key
        self._alphabet: str | None = None
        self._by_skeleton: dict[str, tuple[str, ...]] | None = None
        self._keys: list[str] | None = None
        self._grams: dict[str, list[int]] | None = None
        self.fallbacks_left = FALLBACK_BUDGET

    def __len__(self) -> int:
        return len(self._by_key)

    def suggest(self, query: str, limit: int = 3, cutoff: float = 0.6) -> list[str]:
        """Up to ``limit`` values closest to ``query`` (never ``query`` itself), best first."""
        if not query or not self._by_key:
            return []
        qkey = self._key(query)
        # cheapest first, stopping at the first step that finds something
        look_alikes = [v for v in self._skeleton_hits(query) if v != query]
        found: dict[str, None] = dict.fromkeys(look_alikes)
        if not found:
            for variant in self._edits1(qkey):
                for value in self._by_key.get(variant, ()):
                    found[value] = None
            found.pop(query, None)
        if not found:
            found = dict.fromkeys(v for v in self._fallback(qkey, cutoff) if v != query)
        # a look-alike match (``0``/``O``) is stronger evidence than any other single edit
        if len(found) == 1:
            return list(found)
        ranked = sorted(
            found, key=lambda v: (v not in look_alikes, -difflib.SequenceMatcher(None, query, v).ratio(), v)
        )
        return ranked[:limit]

    # -- the three steps ----------------------------------------------------------------

    def _skeleton_hits(self, query: str) -> tuple[str, ...]:
        if self._by_skeleton is None:
            by_skeleton: dict[str, tuple[str, ...]] = {}  # tuples, as in __init__
            for bucket in self._by_key.values():
                for value in bucket:
                    sk = skeleton(value)
                    found = by_skeleton.get(sk)
                    by_skeleton[sk] = (value,) if found is None else (*found, value)
            self._by_skeleton = by_skeleton
        return self._by_skeleton.get(skeleton(query), ())

    def _edits1(self, word: str) -> set[str]:
        if self._alphabet is None:
            chars: set[str] = set()
            for k in self._by_key:
                chars.update(k)
            self._alphabet = "".join(sorted(chars))
        letters = self._alphabet
        splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
        edits: set[str] = set()
        for left, right in splits:
            if right:
                edits.add(left + right[1:])
                if len(right) > 1:
                    edits.add(left + right[1] + right[0] + right[2:])
                for c in letters:
                    edits.add(left + c + right[1:])
            for c in letters:
                edits.add(left + c + right)
        edits.discard(word)
        return edits

    def _fallback(self, qkey: str, cutoff: float) -> list[str]:
        if self.fallbacks_left <= 0:
            return []
        self.fallbacks_left -= 1
        if self.fallbacks_left == 0:
            logger.info("fuzzy suggestion budget spent after %d look-ups; further misses get none", FALLBACK_BUDGET)
        if self._grams is None:
            self._keys = list(self._by_key)
            grams: dict[str, list[int]] = {}
            for i, k in enumerate(self._keys):
                for gram in set(_trigrams(k)):
                    posting = grams.get(gram)
                    if posting is None:  # not setdefault(gram, []): that builds a list per call
                        grams[gram] = [i]
                    else:
                        posting.append(i)
            self._grams = grams
        assert self._keys is not None
        postings = sorted((self._grams.get(g, []) for g in set(_trigrams(qkey))), key=len)
        counts: Counter[int] = Counter()
        for posting in postings:
            if not posting:
                continue
            if len(posting) > _COMMON_GRAM and counts:
                break  # rarer grams already gave candidates; common ones only add noise
            counts.update(posting[: _COMMON_GRAM * 2])
        candidates = [self._keys[i] for i, _ in counts.most_common(_FALLBACK_CANDIDATES)]
        close = difflib.get_close_matches(qkey, candidates, n=5, cutoff=cutoff)
        return [value for k in close for value in self._by_key[k]]


def _trigrams(text: str) -> list[str]:
    padded = f"  {text} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def did_you_mean(suggestions: Sequence[str]) -> str:
    """``"did you mean PROD-001?"`` / ``"did you mean A, B or C?"`` (empty when none)."""
    if not suggestions:
        return ""
    if len(suggestions) == 1:
        return f"did you mean {suggestions[0]}?"
    return f"did you mean {', '.join(suggestions[:-1])} or {suggestions[-1]}?"
