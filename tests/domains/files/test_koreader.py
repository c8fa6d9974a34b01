"""KOReader's partial MD5 (its kosync ``document`` id): MD5 over 1 KiB samples at offsets
0, 1 KiB, 4 KiB, 16 KiB … 1 GiB (``lshift(1024, 2*i)`` for i = -1..10 in LuaJIT, where the
i = -1 shift wraps to 0), stopping at the end of the file."""

from __future__ import annotations

import hashlib
import io

import pytest

from coko.domains.files import api as files_api
from coko.domains.files.inspection import koreader_partial_md5

from .conftest import send

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def pattern(size: int) -> bytes:
    return bytes((i * 31 + 7) % 251 for i in range(size))


def test_known_vector_computed_with_dd_and_md5sum():
    # for off in 0 1 4 16 64 256 1024; do dd if=f bs=1024 skip=$off count=1; done | md5sum
    assert koreader_partial_md5(io.BytesIO(pattern(300_000))) == "3d87fe2dd28ddc7895ae5e290bfa539e"


def test_samples_are_taken_at_zero_then_powers_of_four_kibibytes():
    data = pattern(300_000)
    samples = b"".join(data[offset:offset + 1024] for offset in (0, 1024, 4096, 16384, 65536, 262144))
    assert koreader_partial_md5(io.BytesIO(data)) == hashlib.md5(samples).hexdigest()
    # not the "first offset is 256" misreading of lshift(1024, -2)
    wrong = b"".join(data[offset:offset + 1024] for offset in (256, 1024, 4096, 16384, 65536, 262144))
    assert koreader_partial_md5(io.BytesIO(data)) != hashlib.md5(wrong).hexdigest()


def test_sampling_stops_at_the_end_of_the_file():
    assert koreader_partial_md5(io.BytesIO(pattern(4096))) == "8ff2b3ad1b7689199548d9ce054ade39"  # 0 and 1 KiB
    assert koreader_partial_md5(io.BytesIO(pattern(4096))) == hashlib.md5(pattern(2048)).hexdigest()
    small = pattern(700)
    assert koreader_partial_md5(io.BytesIO(small)) == hashlib.md5(small).hexdigest()
    partial = pattern(5000)  # the 4 KiB sample is cut short by the end of the file
    assert koreader_partial_md5(io.BytesIO(partial)) == hashlib.md5(partial[:2048] + partial[4096:]).hexdigest()


def test_a_stored_file_is_found_by_its_partial_md5_and_its_sha256(author):
    data = b"%PDF-1.4\n" + pattern(300_000) + b"\n%%EOF\n"
    response = send(author, "/files/uploads", data, name="book.pdf")
    assert response.status_code == 201
    expected = koreader_partial_md5(io.BytesIO(data))
    assert response.data["koreader_md5"] == expected
    found = files_api.object_by_koreader_md5(md5=expected)
    assert found is not None and found.id == response.data["id"]
    assert found.sha256 == hashlib.sha256(data).hexdigest() and found.size == len(data) and found.kind == "pdf"
    assert files_api.object_by_sha256(sha256=found.sha256) == found
    assert files_api.object_get(file_id=found.id) == found
    assert files_api.object_by_koreader_md5(md5="0" * 32) is None
    assert files_api.object_get(file_id="not-a-uuid") is None
