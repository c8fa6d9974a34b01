"""manage.py load_goodbooks: goodbooks-10k into the catalogue, idempotently, never shipped.

Most tests write a few rows in the goodbooks format themselves; one imports the real
10,000 books when ``../shared/data/recsys/goodbooks-10k`` is on this machine.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import io
import shutil
import threading
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command

from coko.domains.catalog import importing
from coko.domains.catalog.models import Author, Book, BookAuthor, Category, Edition

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

SHARED = Path(settings.BASE_DIR).parent / "shared" / "data" / "recsys" / "goodbooks-10k"
COLUMNS = ["book_id", "goodreads_book_id", "best_book_id", "work_id", "books_count", "isbn", "isbn13", "authors",
           "original_publication_year", "original_title", "title", "language_code", "average_rating",
           "ratings_count", "work_ratings_count", "work_text_reviews_count", "ratings_1", "ratings_2", "ratings_3",
           "ratings_4", "ratings_5", "image_url", "small_image_url"]
NOPHOTO = "https://s.gr-assets.com/assets/nophoto/book/111x148-bcc042a9c91a29c1d680899eff700a03.png"
ROWS = [
    # goodreads id, isbn, authors, year, title, language, rating, ratings, genres
    ("2767052", "439023483", "Suzanne Collins", "2008.0", "The Hunger Games (The Hunger Games, #1)", "eng", "4.34",
     "4780653", "dystopia,fantasy,fiction,sci-fi,science-fiction,teen,to-read-fiction,ya,ya-fiction,young-adult"),
    ("3", "439554934", "J.K. Rowling, Mary GrandPré, J.K. Rowling", "1997.0",
     "Harry Potter and the Sorcerer's Stone (Harry Potter, #1)", "en-US", "4.44", "4602479",
     "childrens,children-s-books,classics,fantasy,fiction,magic,middle-grade,wizards,young-adult"),
    ("1371", "140275363", "Homer, Robert Fagles, Bernard Knox", "-750.0", "The Iliad", "", "3.83", "241088",
     "classics,epic,fiction,greek-mythology,history,mythology,poetry,war"),
    ("49552", "123456780", "Albert Camus", "1942.0", "L'Étranger", "fre", "3.96", "9000",
     "classics,fiction,french-literature,philosophy"),
    ("33", "618346252", "J.R.R. Tolkien", "1955.0", "The Lord of the Rings (The Lord of the Rings, #1-3)", "en-GB",
     "4.47", "500000", "adventure,classics,epic-fantasy,fantasy,fiction"),
    ("5907", "", "Naguib Mahfouz", "", "Palace Walk (The Cairo Trilogy, #1)", "ara", "3.90", "700",
     "arabic-literature,classics,fiction,historical-fiction"),
]


def write_goodbooks(directory: Path, rows=ROWS, *, genres_file: str = "book_genres.csv") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "books.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for number, (gid, isbn, authors, year, title, lang, avg, count, _genres) in enumerate(rows, start=1):
            image = NOPHOTO if gid == "49552" else f"https://images.gr-assets.com/books/1m/{gid}.jpg"
            small = NOPHOTO if gid == "49552" else f"https://images.gr-assets.com/books/1s/{gid}.jpg"
            writer.writerow({
                "book_id": number, "goodreads_book_id": gid, "best_book_id": gid, "work_id": number,
                "books_count": 1, "isbn": isbn, "isbn13": "9.78043902348e+12", "authors": authors,
                "original_publication_year": year, "original_title": title.split(" (")[0], "title": title,
                "language_code": lang, "average_rating": avg, "ratings_count": count, "work_ratings_count": count,
                "work_text_reviews_count": 1, "ratings_1": 0, "ratings_2": 0, "ratings_3": 0, "ratings_4": 0,
                "ratings_5": 0, "image_url": image, "small_image_url": small})
    with (directory / genres_file).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["book_id", "goodreads_book_id", "genres"])
        for number, row in enumerate(rows, start=1):
            writer.writerow([number, row[0], row[-1]])
    return directory


def load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_goodbooks", *args, stdout=out)
    return out.getvalue()


def book(goodreads_id: str) -> Book:
    return Book.objects.using("catalog").get(external_ids__goodreads=goodreads_id)


def published_events() -> list[dict]:
    outbox = apps.get_model("catalog", "OutboxEvent").objects.using("catalog")
    return [e.payload for e in outbox.filter(type="book.published")]


def test_import_maps_the_goodbooks_columns(tmp_path):
    out = load("--source", str(write_goodbooks(tmp_path / "gb")))

    assert "goodbooks-10k, Zygmunt Zając, https://github.com/zygmuntz/goodbooks-10k (CC BY-SA 4.0)" in out
    assert "6 books imported" in out
    assert Book.objects.using("catalog").filter(status="published").count() == 6

    hunger = book("2767052")
    assert (hunger.title, hunger.series.name, hunger.series_position) == ("The Hunger Games", "The Hunger Games", 1)
    assert hunger.language == "en" and hunger.publication_year == 2008
    assert hunger.external_ids == {"goodreads": "2767052"}
    assert float(hunger.rating_average) == 4.34 and hunger.rating_count == 4780653
    # popularity seeded from the ratings, log-scaled: millions of ratings are ~1000 points (issue 11)
    assert hunger.popularity == hunger.popularity_seed == importing.popularity_seed(4780653) == 997
    # the cover is fetched into storage later (files.covers), never shown from Goodreads' host
    assert hunger.cover_urls == {} and hunger.cover_file_id is None
    assert hunger.cover_source_url == "https://images.gr-assets.com/books/1m/2767052.jpg"
    assert hunger.published_at is not None
    # the isbn column lost its leading zero: 439023483 is ISBN-10 0439023483
    assert list(hunger.editions.values_list("isbn13", flat=True)) == ["9780439023481"]

    potter = book("3")
    credits = BookAuthor.objects.using("catalog").filter(book=potter).order_by("position")
    assert [c.author.name for c in credits] == ["J.K. Rowling", "Mary GrandPré"]  # order kept, once each
    assert potter.series.name == "Harry Potter" and potter.series_position == 1

    iliad = book("1371")
    assert iliad.publication_year == -750 and iliad.language == "en"  # blank language -> en
    assert [a.name for a in iliad.authors.order_by("credits__position")] == ["Homer", "Robert Fagles", "Bernard Knox"]

    stranger = book("49552")
    assert stranger.language == "fr" and stranger.title == "L'Étranger"
    assert not stranger.editions.exists()  # 0123456780 has a wrong check digit: skipped
    assert stranger.cover_source_url == ""  # Goodreads' "nophoto" placeholder is no cover

    rings = book("33")
    assert rings.title == "The Lord of the Rings" and rings.series.name == "The Lord of the Rings"
    assert rings.series_position is None  # #1-3: a box set, no position
    assert rings.language == "en"  # en-GB

    palace = book("5907")
    assert palace.language == "ar" and palace.publication_year is None
    assert palace.series.name == "The Cairo Trilogy"

    # access models are the deterministic synthetic mix; prices in XOF
    for b in Book.objects.using("catalog").all():
        assert b.access_model in {"free", "subscription", "sale"}
        if b.access_model == "sale":
            assert b.price_currency == "XOF" and 1500 <= b.price_amount <= 5000 and b.price_xof == b.price_amount
        else:
            assert b.price_amount is None
        assert (b.access_model, b.price_amount) == importing.synthetic_access(
            f"goodreads:{b.external_ids['goodreads']}")[:2]

    assert Author.objects.using("catalog").get(name="J.K. Rowling").book_count == 1
    events = published_events()
    assert len(events) == 6
    event = next(e for e in events if e["book_id"] == str(hunger.id))
    assert event["status"] == "published" and event["title"] == "The Hunger Games"
    assert len(event["author_ids"]) == 1 and len(event["category_ids"]) == hunger.categories.count()


def test_categories_form_a_two_level_tree(tmp_path):
    load("--source", str(write_goodbooks(tmp_path / "gb")))
    categories = Category.objects.using("catalog")
    tops = {c.slug: c for c in categories.filter(parent=None)}
    assert {"fiction", "fantasy-science-fiction", "mystery-thriller", "romance", "young-adult", "children",
            "classics", "history", "biography-memoir", "non-fiction", "poetry", "religion-philosophy"} <= set(tops)
    assert all(c.translations.get("fr") for c in tops.values())
    assert tops["children"].translations["fr"] == "Jeunesse"
    assert categories.filter(depth__gt=1).count() == 0
    # the tags became children of the top-level categories, spelling variants merged
    science_fiction = categories.get(slug="science-fiction")  # "sci-fi" and "science-fiction"
    assert science_fiction.parent.slug == "fantasy-science-fiction"
    assert categories.get(slug="dystopia").parent.slug == "fantasy-science-fiction"
    assert categories.get(slug="middle-grade").parent.slug == "children"
    assert categories.get(slug="french-literature").parent.slug == "fiction"
    assert not categories.filter(slug__startswith="to-read").exists()  # shelf names are not genres
    for b in Book.objects.using("catalog").all():
        assert 1 <= b.categories.count() <= importing.RELEVANT_CATEGORIES
    assert set(book("2767052").categories.values_list("slug", flat=True)) & {"science-fiction", "dystopia"}


def test_relevance_prefers_agreeing_and_specific_tags():
    genres = {"1": ["fiction", "ya", "young-adult", "ya-fiction", "dystopia"],
              "2": ["fiction", "romance"], "3": ["fiction", "mystery"], "4": ["fiction", "history"]}
    taxonomy = importing.genre_taxonomy(genres)
    picked = importing.relevant_categories(genres["1"], taxonomy, books=4, limit=2)
    # three shelf names agree on young adult; "fiction" is on every book and says nothing
    assert picked == ["young-adult", "dystopia"]


def test_import_twice_creates_nothing_new(tmp_path):
    source = str(write_goodbooks(tmp_path / "gb"))
    load("--source", source)
    counts = (Book.objects.using("catalog").count(), Author.objects.using("catalog").count(),
              Edition.objects.using("catalog").count(), Category.objects.using("catalog").count(),
              Book.categories.through.objects.using("catalog").count(), len(published_events()))
    out = load("--source", source)
    assert "0 books imported, 6 already there" in out
    assert counts == (Book.objects.using("catalog").count(), Author.objects.using("catalog").count(),
                      Edition.objects.using("catalog").count(), Category.objects.using("catalog").count(),
                      Book.categories.through.objects.using("catalog").count(), len(published_events()))
    assert Author.objects.using("catalog").get(name="Suzanne Collins").book_count == 1


def test_book_metadata_csv_works_too(tmp_path):
    load("--source", str(write_goodbooks(tmp_path / "gb", genres_file="book_metadata.csv")))
    assert book("2767052").categories.exists()


def test_source_from_the_environment_and_clear_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("COKO_GOODBOOKS_DIR", raising=False)
    with pytest.raises(CommandError, match="--source DIR, COKO_GOODBOOKS_DIR=DIR, or --download"):
        load()
    with pytest.raises(CommandError, match="no books.csv"):
        load("--source", str(tmp_path))
    monkeypatch.setenv("COKO_GOODBOOKS_DIR", str(write_goodbooks(tmp_path / "gb")))
    assert "6 books imported" in load()


def test_imported_books_are_listed_and_searchable(tmp_path, anonymous):
    load("--source", str(write_goodbooks(tmp_path / "gb")))
    listed = anonymous.get("/books?limit=100")
    assert listed.status_code == 200, listed.data
    assert len(listed.data["items"]) == 6
    assert listed.data["items"][0]["title"] == "The Hunger Games"  # most popular first
    fantasy = anonymous.get("/books?category=fantasy-science-fiction&limit=100")
    assert "The Hunger Games" in [b["title"] for b in fantasy.data["items"]]
    french = anonymous.get("/books?language=fr")
    assert [b["title"] for b in french.data["items"]] == ["L'Étranger"]
    one = anonymous.get(f"/books/{book('3').id}")
    assert one.status_code == 200, one.data
    assert one.data["series"]["name"] == "Harry Potter" and one.data["editions"][0]["isbn13"] == "9780439554930"
    assert [a["name"] for a in one.data["authors"]] == ["J.K. Rowling", "Mary GrandPré"]
    found = anonymous.get("/books/search?q=hunger")
    assert found.status_code == 200, found.data
    assert found.data["items"][0]["title"] == "The Hunger Games"
    by_author = anonymous.get("/books/search?q=rowling")
    assert [b["title"] for b in by_author.data["items"]] == ["Harry Potter and the Sorcerer's Stone"]
    tree = anonymous.get("/categories", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Fantasy et science-fiction" in [n["name"] for n in tree.data]


def test_goodreads_roles_make_contributors_not_authors(tmp_path, anonymous):
    """Goodreads writes a translator or an illustrator among the authors, with the part in
    parentheses: they are credited in that role, never listed as authors."""
    rows = [("1371", "140275363", "Homer, Robert Fagles (Translator), Bernard Knox (Introduction, Notes)",
             "-750.0", "The Iliad", "eng", "3.83", "241088", "classics,poetry"),
            ("7", "", "Lewis Carroll, John Tenniel (Illustrator), Martin Gardner (Editor/Contributor), "
                      "Homer (Goodreads Author)", "1865.0", "Alice in Wonderland", "eng", "4.0", "100", "classics")]
    load("--source", str(write_goodbooks(tmp_path / "gb", rows)))
    iliad = anonymous.get(f"/books/{book('1371').id}").data
    assert [a["name"] for a in iliad["authors"]] == ["Homer"]
    assert [(c["name"], c["role"]) for c in iliad["contributors"]] == [
        ("Homer", "author"), ("Robert Fagles", "translator"), ("Bernard Knox", "contributor")]
    alice = anonymous.get(f"/books/{book('7').id}").data
    assert [(c["name"], c["role"]) for c in alice["contributors"]] == [
        ("Lewis Carroll", "author"), ("Homer", "author"), ("John Tenniel", "illustrator"),
        ("Martin Gardner", "editor")]
    assert not Author.objects.using("catalog").filter(name__contains="(").exists()
    listed = anonymous.get("/books?limit=100").data["items"]
    assert {b["title"]: [a["name"] for a in b["authors"]] for b in listed} == {
        "The Iliad": ["Homer"], "Alice in Wonderland": ["Lewis Carroll", "Homer"]}
    # the authors' pages: the translator's book is there, under the translator
    fagles = next(c for c in iliad["contributors"] if c["role"] == "translator")
    assert [b["title"] for b in anonymous.get(f"/authors/{fagles['id']}").data["books"]] == ["The Iliad"]


# --- download (a loopback mirror: no network here) ---------------------------------------------------
class _Mirror:
    def __init__(self, directory: Path) -> None:
        self.requests: list[str] = []
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                mirror.requests.append(self.path)
                super().do_GET()

        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/data"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror(tmp_path):
    served = tmp_path / "mirror"
    (served / "data").mkdir(parents=True)
    mirrors = []

    def start(files: dict[str, Path]) -> _Mirror:
        for name, path in files.items():
            shutil.copyfile(path, served / "data" / name)
        mirrors.append(_Mirror(served))
        return mirrors[-1]

    yield start
    for m in mirrors:
        m.close()


def test_the_pinned_checksums_are_those_of_the_shared_files():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not on this machine")
    for name, (_url, sha1) in importing.GOODBOOKS_FILES.items():
        assert hashlib.sha1((SHARED / name).read_bytes()).hexdigest() == sha1
        assert _url.startswith("https://raw.githubusercontent.com/") and "/" + name in _url


def test_download_verifies_the_checksums(tmp_path, mirror):
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not on this machine: the good-checksum download needs the real files")
    server = mirror({"books.csv": SHARED / "books.csv", "book_genres.csv": SHARED / "book_genres.csv"})
    cache_dir = tmp_path / "cache"
    importing.goodbooks_download(dest=cache_dir, base_url=server.url)
    assert sorted(p.name for p in cache_dir.iterdir()) == ["book_genres.csv", "books.csv"]
    assert (cache_dir / "books.csv").read_bytes() == (SHARED / "books.csv").read_bytes()
    assert server.requests == ["/data/books.csv", "/data/book_genres.csv"]
    importing.goodbooks_download(dest=cache_dir, base_url=server.url)  # already there: not fetched again
    assert len(server.requests) == 2


def test_download_with_a_wrong_checksum_is_refused_and_loads_nothing(tmp_path, mirror):
    fake = write_goodbooks(tmp_path / "fake")  # goodbooks-shaped, but not the pinned files
    server = mirror({"books.csv": fake / "books.csv", "book_genres.csv": fake / "book_genres.csv"})
    cache_dir = tmp_path / "cache"
    with pytest.raises(CommandError, match="books.csv .* has SHA-1 .* expected a4d78ef2"):
        load("--download", "--cache-dir", str(cache_dir), "--download-url", server.url)
    assert not Book.objects.using("catalog").exists()
    assert list(cache_dir.iterdir()) == []  # nothing kept


def test_download_url_from_the_environment(tmp_path, mirror, monkeypatch):
    fake = write_goodbooks(tmp_path / "fake")
    server = mirror({"books.csv": fake / "books.csv", "book_genres.csv": fake / "book_genres.csv"})
    monkeypatch.setenv("COKO_GOODBOOKS_URL", server.url)
    with pytest.raises(CommandError, match="refused, nothing loaded"):
        load("--download", "--cache-dir", str(tmp_path / "cache"))
    assert server.requests == ["/data/books.csv"]


def test_the_real_goodbooks_10k():
    if not (SHARED / "books.csv").is_file():
        pytest.skip(f"goodbooks-10k is not on this machine ({SHARED}): nothing to import")
    out = load("--source", str(SHARED))
    assert "10,000 books imported" in out
    books = Book.objects.using("catalog")
    assert books.filter(status="published", external_ids__has_key="goodreads").count() == 10_000
    assert book("2767052").title == "The Hunger Games"
    assert Edition.objects.using("catalog").exclude(isbn13=None).count() > 9000
    assert books.filter(language="fr").exists() and books.filter(language="ar").exists()
    assert books.filter(publication_year__lt=0).exists()
    assert not books.filter(categories=None).exists()
    assert Category.objects.using("catalog").filter(depth=0).count() == 14
    assert Author.objects.using("catalog").get(name="Stephen King").book_count > 50
    assert len(published_events()) == 10_000
