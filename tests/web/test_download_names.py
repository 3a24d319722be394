"""The files the site makes (CSV tables, calendars, the outcomes report) go out through one
helper, ``web.pages.attachment_response``: an attachment whose name keeps only letters,
digits and ``-_.`` (a quote, a semicolon or a line break in a name built from a title
cannot break the header), with a fallback name when nothing is left."""

from __future__ import annotations

from opencall.web.csv import csv_response
from opencall.web.pages import attachment_response


def test_a_name_keeps_letters_digits_and_dashes_dots() -> None:
    r = attachment_response(b"BEGIN", 'a "b";\r\nc_1-2.ics', "text/calendar; charset=utf-8", "x")
    assert r.headers["content-disposition"] == 'attachment; filename="abc_1-2.ics"'
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.body == b"BEGIN"


def test_an_empty_name_gets_the_fallback() -> None:
    r = attachment_response("text", ' "/;', "text/plain", "calendar.ics")
    assert r.headers["content-disposition"] == 'attachment; filename="calendar.ics"'
    assert r.body == b"text"


def test_csv_download_is_an_attachment_with_a_bom() -> None:
    r = csv_response("fast-2027 decisions.csv", ["code", "title"], [["P-1", None]])
    assert r.headers["content-disposition"] == 'attachment; filename="fast-2027decisions.csv"'
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.body.decode("utf-8") == "\ufeffcode,title\r\nP-1,\r\n"
    assert csv_response("", ["a"], []).headers["content-disposition"].endswith('"export.csv"')
