"""The text core of ASR and TTS accuracy: normalisation, WER/CER with alignments, entity hits.

Both sides of a comparison go through :func:`normalize`, so "$50" and "fifty dollars", "What's" and
"what is", "twenty-five" and "twenty five" are the same words. It runs the small pure steps of
:data:`STEPS` in order; the decisions they make:

* Unicode NFKC first (full-width digits, ligatures, no-break spaces); curly apostrophes become '.
* Contractions are expanded ("can't" -> "cannot", "i'd" -> "i would"); a word + 's only for
  pronouns and question words ("it's", "what's", "there's"), since any other 's is a possessive.
* Numbers are said as words without "and": "$1,200.50" -> "one thousand two hundred dollars fifty
  cents"; "$50", "50 dollars" and "50.00 dollars" -> "fifty dollars"; "$0.50" -> "fifty cents";
  "49.99" -> "forty nine point nine nine"; "21st" -> "twenty first"; "5%" -> "five percent"; € and
  £ too. Digit runs with a leading zero ("007") or above 999,999,999 (card and account numbers) are
  read digit by digit, as callers say them. Minus signs are not read.
* "&" -> "and"; hyphens split words; possessive 's is dropped ("tom's" -> "tom") and so is any
  apostrophe left ("o'clock" -> "oclock"), so spelling variants still match; dotted acronyms join
  ("u.s." -> "us", "p.m." -> "pm"); other punctuation becomes a space; whitespace is collapsed.

Error rates equal jiwer's (tested on 3,000 random pairs): the alignment is rapidfuzz's, as jiwer's
is, so hits/substitutions/deletions/insertions split the same way; CER counts spaces. Except: an
empty reference gives ``wer``/``cer`` None ("not scored"), where jiwer 3.x raises ``ValueError``
and jiwer 4.0 returns the raw insertion count, which is not a rate.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import repeat
from typing import Literal, NamedTuple, cast

from rapidfuzz.distance.Levenshtein import distance as _distance
from rapidfuzz.distance.Levenshtein import opcodes as _opcodes

# --- normalisation -------------------------------------------------------------------------------

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u00b4": "'"})


def nfkc(text: str) -> str:
    """Unicode NFKC, plus curly/modifier apostrophes to ``'`` (NFKC keeps those apart)."""
    if not text.isascii():  # ASCII is already NFKC and has no curly quotes: skip the work
        text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return text


def lowercase(text: str) -> str:
    return text.lower()


_WH = ("it", "that", "what", "there", "here", "he", "she", "who", "where", "how", "when", "why")
_SPECIAL = {
    **{"won't": "will not", "can't": "cannot", "shan't": "shall not", "ain't": "is not"},
    **{"let's": "let us", "y'all": "you all", **{f"{w}'s": f"{w} is" for w in _WH}},
}
_SPECIAL_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, _SPECIAL)) + r")\b")
_SUFFIX = {"n't": " not", "'re": " are", "'ve": " have", "'ll": " will", "'d": " would"}
_SUFFIX["'m"] = " am"
_SUFFIX_RE = re.compile(r"(?<=\w)(n't|'re|'ve|'ll|'d|'m)\b")


def expand_contractions(text: str) -> str:
    """Irregular forms first ("won't", "can't"), then the regular suffixes ("don't" -> "do not")."""
    if "'" not in text:
        return text
    text = _SPECIAL_RE.sub(lambda m: _SPECIAL[m[0]], text)
    return _SUFFIX_RE.sub(lambda m: _SUFFIX[m[1]], text)


