"""HTTP edge of the community domain, mounted by the platform at /api/v1.

Thin: parse, call a service or selector, shape the answer. Reviews: a book's
(``/books/{id}/reviews``), a reader's own (``/me/reviews``), one review
(``/community/reviews/{id}``) and its helpful votes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language
from ninja import Field, Query, Router, Schema, Status

from coko.platform.auth.ninja import BearerAuth
from coko.platform.contracts import UNSET
from coko.platform.http.openapi import error_statuses
from coko.platform.ratelimit import rate_limit_check

from . import selectors, services
from .models import Review

router = Router(tags=["community"])
reader = BearerAuth()

ReviewSort = Literal["helpful", "newest", "rating"]
LANGUAGE = r"^[A-Za-z]{2,3}$"


def _lang() -> str:
    return (get_language() or "fr")[:2]


# --- schemas ------------------------------------------------------------------------------------
class ReviewOut(Schema):
    id: UUID
    book_id: UUID
    user_id: UUID
    rating: int
    text: str
    language: str
    spoiler: bool = Field(description="the text tells what happens: hide it until the reader asks")
    helpful_count: int
    created_at: datetime
    updated_at: datetime
    edited: bool


class ReviewPageOut(Schema):
    items: list[ReviewOut]
    next_cursor: str | None = Field(description="pass it as cursor for the next page (null: the last page)")


class ReviewIn(Schema):
    rating: int = Field(..., ge=1, le=5, strict=True)
    text: str = Field("", max_length=20_000)
    language: str | None = Field(None, pattern=LANGUAGE, description="ISO 639; the request's language if omitted")
    spoiler: bool = False


class ReviewPatchIn(Schema):
    rating: int | None = Field(None, ge=1, le=5, strict=True)
    text: str | None = Field(None, max_length=20_000)
    language: str | None = Field(None, pattern=LANGUAGE)
    spoiler: bool | None = None


class PageIn(Schema):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=300, description="the next_cursor of the previous page")


class BookReviewsIn(PageIn):
    sort: ReviewSort = Field("helpful", description="helpful (most helpful first), newest, rating (best first)")
    language: str | None = Field(None, pattern=LANGUAGE, description="only reviews written in this language")


# --- shaping -------------------------------------------------------------------------------------
def _review_out(review: Review) -> dict:
    return {"id": review.id, "book_id": review.book_id, "user_id": review.user_id, "rating": review.rating,
            "text": review.text, "language": review.language, "spoiler": review.spoiler,
            "helpful_count": review.helpful_count, "created_at": review.created_at,
            "updated_at": review.updated_at, "edited": review.updated_at > review.created_at}


def _page_out(page: selectors.Page) -> dict:
    return {"items": [_review_out(r) for r in page.items], "next_cursor": page.next_cursor}


# --- reviews -------------------------------------------------------------------------------------
@router.get("/books/{book_id}/reviews", response=ReviewPageOut, auth=None,
            summary="A book's reviews: most helpful, newest or best rated first, in one language if asked",
            openapi_extra=error_statuses(404))
def book_reviews(request: HttpRequest, book_id: UUID, params: Query[BookReviewsIn]):
    services.book_visible_check(book_id=book_id)
    return _page_out(selectors.reviews_for_book(book_id=book_id, sort=params.sort, language=params.language,
                                                limit=params.limit, cursor=params.cursor))


@router.post("/books/{book_id}/reviews", response={201: ReviewOut}, auth=reader,
             summary="Rate and review a book (one review per reader per book)",
             openapi_extra=error_statuses(404, 409, 429))
def review_post(request: HttpRequest, book_id: UUID, payload: ReviewIn):
    user_id = request.auth.user_id
    hits, window_s = settings.COKO_COMMUNITY["REVIEW_RATE"]
    rate_limit_check(key=f"community:review:{user_id}", limit=hits, window_s=window_s)
    review = services.review_post(user_id=user_id, book_id=book_id, rating=payload.rating, text=payload.text,
                                  language=payload.language or _lang(), spoiler=payload.spoiler)
    return Status(201, _review_out(review))


@router.get("/me/reviews", response=ReviewPageOut, auth=reader, summary="My reviews, newest first",
            openapi_extra=error_statuses(422))
def my_reviews(request: HttpRequest, params: Query[PageIn]):
    return _page_out(selectors.reviews_of_user(user_id=request.auth.user_id, limit=params.limit,
                                               cursor=params.cursor))


@router.get("/community/reviews/{review_id}", response=ReviewOut, auth=None, summary="One review",
            openapi_extra=error_statuses(404))
def review_get(request: HttpRequest, review_id: UUID):
    return _review_out(selectors.review_get(review_id=review_id))


@router.patch("/community/reviews/{review_id}", response=ReviewOut, auth=reader,
              summary="Change my review (its rating, text, language or spoiler flag)",
              openapi_extra=error_statuses(404))
def review_update(request: HttpRequest, review_id: UUID, payload: ReviewPatchIn):
    sent = payload.dict(exclude_unset=True)
    changes = services.ReviewChanges(**{name: sent[name] if sent.get(name) is not None else UNSET
                                        for name in services.reviews.REVIEW_FIELDS})
    review = services.review_update(user_id=request.auth.user_id, review_id=review_id, changes=changes)
    return _review_out(review)


@router.delete("/community/reviews/{review_id}", response={204: None}, auth=reader,
               summary="Delete my review (and its rating)", openapi_extra=error_statuses(404))
def review_delete(request: HttpRequest, review_id: UUID):
    services.review_delete(user_id=request.auth.user_id, review_id=review_id)
    return Status(204, None)


@router.put("/community/reviews/{review_id}/helpful", response=ReviewOut, auth=reader,
            summary="Mark a review as helpful (once; not my own)", openapi_extra=error_statuses(404, 422))
def review_helpful_mark(request: HttpRequest, review_id: UUID):
    return _review_out(services.review_helpful_mark(user_id=request.auth.user_id, review_id=review_id))


@router.delete("/community/reviews/{review_id}/helpful", response=ReviewOut, auth=reader,
               summary="Take back my helpful vote", openapi_extra=error_statuses(404))
def review_helpful_unmark(request: HttpRequest, review_id: UUID):
    return _review_out(services.review_helpful_unmark(user_id=request.auth.user_id, review_id=review_id))
