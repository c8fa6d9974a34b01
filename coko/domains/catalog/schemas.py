"""The HTTP API's schemas of the catalog: query strings, bodies and answers (``catalog.http``)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Schema

from . import contracts

Sort = Literal[contracts.SORTS]
Order = Literal[contracts.ORDERS]
Access = Literal["free", "subscription", "sale"]
CARD_FIELDS = ("id", "title", "authors", "contributors", "language", "access_model", "price", "rating",
               "popularity", "cover", "publication_year", "published_at")


class BookFilterQuery(Schema):
    """The filters of ``GET /books`` and ``GET /books/search``."""

    category: str | None = Field(None, max_length=120,
                                 description="a category's slug or path (its descendants included)")
    author: str | None = Field(None, min_length=1, max_length=200,
                               description="an author's id, or name: case, accents and spacing aside "
                                           "(GET /authors?q= finds names with typos)")
    publisher: UUID | None = Field(None, description="a publisher's id (GET /publishers)")
    series: UUID | None = Field(None, description="a series' id (GET /series)")
    language: str | None = Field(None, min_length=2, max_length=3, pattern=r"^[a-z]{2,3}$")
    access_model: Access | None = None
    price_min: int | None = Field(None, ge=0, description="in XOF (EUR and USD prices are converted)")
    price_max: int | None = Field(None, ge=0, description="in XOF")
    limit: int = Field(20, ge=1, le=100)
    fields: str | None = Field(None, max_length=200, description="comma-separated item fields (sparse)")


class BookListQuery(BookFilterQuery):
    sort: Sort = Field("popularity", description=(
        "popularity (most read first), newest (latest on Coko first), rating (best rated first), "
        "title (A to Z, the title shown in the reader's language), author (the first author's sort "
        "name, A to Z), year (the year of first publication, most recent first); books without an "
        "author or a year come last"))
    order: Order | None = Field(None, description=(
        "the direction: asc or desc; by default the sort's own, as listed under sort "
        "(order=asc with sort=year: oldest first)"))
    cursor: str | None = Field(None, max_length=400, description="the next_cursor of the previous page "
                                                                 "(of the same sort and order)")


class SearchQuery(BookFilterQuery):
    q: str = Field(..., min_length=1, max_length=200)
    sort: Literal["relevance"] = Field("relevance", description="results come best first; the other sorts "
                                                                 "are those of GET /books")
    cursor: str | None = Field(None, max_length=400, description="the next_cursor of the previous page")
    offset: int = Field(0, ge=0, le=10000, description="the first result's rank, for clients that count "
                                                        "(a cursor, when sent, wins)")


class NameQuery(Schema):
    q: str | None = Field(None, max_length=100, description="part of the name; accents and case aside, "
                                                            "and typos tolerated for authors")
    cursor: str | None = Field(None, max_length=400)
    limit: int = Field(20, ge=1, le=100)


AuthorQuery = NameQuery


class Credit(Schema):
    id: UUID | None = None
    name: str | None = Field(None, max_length=200)
    role: Literal[contracts.CREDIT_ROLES] = "author"


class Texts(Schema):
    title: str | None = Field(None, max_length=300)
    subtitle: str | None = Field(None, max_length=300)
    description: str | None = Field(None, max_length=20000)


class BookIn(Schema):
    title: str = Field(..., min_length=1, max_length=300)
    subtitle: str = Field("", max_length=300)
    description: str = Field("", max_length=20000)
    translations: dict[str, Texts] = Field(default_factory=dict)
    language: str = Field("en", min_length=2, max_length=10)
    access_model: Access = "free"
    price_amount: int | None = Field(None, gt=0, description="integer minor units (XOF has none)")
    price_currency: Literal["XOF", "EUR", "USD"] | None = None
    publication_date: date | None = None
    publication_year: int | None = Field(None, ge=-3000, le=2100)
    publisher: str | None = Field(None, max_length=200)
    series: str | None = Field(None, max_length=200)
    series_position: float | None = Field(None, ge=0, le=9999)
    authors: list[Credit | str] = Field(default_factory=list, max_length=50)
    categories: list[str] = Field(default_factory=list, max_length=20)
    isbn: str | None = Field(None, max_length=20)
    owner_id: UUID | None = Field(None, description="staff only: the author who manages the book")


class BookPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=300)
    subtitle: str | None = Field(None, max_length=300)
    description: str | None = Field(None, max_length=20000)
    translations: dict[str, Texts] | None = None
    language: str | None = Field(None, min_length=2, max_length=10)
    access_model: Access | None = None
    price_amount: int | None = Field(None, gt=0)
    price_currency: Literal["XOF", "EUR", "USD"] | None = None
    publication_date: date | None = None
    publication_year: int | None = Field(None, ge=-3000, le=2100)
    publisher: str | None = Field(None, max_length=200)
    series: str | None = Field(None, max_length=200)
    series_position: float | None = Field(None, ge=0, le=9999)
    authors: list[Credit | str] | None = Field(None, max_length=50)
    categories: list[str] | None = Field(None, max_length=20)
    isbn: str | None = Field(None, max_length=20)


class WithdrawIn(Schema):
    reason: str = Field("", max_length=500)


class CategoryIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    slug: str | None = Field(None, max_length=120, pattern=r"^[a-z0-9-]+$")
    parent: str | None = Field(None, max_length=120)
    translations: dict[str, str] = Field(default_factory=dict)


class PriceOut(Schema):
    amount: int
    currency: str


class CreditOut(Schema):
    id: UUID
    name: str
    role: str = Field(..., description="author, translator, illustrator, editor, narrator or contributor")


class RatingOut(Schema):
    average: float | None = Field(None, description="null until the book has been rated")
    count: int


class BookCardOut(Schema):
    id: UUID
    title: str
    authors: list[CreditOut] = Field(..., description="the authors only (role author)")
    contributors: list[CreditOut] = Field(..., description="everyone credited, authors included, with their "
                                                           "role, in the book's order")
    language: str
    access_model: str
    price: PriceOut | None
    rating: RatingOut
    popularity: int
    cover: dict[str, str] | None
    publication_year: int | None
    published_at: str | None


class BookPageOut(Schema):
    items: list[BookCardOut]
    next_cursor: str | None
    limit: int
    sort: str


class BookListOut(BookPageOut):
    order: str = Field(..., description="asc or desc")


class SearchOut(BookPageOut):
    total: int
    facets: dict[str, dict[str, int]]


class BookOut(BookCardOut):
    subtitle: str
    description: str
    translations: list[str]
    categories: list[dict[str, Any]]
    publisher: str | None
    publisher_id: UUID | None = Field(None, description="GET /publishers/{id}")
    series: dict[str, Any] | None
    publication_date: str | None
    editions: list[dict[str, Any]]
    formats: list[str]
    status: str
    version: int
    updated_at: str | None


class AuthorOut(Schema):
    id: UUID
    name: str
    book_count: int


class AuthorPageOut(Schema):
    items: list[AuthorOut]
    next_cursor: str | None


class AuthorDetailOut(AuthorOut):
    bio: str
    books: list[BookCardOut]
    next_cursor: str | None


class CategoryOut(Schema):
    id: UUID
    slug: str
    name: str
    path: str
    book_count: int
    children: list["CategoryOut"]




class NamedOut(Schema):
    id: UUID
    name: str
    book_count: int = Field(..., description="its published books")


class NamedPageOut(Schema):
    items: list[NamedOut]
    next_cursor: str | None


class PageQuery(Schema):
    cursor: str | None = Field(None, max_length=400, description="the next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=100)


class PublisherDetailOut(NamedOut):
    books: list[BookCardOut] = Field(..., description="its published books, most popular first")
    next_cursor: str | None


class SeriesBookOut(BookCardOut):
    series_position: float | None = Field(..., description="the book's number in the series (1, 2, 2.5 …)")


class SeriesDetailOut(NamedOut):
    books: list[SeriesBookOut] = Field(..., description="its published books in the series' order (those "
                                                        "without a number last)")
    next_cursor: str | None
