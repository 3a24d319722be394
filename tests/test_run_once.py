"""Tests whose behaviour does not depend on the database backend run once, on SQLite
(``tests.fixtures.RUN_ONCE``): the scale-1 demo world's figures (``make run`` builds it
on SQLite; the demo's path on PostgreSQL is the golden digest's and
``test_demo_is_deterministic_for_a_seed``'s) and the anonymity scan of the demo's texts
(a scan of strings in Python). docs/testing.md, "speed16"."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import RUN_ONCE


def _engine_params(test: Any) -> list[Any]:
    return [
        list(m.args[1])
        for m in getattr(test, "pytestmark", [])
        if m.name == "parametrize" and m.args[0] == "engine" and m.kwargs.get("indirect")
    ]


@RUN_ONCE
def test_a_test_run_once_gets_sqlite_only(engine: Engine, request: pytest.FixtureRequest) -> None:
    # with PostgreSQL configured, the fixture's own params would add a postgresql case
    assert engine.dialect.name == "sqlite"
    assert request.node.callspec.params["engine"] == "sqlite"


def test_the_backend_independent_demo_tests_run_once() -> None:
    from tests import test_anonymity_service, test_demo

    for test in (
        test_demo.test_full_demo_world_matches_the_figures,
        test_anonymity_service.test_demo_proposals_are_clean_and_planted_identifiers_are_found,
    ):
        assert _engine_params(test) == [["sqlite"]], test.__name__
    # the seed's determinism is still checked on both backends
    assert _engine_params(test_demo.test_demo_is_deterministic_for_a_seed) == []


#: speed17b: tests whose assertions are the web layer's, not the database's, each with why
#: the backend does not matter (docs/testing.md, "speed17b"). Their database path (a
#: page's queries, the login) is the same one that the other tests of their folders run
#: on PostgreSQL.
RUN_ONCE_WEB = {
    # static files by content hash, their cache headers, ETags: files on disk
    "tests.web.test_static_cache": [
        "test_pages_link_static_files_by_content_hash",
        "test_a_stale_or_forged_hash_is_not_found_and_plain_names_revalidate",
        "test_every_static_file_and_the_editors_head_are_needed",
    ],
    # the ASGI layer's middleware list, gzip threshold and HSTS (not the 404 of an id no
    # row can have: an integer out of PostgreSQL's range, kept on both backends)
    "tests.web.test_session_headers_layer": [
        "test_no_middleware_runs_the_app_in_a_task_of_its_own",
        "test_only_answers_of_gzip_min_bytes_or_more_are_compressed",
        "test_hsts_where_cookies_are_secure",
    ],
    # the Host header and the router's Location: written by the middleware from the request
    "tests.security.test_host_header": [
        "test_no_answer_names_the_host_the_request_claimed",
        "test_a_trailing_slash_is_redirected_to_the_path_on_this_site",
    ],
    # the OpenAPI document: built from the routes' declarations
    "tests.web.test_api_schemathesis": ["test_openapi_document"],
    "tests.scale.test_api_pages": ["test_openapi_documents_the_cursor"],
    # Accept-Language, the oc_lang cookie and the account's language (a plain text column)
    "tests.web.test_i18n": ["test_language_choice_order"],
    # the cookie's flags and the headers of /login, Secure where configured, a local
    # `next` after signing in (the sign-in itself is run on both by the other tests)
    "tests.web.test_security": [
        "test_cookie_flags_and_headers",
        "test_secure_cookie_when_configured",
        "test_next_is_local_only",
    ],
    # the unit's words, singular for one: facilities.domain.BUILTIN_UNITS in Python, the
    # amounts 1, 2 and 3 (a float column, exact on both); the call and resource pages'
    # queries are the ones tests/facilities and tests/web run on PostgreSQL
    "tests.web.test_unit_words": [
        "test_one_is_singular_on_the_call_page",
        "test_one_chinese_word_on_every_page",
    ],
}
#: kept on both backends beside them
BOTH_BACKENDS = {
    "tests.web.test_session_headers_layer": ["test_the_cookie_and_the_headers_of_every_answer"],
    "tests.web.test_api_schemathesis": ["test_api_has_no_server_error"],
    "tests.web.test_i18n": ["test_mail_is_in_the_recipients_language"],
    "tests.web.test_security": [
        "test_login_logout_and_session_fixation",
        "test_password_reset_ends_other_sessions",
        "test_download_headers_and_access",
    ],
}


def test_the_backend_independent_web_tests_run_once() -> None:
    import importlib

    for table, params in ((RUN_ONCE_WEB, [["sqlite"]]), (BOTH_BACKENDS, [])):
        for module, names in table.items():
            mod = importlib.import_module(module)
            for name in names:
                assert _engine_params(getattr(mod, name)) == params, (module, name)
