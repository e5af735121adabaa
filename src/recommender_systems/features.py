"""Item features from item text, for :class:`~recommender_systems.content.ContentBased`.

:func:`text_features` turns item text (descriptions, tags, genres) into one
sparse column per term: TF-IDF, counts or binary. It works in named steps, each a
small function: read the texts (:func:`item_texts`), check the vectorizer options
(:class:`VectorizerOptions`), split each text into terms (:func:`analyze`), choose
the vocabulary (:func:`choose_vocabulary`), count (:func:`count_matrix`) and
weigh (:func:`weigh`). The options are scikit-learn's ``CountVectorizer`` /
``TfidfVectorizer`` options, with the same meanings, so code written for them (or
for the original library, which passed them through) keeps working.

Example:
    >>> frame = text_features({10: "Fantasy fantasy magic", 11: "magic"}, method="count")
    >>> frame.sparse.to_dense().to_dict("index")
    {10: {'fantasy': 2.0, 'magic': 1.0}, 11: {'fantasy': 0.0, 'magic': 1.0}}
    >>> text_features({1: "the dark tower", 2: "dark matter"}, method="binary",
    ...               stop_words="english", ngram_range=(1, 2)).columns.tolist()
    ['dark', 'dark matter', 'dark tower', 'matter', 'tower']
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems._deprecation import renamed_keywords
from recommender_systems._stop_words import ENGLISH_STOP_WORDS
from recommender_systems._validation import check_bool, check_choice, check_positive_int
from recommender_systems.errors import DataError, ParameterError
from recommender_systems.idmap import normalize_ids
from recommender_systems.interactions import ITEM_COL
from recommender_systems.weighting import binarize, normalize_rows, tfidf_weight

__all__ = [
    "DEFAULT_TOKEN_PATTERN",
    "METHODS",
    "Method",
    "VectorizerOptions",
    "analyze",
    "choose_vocabulary",
    "count_matrix",
    "item_texts",
    "text_features",
    "weigh",
]

Method = Literal["tfidf", "count", "binary"]
METHODS: tuple[Method, ...] = ("tfidf", "count", "binary")

#: Words, keeping inner hyphens and apostrophes: "sci-fi", "to-read", "don't".
DEFAULT_TOKEN_PATTERN = r"(?u)\w+(?:[-']\w+)*"

TextSource = pd.DataFrame | pd.Series | Mapping[Any, str]


@renamed_keywords(kind="method")
def text_features(
    item_text: TextSource,
    *,
    method: Method = "tfidf",
    text_col: str = "text",
    item_col: str = ITEM_COL,
    **vectorizer_kwargs: Any,
) -> pd.DataFrame:
    """Term features of item text: a DataFrame indexed by ``item_id`` with one sparse
    column per term (sorted), ready for ``ContentBased(item_features=...)``.

    Args:
        item_text: a Series of text indexed by item id, a mapping ``{item_id: text}``,
            or a DataFrame with ``item_col`` and ``text_col`` columns. Missing text
            counts as empty (the item gets an all-zero row).
        method: ``"tfidf"`` (counts times the smooth ``ln((1 + n) / (1 + df)) + 1``,
            rows scaled to unit length), ``"count"`` (raw counts) or ``"binary"``
            (1 where the term occurs). ``kind=`` is its former name.
        vectorizer_kwargs: scikit-learn's vectorizer options, same meanings:
            ``lowercase``, ``token_pattern`` (default: words with inner hyphens and
            apostrophes, so tags like ``sci-fi`` stay whole), ``tokenizer``,
            ``preprocessor``, ``strip_accents``, ``stop_words`` (``"english"`` or a
            list), ``ngram_range``, ``min_df``, ``max_df`` (a float is a share of the
            items, an int a count), ``max_features`` (the most frequent terms; ties:
            alphabetical), ``vocabulary``; with ``"tfidf"`` also ``norm``,
            ``use_idf``, ``smooth_idf`` and ``sublinear_tf``. Any other option is a
            :class:`~recommender_systems.errors.ParameterError`.
    """
    method = check_choice(method, "method", METHODS)
    options = VectorizerOptions.parse(vectorizer_kwargs, method)
    ids, texts = item_texts(item_text, text_col, item_col)
    counts = [Counter(analyze(text, options)) for text in texts]
    vocabulary = choose_vocabulary(counts, options)
    matrix = weigh(count_matrix(counts, vocabulary), method, options)
    frame: pd.DataFrame = cast(Any, pd.DataFrame).sparse.from_spmatrix(
        matrix, index=pd.Index(ids, name=ITEM_COL), columns=vocabulary
    )
    return frame


# ------------------------------------------------------------------ options
@dataclass(frozen=True)
class VectorizerOptions:
    """The vectorizer options :func:`text_features` accepts, checked."""

    lowercase: bool = True
    token_pattern: re.Pattern[str] = re.compile(DEFAULT_TOKEN_PATTERN)
    tokenizer: Callable[[str], Iterable[str]] | None = None
    preprocessor: Callable[[str], str] | None = None
    strip_accents: Literal["ascii", "unicode"] | None = None
    stop_words: frozenset[str] = frozenset()
    ngram_range: tuple[int, int] = (1, 1)
    min_df: int | float = 1
    max_df: int | float = 1.0
    max_features: int | None = None
    vocabulary: tuple[str, ...] | None = None
    norm: Literal["l1", "l2"] | None = "l2"
    use_idf: bool = True
    smooth_idf: bool = True
    sublinear_tf: bool = False

    #: Options that only make sense for TF-IDF.
    TFIDF_ONLY = ("norm", "use_idf", "smooth_idf", "sublinear_tf")

    @classmethod
    def parse(cls, kwargs: Mapping[str, Any], method: Method) -> VectorizerOptions:
        """Checked options from ``kwargs``; unknown names are a ParameterError."""
        known = {name for name in cls.__dataclass_fields__ if name != "TFIDF_ONLY"}
        if method != "tfidf":
            known -= set(cls.TFIDF_ONLY)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ParameterError(
                f"{unknown[0]}: not a vectorizer option of method={method!r}; expected one "
                f"of {', '.join(sorted(known))}"
            )
        checked = {name: _CHECKS[name](value, name) for name, value in kwargs.items()}
        options = cls(**checked)
        if (
            isinstance(options.min_df, int)
            and isinstance(options.max_df, int)
            and options.max_df < options.min_df
        ):
            raise ParameterError(
                f"max_df: expected at least min_df ({options.min_df}), received {options.max_df}"
            )
        return options


def _check_pattern(value: Any, name: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except (re.error, TypeError) as exc:
        raise DataError(f"{name}: expected a regular expression, received {exc}") from exc


def _check_callable(value: Any, name: str) -> Any:
    if value is not None and not callable(value):
        raise ParameterError(f"{name}: expected a function or None, received {value!r}")
    return value


def _check_accents(value: Any, name: str) -> Any:
    return None if value is None else check_choice(value, name, ("ascii", "unicode"))


def _check_stop_words(value: Any, name: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if value == "english":
        return ENGLISH_STOP_WORDS
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ParameterError(
            f"{name}: expected 'english', a list of words or None, received {value!r}"
        )
    words = list(value)
    if not all(isinstance(w, str) for w in words):
        raise ParameterError(f"{name}: expected a list of words, received {words!r}")
    return frozenset(words)


def _check_ngram_range(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, str) or not isinstance(value, Iterable) or len(list(value)) != 2:
        raise ParameterError(f"{name}: expected (min_n, max_n), received {value!r}")
    low, high = (check_positive_int(v, name) for v in value)
    if high < low:
        raise ParameterError(f"{name}: expected min_n <= max_n, received {value!r}")
    return low, high


def _check_document_frequency(value: Any, name: str) -> int | float:
    """A count of items (an int >= 1) or a share of them (a float in (0, 1])."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterError(
            f"{name}: expected a share of the items in (0, 1] or a count >= 1, received {value!r}"
        )
    if isinstance(value, int | np.integer):
        return check_positive_int(value, name)
    share = float(value)
    if not 0.0 < share <= 1.0:
        raise ParameterError(f"{name}: expected a share of the items in (0, 1], received {value!r}")
    return share


