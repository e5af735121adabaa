"""What the library knows about each dataset: address, hashes, licence, files.

Where each SHA-256 comes from (none was computed here; there is no network to the
publishers from the machine this was written on):

* MovieLens archives: TensorFlow Datasets,
  ``tensorflow_datasets/url_checksums/movielens.txt`` (tensorflow/datasets), which
  pins URL, size and SHA-256 of ml-100k.zip, ml-1m.zip, ml-20m.zip, ml-25m.zip and
  ml-latest-small.zip.
* ml-100k member files ``u.data`` and ``u.item``: pinned by ankane/disco
  (``lib/disco/data.rb``) and ankane/cmfrec-ruby (``lib/cmfrec/data.rb``), which
  download them one by one from files.grouplens.org and check these hashes.
* ml-latest-small member files (2018-09 release): the same values are pinned in
  several unrelated public repositories found by code search (data READMEs and
  test scripts that list the SHA-256 of ``ratings.csv``, ``movies.csv``,
  ``tags.csv``, ``links.csv`` and ``README.txt``); they agree with one another and
  with the files that accompany the archive hash above.
* goodbooks-10k release archive (v1.0, ``goodbooks-10k.zip``): Ludwig,
  ``ludwig/datasets/configs/goodbooks_books.yaml`` (ludwig-ai/ludwig).

A file whose hash is ``None`` has no published value that could be found: loading
it from a folder the library did not download and verify itself raises a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from recommender_systems.errors import DataError

_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"

_MOVIELENS_CITATION = (
    "cite F. M. Harper and J. A. Konstan, 'The MovieLens Datasets: History and Context', "
    "ACM TiiS 5(4), 2015"
)
_MOVIELENS_NO_REDISTRIBUTION = (
    "GroupLens research licence: research use only, no commercial use and no "
    "redistribution without permission; " + _MOVIELENS_CITATION
)
_MOVIELENS_SHARE_ALIKE = (
    "GroupLens research licence: research use only, no commercial use without "
    "permission, redistribution only under the same licence; " + _MOVIELENS_CITATION
)


@dataclass(frozen=True)
class DatasetInfo:
    """Public summary of a dataset, as returned by :func:`list_datasets`.

    Examples:
        >>> from recommender_systems.datasets import list_datasets
        >>> names = [info.name for info in list_datasets()]
        >>> names[0], names[1]
        ('ml-100k', 'ml-1m')
    """

    name: str
    description: str
    n_ratings: int
    licence: str
    url: str


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to fetch, verify and find the files of one dataset."""

    name: str
    folder: str
    archive_url: str
    archive_sha256: str | None
    homepage: str
    description: str
    n_ratings: int
    licence: str
    # Files the loaders read, with the official SHA-256 where one is published.
    file_sha256: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def archive_name(self) -> str:
        return self.archive_url.rsplit("/", 1)[-1]

    @property
    def info(self) -> DatasetInfo:
        return DatasetInfo(
            name=self.name,
            description=self.description,
            n_ratings=self.n_ratings,
            licence=self.licence,
            url=self.homepage,
        )


_SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="ml-100k",
        folder="ml-100k",
        archive_url=_GROUPLENS + "ml-100k.zip",
        archive_sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        homepage="https://grouplens.org/datasets/movielens/100k/",
        description="MovieLens 100K: 943 users rate 1,682 movies on 1-5 stars (1997-1998).",
        n_ratings=100_000,
        licence=_MOVIELENS_NO_REDISTRIBUTION,
        file_sha256={
            "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
            "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
            "u.genre": None,
        },
    ),
    DatasetSpec(
        name="ml-1m",
        folder="ml-1m",
        archive_url=_GROUPLENS + "ml-1m.zip",
        archive_sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        homepage="https://grouplens.org/datasets/movielens/1m/",
        description="MovieLens 1M: 6,040 users rate 3,706 movies on 1-5 stars (2000-2003).",
        n_ratings=1_000_209,
        licence=_MOVIELENS_NO_REDISTRIBUTION,
        file_sha256={"ratings.dat": None, "movies.dat": None},
    ),
    DatasetSpec(
        name="ml-20m",
        folder="ml-20m",
        archive_url=_GROUPLENS + "ml-20m.zip",
        archive_sha256="96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
        homepage="https://grouplens.org/datasets/movielens/20m/",
        description="MovieLens 20M: 138,493 users rate 26,744 movies in half stars (1995-2015).",
        n_ratings=20_000_263,
        licence=_MOVIELENS_SHARE_ALIKE,
        file_sha256={"ratings.csv": None, "movies.csv": None},
    ),
    DatasetSpec(
        name="ml-25m",
        folder="ml-25m",
        archive_url=_GROUPLENS + "ml-25m.zip",
        archive_sha256="8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
        homepage="https://grouplens.org/datasets/movielens/25m/",
        description="MovieLens 25M: 162,541 users rate 59,047 movies in half stars (1995-2019).",
        n_ratings=25_000_095,
        licence=_MOVIELENS_SHARE_ALIKE,
        file_sha256={"ratings.csv": None, "movies.csv": None},
    ),
    DatasetSpec(
        name="ml-latest-small",
        folder="ml-latest-small",
        archive_url=_GROUPLENS + "ml-latest-small.zip",
        archive_sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        homepage="https://grouplens.org/datasets/movielens/latest/",
        description=(
            "MovieLens latest-small (2018-09 release): 610 users rate 9,724 movies in "
            "half stars (1996-2018)."
        ),
        n_ratings=100_836,
        licence=_MOVIELENS_SHARE_ALIKE,
        file_sha256={
            "ratings.csv": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
            "movies.csv": "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
            "tags.csv": "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d",
            "links.csv": "97ad18e4e56a09363c65676b6cb3482ce3e2cea2372a24620c1599c843325f31",
        },
    ),
    DatasetSpec(
        name="goodbooks-10k",
        folder="goodbooks-10k",
        archive_url="https://github.com/zygmuntz/goodbooks-10k/releases/download/v1.0/goodbooks-10k.zip",
        archive_sha256="261b97b56db61f3fb2ce5aadbb13704d30179fcc986c17ace665a0af9ed00731",
        homepage="https://github.com/zygmuntz/goodbooks-10k",
        description=(
            "goodbooks-10k: 53,424 Goodreads users rate 10,000 books on 1-5 stars, "
            "with book metadata and user tags."
        ),
        n_ratings=5_976_479,
        licence="CC BY-SA 4.0 (attribution, share-alike); cite Zygmunt Zajac, goodbooks-10k",
        file_sha256={
            "ratings.csv": None,
            "books.csv": None,
            "tags.csv": None,
            "book_tags.csv": None,
        },
    ),
)

SPECS: Mapping[str, DatasetSpec] = {spec.name: spec for spec in _SPECS}


def get_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; a :class:`DataError` listing the known names otherwise."""
    try:
        return SPECS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(known_name) for known_name in SPECS)
        raise DataError(f"unknown dataset {name!r}: expected one of {known}") from None