_ONES = (  # noqa: SIM905
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = ("", "", *"twenty thirty forty fifty sixty seventy eighty ninety".split())  # noqa: SIM905
# Words for 0..99: "zero" ... "nineteen", "twenty", "twenty one", ... "ninety nine".
_SMALL = (*_ONES, *(f"{t} {o}".removesuffix(" zero") for t in _TENS[2:] for o in _ONES[:10]))
_SCALES = ((1_000_000, "million"), (1_000, "thousand"), (1, ""))
_ORDINAL = {
    **{"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth"},
    **{"nine": "ninth", "twelve": "twelfth"},
}
# (singular, plural, sub-unit singular, sub-unit plural) for each currency symbol.
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents")}
_CURRENCY["£"] = ("pound", "pounds", "penny", "pence")
_CURRENCY_WORD = {"dollar": "$", "dollars": "$", "euro": "€", "euros": "€"}


def _below_thousand(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [_ONES[hundreds], "hundred"] if hundreds else []
    return [*words, _SMALL[rest]] if rest else words


def _cardinal(digits: str) -> str:
    """Words for a run of digits without commas ("1200" -> "one thousand two hundred")."""
    # Over 9 digits (card, account numbers) or "007": digit by digit; also keeps int() safe.
    if len(digits) > 9 or (len(digits) > 1 and digits[0] == "0"):
        return " ".join(_ONES[int(d)] for d in digits)
    n = int(digits)
    if n == 0:
        return "zero"
    words: list[str] = []
    for scale, name in _SCALES:
        chunk, n = divmod(n, scale)
        if chunk:
            words += [*_below_thousand(chunk), name]
    return " ".join(words).rstrip()  # the units scale has no name


def _ordinal(digits: str) -> str:
    head, _, last = _cardinal(digits).rpartition(" ")
    last = _ORDINAL.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return f"{head} {last}" if head else last


def _number(whole: str, frac: str | None) -> str:
    words = _cardinal(whole)
    return f"{words} point {' '.join(_ONES[int(d)] for d in frac)}" if frac else words


def _money(whole: str, frac: str | None, symbol: str) -> str:
    unit, units, sub, subs = _CURRENCY[symbol]
    if frac is not None and len(frac) > 2:  # "$1.999" is not dollars and cents
        return f"{_number(whole, frac)} {units}"
    # Strings, not ints: "$05" is five dollars, ".5" is fifty cents, and no digit run is too long.
    whole, cents = whole.lstrip("0") or "0", frac.ljust(2, "0").lstrip("0") if frac else ""
    parts = []
    if whole != "0" or not cents:  # "$0.50" is "fifty cents", "$0" is "zero dollars"
        parts.append(f"{_cardinal(whole)} {unit if whole == '1' else units}")
    if cents:
        parts.append(f"{_cardinal(cents)} {sub if cents == '1' else subs}")
    return " ".join(parts)


# An amount: digits with well-formed thousands commas ("1,200"), else a plain digit run. A comma
# that is not a thousands separator ("1,2") stays punctuation, so the numbers are read one by one.
# A currency symbol before or word after makes it money. The lookahead skips non-starts fast.
_AMT = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
_NUMBER_RE = re.compile(
    rf"(?=[$€£\d])(?:(?P<sym>[$€£])\s?)?(?P<amt>{_AMT})(?:\.(?P<frac>\d+))?"
    r"(?:(?P<ord>st|nd|rd|th)\b|\s?(?P<pct>%)|\s?(?P<cur>dollars?|euros?)\b)?"
)


@lru_cache(maxsize=4096)  # calls say the same few amounts again and again: read each once
def _spoken(
    sym: str | None, amt: str, frac: str | None, ord_: str | None, pct: str | None, cur: str | None
) -> str:
    whole = amt.replace(",", "")
    symbol = sym or _CURRENCY_WORD.get(cur or "")
    if symbol:
        words = _money(whole, frac, symbol)
    elif ord_ and frac is None:
        words = _ordinal(whole)
    else:
        words = _number(whole, frac) + (" percent" if pct else "")
    return f" {words} "  # spaces split "4pm" into "four pm"; whitespace is collapsed later


def _number_words(m: re.Match[str]) -> str:
    return _spoken(*m.group("sym", "amt", "frac", "ord", "pct", "cur"))


# Every byte but those that can start a number in ASCII text: deleting them leaves b"" when the
# text has no number, a test four times cheaper than the regex's scan (most texts have none).
_NOT_NUMBER_START = bytes(c for c in range(256) if c != 36 and not 48 <= c <= 57)


def numbers_to_words(text: str) -> str:
    """Money, percentages, ordinals, decimals and integers as words (see the module docstring)."""
    if text.isascii() and not text.encode("ascii").translate(None, _NOT_NUMBER_START):
        return text
    return _NUMBER_RE.sub(_number_words, text)


def symbols_and_hyphens(text: str) -> str:
    """Ampersand to "and"; hyphens split words ("twenty-five" -> "twenty five")."""
    return text.replace("&", " and ").replace("-", " ")  # two replaces beat one translate


_POSSESSIVE_RE = re.compile(r"(?<=\w)'s\b")


def strip_possessives(text: str) -> str:
    """Drop possessive 's (after contractions expanded "it's"), then every other apostrophe."""
    if "'" not in text:
        return text
    return _POSSESSIVE_RE.sub("", text).replace("'", "")


_ACRONYM_RE = re.compile(r"\b(?:\w\.){2,}")
_PUNCT_RE = re.compile(r"[^\w\s]|_")
# The same rule as a byte table for ASCII text (most of it): four times faster than the regex.
_ASCII_PUNCT = bytes(32 if _PUNCT_RE.match(chr(c)) else c for c in range(256))


def remove_punctuation(text: str) -> str:
    if "." in text:  # the acronym pass is the slow one, and needs a dot
        text = _ACRONYM_RE.sub(lambda m: m[0].replace(".", ""), text)
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_PUNCT).decode("ascii")
    return _PUNCT_RE.sub(" ", text)


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


STEPS: tuple[Callable[[str], str], ...] = (
    nfkc,
    lowercase,
    expand_contractions,
    numbers_to_words,
    symbols_and_hyphens,
    strip_possessives,
    remove_punctuation,
    collapse_whitespace,
)


@lru_cache(maxsize=65_536)  # references repeat across cohorts and variants; steps are pure
def normalize(text: str) -> str:
    """Apply every step of :data:`STEPS` in order; the result has single spaces, no edges."""
    for step in STEPS:
        text = step(text)
    return text


def tokens(text: str) -> list[str]:
    return normalize(text).split()


class Spellings:
    """A suite's spelling equivalences (``evaluation.spellings``): after :func:`normalize`, each
    word or phrase on the left is rewritten to the form on the right on both sides of a
    comparison, so "chequing" heard for "checking" is no error in a suite that says they are one.
    Longer phrases are matched first; matching is on whole normalised words."""

    def __init__(self, table: Mapping[str, str] | None = None) -> None:
        pairs = {normalize(k): normalize(v) for k, v in (table or {}).items() if normalize(k)}
        self.table = pairs
        alternation = "|".join(re.escape(k) for k in sorted(pairs, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<!\S)(?:{alternation})(?!\S)") if pairs else None

    def __call__(self, text: str) -> str:
        """The normalised text with every equivalence applied (just normalised without any)."""
        norm = normalize(text)
        if self._pattern is None:
            return norm
        return self._pattern.sub(lambda m: self.table[m.group(0)], norm)


# --- alignment and error rates -------------------------------------------------------------------

Op = Literal["equal", "substitute", "delete", "insert"]
Pairs = Iterable[tuple[str, str]]  # (reference, hypothesis)
Rates = tuple[float | None, float | None]  # (WER, CER)


class AlignOp(NamedTuple):  # not a dataclass: alignments build many, and tuples are cheap
    """One aligned word or character; ``ref`` is None for an insertion, ``hyp`` for a deletion."""

    op: Op
    ref: str | None
    hyp: str | None


@dataclass(frozen=True)
class _Errors:
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    ref_len: int
    hyp_len: int
    alignment: tuple[AlignOp, ...]

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def substitution_pairs(self) -> list[tuple[str, str]]:
        """(reference, hypothesis) for every substitution, e.g. ``("refill", "refit")``."""
        # A substitution always has both words; `or ""` only narrows the type for mypy.
        return [(a.ref or "", a.hyp or "") for a in self.alignment if a.op == "substitute"]


@dataclass(frozen=True)
class WordErrors(_Errors):
    """Word-level counts and alignment; ``wer`` is None (not scored) for an empty reference."""

    wer: float | None


@dataclass(frozen=True)
class CharErrors(_Errors):
    """Character-level counts and alignment (spaces count); ``cer`` None for an empty reference."""

    cer: float | None


# Each distinct word maps to one character, so rapidfuzz compares words with its fast str kernels:
# exact (no hashing, no collisions), and the same alignment jiwer gets from word ids. The map is
# shared because building one per pair costs more than the distance; past the cap, per-pair maps.
_VOCAB: dict[str, str] = {}
_VOCAB_LOCK = threading.Lock()
_VOCAB_MAX = 200_000


def _encode(ref: list[str], hyp: list[str], vocab: dict[str, str] = _VOCAB) -> tuple[str, str]:
    try:
        return "".join(map(vocab.__getitem__, ref)), "".join(map(vocab.__getitem__, hyp))
    except KeyError:
        if vocab is not _VOCAB:
            raise
    with _VOCAB_LOCK:  # new words: assign codes under the lock so two threads never share one
        for w in (*ref, *hyp):
            if w not in _VOCAB:
                if len(_VOCAB) >= _VOCAB_MAX:
                    local = {w: chr(i) for i, w in enumerate(dict.fromkeys((*ref, *hyp)))}
                    return _encode(ref, hyp, local)
                _VOCAB[w] = chr(len(_VOCAB))
    return _encode(ref, hyp)


_Block = tuple[str, int, int, int, int]  # (tag, i1, i2, j1, j2), as difflib's opcodes


def _blocks(a: str, b: str) -> list[_Block]:
    """rapidfuzz's opcodes as plain tuples, which unpack faster than its Opcode objects' fields
    are read. (Its stub says ``list[Opcode]``; ``as_list`` returns tuples.)"""
    return cast("list[_Block]", _opcodes(a, b).as_list())


# AlignOp(op, ref, hyp) from a 3-tuple without the Python-level __new__ of a NamedTuple: the ops of
# a run are built by map() in C (character alignments 30% faster, word alignments 13%).
_op = partial(tuple.__new__, AlignOp)


def _align(
    ref: Sequence[str], hyp: Sequence[str], a: str, b: str
) -> tuple[int, int, int, int, tuple[AlignOp, ...]]:
    """Counts and per-unit alignment from rapidfuzz's opcodes over the encoded strings a, b."""
    hits = subs = dels = ins = 0
    ops: list[AlignOp] = []
    for tag, i1, i2, j1, j2 in _blocks(a, b):
        if tag == "equal":
            hits += i2 - i1
            run = ref[i1:i2]
            ops += map(_op, zip(repeat("equal"), run, run))
        elif tag == "replace":  # rapidfuzz's replace blocks pair units one to one
            subs += i2 - i1
            ops += map(_op, zip(repeat("substitute"), ref[i1:i2], hyp[j1:j2]))
        elif tag == "delete":
            dels += i2 - i1
            ops += map(_op, zip(repeat("delete"), ref[i1:i2], repeat(None)))
        else:
            ins += j2 - j1
            ops += map(_op, zip(repeat("insert"), repeat(None), hyp[j1:j2]))
    return hits, subs, dels, ins, tuple(ops)


def _prepare(reference: str, hypothesis: str, normalized: bool) -> tuple[str, str]:
    if normalized:  # already normalised: only trim the edges, as jiwer does
        return reference.strip(), hypothesis.strip()
    return normalize(reference), normalize(hypothesis)


def _rate(errors: int, ref_len: int) -> float | None:
    return errors / ref_len if ref_len else None


def word_errors(reference: str, hypothesis: str, *, normalized: bool = False) -> WordErrors:
    """Word alignment of hypothesis against reference (normalised first unless ``normalized``)."""
    reference, hypothesis = _prepare(reference, hypothesis, normalized)
    ref, hyp = reference.split(), hypothesis.split()
    h, s, d, i, ops = _align(ref, hyp, *_encode(ref, hyp))
    return WordErrors(h, s, d, i, len(ref), len(hyp), ops, _rate(s + d + i, len(ref)))


def char_errors(reference: str, hypothesis: str, *, normalized: bool = False) -> CharErrors:
    """Character alignment over the normalised texts, spaces included (jiwer's ``cer``)."""
    reference, hypothesis = _prepare(reference, hypothesis, normalized)
    h, s, d, i, ops = _align(reference, hypothesis, reference, hypothesis)
    n = len(reference)
    return CharErrors(h, s, d, i, n, len(hypothesis), ops, _rate(s + d + i, n))


def wer_cer_only(reference: str, hypothesis: str, *, normalized: bool = False) -> Rates:
    """(WER, CER) without alignments: the bulk-scoring path, distances only."""
    reference, hypothesis = _prepare(reference, hypothesis, normalized)
    ref = reference.split()
    if not ref:
        return None, None
    a, b = _encode(ref, hypothesis.split())
    return _distance(a, b) / len(ref), _distance(reference, hypothesis) / len(reference)


class WordEdits(NamedTuple):
    """A word alignment's errors without its hits: what a per-turn score reports, and cheaper to
    get than :class:`WordErrors` (no op per matched word). Lists are in alignment order."""

    ref_len: int
    hyp_len: int
    substituted: list[tuple[str, str]]  # (reference, hypothesis) word pairs
    deleted: list[str]
    inserted: list[str]

    @property
    def errors(self) -> int:
        return len(self.substituted) + len(self.deleted) + len(self.inserted)

    @property
    def wer(self) -> float | None:
        return _rate(self.errors, self.ref_len)


def word_edits(reference: str, hypothesis: str, *, normalized: bool = False) -> WordEdits:
    """The errors of :func:`word_errors`' alignment (same counts, same pairs, same order)."""
    reference, hypothesis = _prepare(reference, hypothesis, normalized)
    ref, hyp = reference.split(), hypothesis.split()
    subs: list[tuple[str, str]] = []
    dels: list[str] = []
    ins: list[str] = []
    for tag, i1, i2, j1, j2 in _blocks(*_encode(ref, hyp)):
        if tag == "replace":
            subs += zip(ref[i1:i2], hyp[j1:j2], strict=True)
        elif tag == "delete":
            dels += ref[i1:i2]
        elif tag == "insert":
            ins += hyp[j1:j2]
    return WordEdits(len(ref), len(hyp), subs, dels, ins)


def corpus_word_errors(pairs: Pairs, *, normalized: bool = False) -> list[WordErrors]:
    return [word_errors(r, h, normalized=normalized) for r, h in pairs]


def corpus_wer(pairs: Pairs, *, normalized: bool = False) -> float | None:
    """Total errors over total reference words, like jiwer on lists; None if there are no words.
    Pairs with an empty reference still add their insertions to the errors, as in jiwer."""
    errors = words = 0
    for reference, hypothesis in pairs:
        reference, hypothesis = _prepare(reference, hypothesis, normalized)
        ref = reference.split()
        errors += _distance(*_encode(ref, hypothesis.split()))
        words += len(ref)
    return _rate(errors, words)


# --- entities ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntityHit:
    """An entity's fate: ``recognized`` only when it is in the reference and heard intact."""

    entity: str
    normalized: str
    in_reference: bool
    recognized: bool


def entity_hits(
    entities: Sequence[str], reference: str, hypothesis: str, *, normalized: bool = False
) -> list[EntityHit]:
    """Which entities ("refill", "inhaler", "50", "Main Street") the hypothesis kept intact.

    Entities are always normalised ("50" -> "fifty") and must occur as contiguous token sequences.
    """
    # Space padding makes a substring test exactly a contiguous token-sequence test.
    ref, hyp = (f" {t} " for t in _prepare(reference, hypothesis, normalized))
    out = []
    for entity in entities:
        norm = normalize(entity)
        in_ref = bool(norm) and f" {norm} " in ref
        out.append(EntityHit(entity, norm, in_ref, in_ref and f" {norm} " in hyp))
    return out


def entity_accuracy(hits: Iterable[EntityHit]) -> float | None:
    """Share of reference entities recognised; None when no entity occurs in the reference."""
    scored = [h.recognized for h in hits if h.in_reference]
    return sum(scored) / len(scored) if scored else None