def _check_max_features(value: Any, name: str) -> int | None:
    return None if value is None else check_positive_int(value, name)


def _check_vocabulary(value: Any, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):  # scikit-learn's {term: column}: columns here are sorted
        value = list(value)
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ParameterError(f"{name}: expected a list of terms, received {value!r}")
    terms = list(value)
    if not terms or not all(isinstance(t, str) for t in terms) or len(set(terms)) != len(terms):
        raise ParameterError(
            f"{name}: expected a non-empty list of distinct terms, received {terms!r}"
        )
    return tuple(terms)


def _check_norm(value: Any, name: str) -> Any:
    return None if value is None else check_choice(value, name, ("l1", "l2"))


_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "lowercase": check_bool,
    "token_pattern": _check_pattern,
    "tokenizer": _check_callable,
    "preprocessor": _check_callable,
    "strip_accents": _check_accents,
    "stop_words": _check_stop_words,
    "ngram_range": _check_ngram_range,
    "min_df": _check_document_frequency,
    "max_df": _check_document_frequency,
    "max_features": _check_max_features,
    "vocabulary": _check_vocabulary,
    "norm": _check_norm,
    "use_idf": check_bool,
    "smooth_idf": check_bool,
    "sublinear_tf": check_bool,
}


# -------------------------------------------------------------------- steps
def item_texts(item_text: TextSource, text_col: str, item_col: str) -> tuple[np.ndarray, list[str]]:
    """``(item ids, texts)`` from a Series, a mapping or a DataFrame; missing text is ``""``."""
    if isinstance(item_text, pd.DataFrame):
        for col in (item_col, text_col):
            if col not in item_text.columns:
                raise DataError(
                    f"item_text: missing column {col!r}; expected {item_col!r} and "
                    f"{text_col!r}, received {[str(c) for c in item_text.columns]}"
                )
        raw_ids, raw_texts = item_text[item_col].to_numpy(), item_text[text_col].tolist()
    elif isinstance(item_text, pd.Series):
        raw_ids, raw_texts = item_text.index.to_numpy(), item_text.tolist()
    elif isinstance(item_text, Mapping):
        raw_ids, raw_texts = np.array(list(item_text.keys())), list(item_text.values())
    else:
        raise DataError(
            "item_text: expected a DataFrame, a Series or a mapping of item id to text, "
            f"received {type(item_text).__name__}"
        )
    ids = normalize_ids(raw_ids, item_col)
    texts = []
    for position, text in enumerate(raw_texts):
        if text is None or (isinstance(text, float) and np.isnan(text)):
            texts.append("")
        elif isinstance(text, str):
            texts.append(text)
        else:
            raise DataError(
                f"item_text: expected text, received {type(text).__name__} {text!r} for item "
                f"{ids[position].item()!r}"
            )
    return ids, texts


