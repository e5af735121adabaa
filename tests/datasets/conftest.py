"""Fixtures for the dataset tests: tiny files in each official format, written to
tmp_path at test time, a fake network, and an isolated data home.

No real dataset file is committed; every writer below produces a few rows in the
layout (separators, encodings, headers, line endings) of the official files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import urllib.error
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from recommender_systems.datasets import _download
from recommender_systems.datasets._registry import SPECS, DatasetSpec

# Read before the autouse fixture below points RECSYS_DATA_DIR at tmp_path.
REAL_DATA_DIR = os.environ.get("RECSYS_DATA_DIR")

GENRES_100K = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip

RATINGS_100K = [(196, 242, 3, 881250949), (186, 302, 3, 891717742), (22, 242, 1, 878887116)]


def _flags(*genres: str) -> str:
    return "|".join("1" if genre in genres else "0" for genre in GENRES_100K)


def write_ml_100k(folder: Path) -> dict[str, bytes]:
    """u.data (tab separated), u.item (Latin-1, pipes, 19 flags), u.genre."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "u.data": "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in RATINGS_100K).encode(),
        "u.item": (
            f"242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|"
            f"{_flags('Comedy')}\n"
            f"267|unknown||||{_flags('unknown')}\n"
            f"302|L.A. Confidential (1997)|01-Jan-1997||http://x|{_flags('Crime', 'Film-Noir')}\n"
            f'1000|Misérables, Les "The Musical"|01-Jan-1995||http://x|{_flags("Drama")}\n'
        ).encode("latin-1"),
        "u.genre": "".join(f"{name}|{index}\n" for index, name in enumerate(GENRES_100K)).encode()
        + b"\n",
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return files


def write_ml_1m(folder: Path) -> dict[str, bytes]:
    """ratings.dat and movies.dat: ``::`` separated, Latin-1."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "ratings.dat": b"1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n",
        "movies.dat": (
            "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
            "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
            '3000::Café: "Au Revoir" (2000)::Comedy\n'
        ).encode("latin-1"),
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return files


def write_ml_csv(folder: Path) -> dict[str, bytes]:
    """ratings.csv and movies.csv as in ml-20m/25m/latest-small (UTF-8, CRLF)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "ratings.csv": (
            b"userId,movieId,rating,timestamp\r\n"
            b"1,1,4.0,964982703\r\n1,3,3.5,964981247\r\n2,1,0.5,1445714994\r\n"
        ),
        "movies.csv": (
            "movieId,title,genres\r\n"
            "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n"
            '3,"American President, The (1995)",Comedy|Drama|Romance\r\n'
            "5,Babylon 5 (1994-1998) ,Sci-Fi\r\n"
            "7,Untitled Spaceship Movie,(no genres listed)\r\n"
            '9,"Amélie (Fabuleux destin d\'Amélie Poulain, Le) (2001)",Comedy|Romance\r\n'
        ).encode(),
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return files


BOOKS_HEADER = (
    "book_id,goodreads_book_id,best_book_id,work_id,books_count,isbn,isbn13,authors,"
    "original_publication_year,original_title,title,language_code,average_rating"
)


def write_goodbooks(folder: Path) -> dict[str, bytes]:
    """ratings.csv, books.csv, tags.csv and book_tags.csv of goodbooks-10k."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "ratings.csv": b"user_id,book_id,rating\n1,258,5\n2,4081,4\n2,260,5\n",
        "books.csv": (
            BOOKS_HEADER + "\n"
            "1,2767052,2767052,2792775,272,439023483,9.78043902348e+12,Suzanne Collins,"
            "2008.0,The Hunger Games,The Hunger Games (The Hunger Games #1),eng,4.34\n"
            '2,3,3,4640799,491,439554934,9.78043955493e+12,"J.K. Rowling, Mary GrandPré",'
            "1997.0,Harry Potter and the Philosopher's Stone,"
            '"Harry Potter and the Sorcerer\'s Stone (Harry Potter, #1)",eng,4.44\n'
            "3,1885,1885,3060926,3455,679783261,9.78067978327e+12,Homer,-750.0,,"
            "The Odyssey,,3.73\n"
        ).encode(),
        "tags.csv": b"tag_id,tag_name\n0,-\n11305,fantasy\n30574,to-read\n8717,classics\n",
        "book_tags.csv": (
            b"goodreads_book_id,tag_id,count\n"
            b"2767052,30574,11314\n2767052,11305,3244\n"
            b"3,11305,4000\n3,30574,8000\n3,11305,1000\n"
            b"1885,8717,500\n1885,0,-1\n"
            b"999999,8717,7\n"
        ),
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return files


WRITERS: Mapping[str, Callable[[Path], dict[str, bytes]]] = {
    "ml-100k": write_ml_100k,
    "ml-1m": write_ml_1m,
    "ml-20m": write_ml_csv,
    "ml-25m": write_ml_csv,
    "ml-latest-small": write_ml_csv,
    "goodbooks-10k": write_goodbooks,
}


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def zip_bytes(files: Mapping[str, bytes], *, top_folder: str | None) -> bytes:
    """A zip archive of ``files``, inside ``top_folder/`` if given (as MovieLens)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(f"{top_folder}/{name}" if top_folder else name, content)
    return buffer.getvalue()


def patch_spec(monkeypatch: pytest.MonkeyPatch, name: str, **changes: Any) -> DatasetSpec:
    """Swap the registry entry of ``name`` for a copy with ``changes``."""
    spec = dataclasses.replace(SPECS[name], **changes)
    monkeypatch.setitem(SPECS, name, spec)
    return spec


class FakeResponse:
    """What ``urlopen`` returns: a readable body, headers, a context manager."""

    def __init__(
        self,
        body: bytes,
        *,
        fail_after: int | None = None,
        failure: BaseException | None = None,
        length: int | None = None,
    ):
        self._body = io.BytesIO(body)
        self._fail_after = fail_after
        self._failure = failure or ConnectionResetError("connection reset by peer (test)")
        self._sent = 0
        self.headers = {"Content-Length": str(len(body) if length is None else length)}

    def read(self, size: int = -1) -> bytes:
        if self._fail_after is not None and self._sent >= self._fail_after:
            raise self._failure
        chunk = self._body.read(size if self._fail_after is None else min(size, 64))
        self._sent += len(chunk)
        return chunk

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


class FakeNetwork:
    """Serves registered bodies by URL; anything else is unreachable."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[], FakeResponse]] = {}
        self.requested: list[str] = []

    def serve(self, url: str, body: bytes, **options: Any) -> None:
        self.routes[url] = lambda: FakeResponse(body, **options)

    def urlopen(self, request: Any, timeout: float | None = None) -> FakeResponse:
        url = request.full_url if hasattr(request, "full_url") else str(request)
        self.requested.append(url)
        assert timeout is not None, "downloads must use a timeout"
        assert timeout > 0
        if url not in self.routes:
            raise urllib.error.URLError("network is disabled in tests")
        return self.routes[url]()


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch) -> FakeNetwork:
    """No test reaches the internet: downloads go to this fake network."""
    fake = FakeNetwork()
    monkeypatch.setattr(_download, "urlopen", fake.urlopen)
    return fake


@pytest.fixture(autouse=True)
def isolated_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every default location into tmp_path so nothing is written elsewhere."""
    home = tmp_path / "env-data"
    monkeypatch.setenv("RECSYS_DATA_DIR", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return home


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> content), hidden ones included."""
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