def analyze(text: str, options: VectorizerOptions) -> list[str]:
    """The terms of one text: preprocess, tokenise, drop stop words, form n-grams."""
    if options.preprocessor is not None:
        text = options.preprocessor(text)
    else:
        if options.lowercase:
            text = text.lower()
        text = _strip_accents(text, options.strip_accents)
    if options.tokenizer is not None:
        tokens = list(options.tokenizer(text))
    else:
        tokens = options.token_pattern.findall(text)
    if options.stop_words:
        tokens = [t for t in tokens if t not in options.stop_words]
    low, high = options.ngram_range
    if (low, high) == (1, 1):
        return tokens
    return [
        " ".join(tokens[start : start + n])
        for n in range(low, high + 1)
        for start in range(len(tokens) - n + 1)
    ]


def _strip_accents(text: str, how: str | None) -> str:
    if how is None:
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    if how == "ascii":
        return decomposed.encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def choose_vocabulary(counts: list[Counter[str]], options: VectorizerOptions) -> list[str]:
    """The terms kept, sorted: a fixed ``vocabulary`` (in its order, as given), else the
    terms within ``min_df`` / ``max_df`` and, with ``max_features``, the most frequent."""
    if options.vocabulary is not None:
        return sorted(options.vocabulary)
    n_docs = len(counts)
    df: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for doc in counts:
        df.update(doc.keys())
        totals.update(doc)
    low = options.min_df if isinstance(options.min_df, int) else options.min_df * n_docs
    high = options.max_df if isinstance(options.max_df, int) else options.max_df * n_docs
    vocabulary = [term for term, n in df.items() if low <= n <= high]
    if options.max_features is not None and len(vocabulary) > options.max_features:
        vocabulary = sorted(vocabulary, key=lambda t: (-totals[t], t))[: options.max_features]
    return sorted(vocabulary)


def count_matrix(counts: list[Counter[str]], vocabulary: list[str]) -> sp.csr_matrix:
    """Items x terms float32 CSR of term counts (terms outside ``vocabulary`` dropped)."""
    column = {term: j for j, term in enumerate(vocabulary)}
    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    for doc in counts:
        kept = sorted((column[t], n) for t, n in doc.items() if t in column)
        indices.extend(j for j, _ in kept)
        values.extend(float(n) for _, n in kept)
        indptr.append(len(indices))
    return sp.csr_matrix(
        (np.array(values, dtype=np.float32), np.array(indices, dtype=np.int32), indptr),
        shape=(len(counts), len(vocabulary)),
    )


def weigh(counts: sp.csr_matrix, method: Method, options: VectorizerOptions) -> sp.csr_matrix:
    """Counts turned into the ``method``'s values (float32 CSR)."""
    if method == "count":
        return counts
    if method == "binary":
        return binarize(counts)
    weighted = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    if options.sublinear_tf:
        weighted.data = (1.0 + np.log(weighted.data)).astype(np.float32)
    if options.use_idf:
        weighted = tfidf_weight(weighted, smooth=options.smooth_idf)
    return weighted if options.norm is None else normalize_rows(weighted, options.norm)
