"""trialop18: a new operator's site, from docs/operators.md and docs/deploy.md alone.

A fresh PostgreSQL database, the settings file of "Install" (OPENCALL_ENV=production, real
keys, mail to a directory, attachments in an S3 bucket: moto's server), `db upgrade`,
the first administrator by `admin create`, then `opencall serve` and `opencall worker` as
two real processes. Through the pages only, as a browser behind the TLS proxy would: the
administrator signs in, makes a provider, a facility of a kind no preset has (`custom`: an
Orbitrap mass-spectrometry core, its hours a resource), a call, and opens it; a stranger
registers, confirms the address from the e-mail file the worker wrote, applies with a PDF
(stored in the bucket); the office closes the call early, runs conflicts, affinity and
assignment (jobs of the worker), reviews, calibrates, allocates, schedules, releases and
publishes; the public sees the award. Then `opencall backup`, `opencall restore` into a new
database and bucket (every row and the PDF kept, the audit log verified), and
`db downgrade previous` then `db upgrade` on that copy (every row kept)."""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import lxml.html
import pytest
from sqlalchemy import create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url

from tests.crowd.live import free_port, pdf_of_size, stop_processes, tls, wait_until_serving
from tests.fixtures import PG_URL, no_durability
from tests.scale.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]

OPENCALL = str(Path(sys.executable).with_name("opencall"))
ADMIN_PASSWORD = "op18 admin: a long password"
APPLICANT_PASSWORD = "a long applicant password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class Browser:
    """A browser behind the site's TLS proxy: it keeps the ``Secure`` cookies (the proxy
    speaks HTTPS to it; the test reaches ``serve`` in plain HTTP, where httpx would drop
    them), follows redirects and posts forms with the values the page gives them."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=120, verify=tls())
        self.jar: dict[str, str] = {}

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())}
        r = self.http.request(method, url, headers=headers, **kw)
        for cookie in r.headers.get_list("set-cookie"):
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", '""') or "max-age=0" in cookie.lower():
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        if r.status_code in (302, 303):
            return self.request("GET", r.headers["location"])
        return r

    def get(self, url: str) -> httpx.Response:
        return self.request("GET", url)

    def submit(
        self, page: str, action: str, fields: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        """Open ``page`` and send its form posting to ``action`` with ``fields`` changed."""
        r = self.get(page)
        assert r.status_code == 200, (page, r.status_code)
        doc = lxml.html.fromstring(r.text)
        forms = [f for f in doc.forms if f.get("action") == action]
        assert forms, (page, action, re.findall(r'action="([^"]+)"', r.text))
        values = dict(forms[0].form_values())
        values.update(fields or {})
        return self.request("POST", action, data=values, **kw)


def read_settings_file(path: Path) -> dict[str, str]:
    """What `set -a; . opencall.env; set +a` gives the commands (docs/operators.md)."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            out[name] = value
    return out


def opencall(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    r = subprocess.run(
        [OPENCALL, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def counts(url: str) -> dict[str, int]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            names = inspect(conn).get_table_names()
            return {
                n: int(conn.execute(select(func.count()).select_from(table(n))).scalar_one())
                for n in names
            }
    finally:
        eng.dispose()


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two new, empty PostgreSQL databases: the site's and the one restored into."""
    if not PG_URL:
        pytest.skip("the operator's site runs on PostgreSQL")
    base = make_url(PG_URL)
    names = [f"{base.database}_walk", f"{base.database}_walk_restored"]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            no_durability(conn, name)
    try:
        yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)  # type: ignore[misc]
    finally:
        drop()
        admin.dispose()


def wait_for_jobs(br: Browser, cockpit: str, timeout: float = 300) -> str:
    """The cockpit's job list once no job is queued or running (the worker ran them)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        html = br.get(cockpit).text
        jobs = plain(html[html.find("<h2>Jobs") :])
        if not re.search(r"\b(queued|running)\b", jobs):
            return jobs
        time.sleep(0.5)
    raise AssertionError(f"jobs still waiting: {jobs}")


def test_a_new_operator_site_from_the_docs(
    databases: tuple[str, str], s3_server: S3Server, tmp_path: Path
) -> None:
    site_url, restored_url = databases
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bucket = f"op18-{os.getpid()}-{time.monotonic_ns()}"
    mail_dir = tmp_path / "mail"
    # the settings file of "Install": one NAME=value a line, keys generated once
    settings = tmp_path / "opencall.env"
    settings.write_text(
        "\n".join(
            [
                f"OPENCALL_DATABASE_URL={site_url}",
                f"OPENCALL_SECRET_KEY={secrets.token_urlsafe(48)}",
                f"OPENCALL_AUDIT_KEY={secrets.token_urlsafe(48)}",
                "OPENCALL_ENV=production",
                f"OPENCALL_BASE_URL={base}",
                "OPENCALL_SECURE_COOKIES=true",
                "OPENCALL_MAIL_BACKEND=file",
                f"OPENCALL_MAIL_DIR={mail_dir}",
                "OPENCALL_MAIL_FROM=calls@ms.example.org",
                "OPENCALL_STORAGE_BACKEND=s3",
                f"OPENCALL_S3_BUCKET={bucket}",
                f"OPENCALL_S3_ENDPOINT_URL={s3_server.endpoint_url}",
                f"OPENCALL_S3_REGION={REGION}",
                f"OPENCALL_S3_ACCESS_KEY_ID={ACCESS_KEY}",
                f"OPENCALL_S3_SECRET_ACCESS_KEY={SECRET_KEY}",
                "OPENCALL_S3_CREATE_BUCKET=true",
                "",
            ]
        )
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPENCALL_")},
        **read_settings_file(settings),
        "PYTHONUNBUFFERED": "1",
    }
    said = opencall(env, "db", "upgrade")
    assert "database created at revision" in said, said
    said = opencall(
        env,
        "admin",
        "create",
        "--email",
        "ops@ms.example.org",
        "--name",
        "Ada Ops",
        "--country",
        "KEN",
        stdin=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
    )
    assert "site administrator ops@ms.example.org" in said, said

    procs: list[subprocess.Popen[str]] = []
    try:
        with (tmp_path / "serve.log").open("w") as log:
            procs.append(
                subprocess.Popen(
                    [OPENCALL, "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    cwd=tmp_path,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        with (tmp_path / "worker.log").open("w") as log:
            procs.append(
                subprocess.Popen(
                    [OPENCALL, "worker"],
                    env=env,
                    cwd=tmp_path,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        assert wait_until_serving(procs[0], base, port, timeout=180), (
            tmp_path / "serve.log"
        ).read_text()
        walk(base, mail_dir)
        # the start lines, one line each, naming the database (its password hidden)
        served = (tmp_path / "serve.log").read_text()
        assert f"OpenCall on {base}  (database: {site_url};" in served, served
        worker_log = (tmp_path / "worker.log").read_text()
        assert f"on the database {site_url}, waiting for jobs" in worker_log, worker_log
        assert "(allocation.run) done" in worker_log, worker_log
    finally:
        stop_processes(procs)

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(keys) >= 1 and all(re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{64}\.pdf", k) for k in keys)
    before = counts(site_url)
    assert before["proposals"] == 1 and before["attachments"] >= 1, before

    # "Backups and restore": the archive holds the database and the bucket's objects
    archive = tmp_path / "backups" / "site.tar.gz"
    archive.parent.mkdir()
    said = opencall(env, "backup", "--out", str(archive))
    assert said.count("\n") == 1 and f"backup written to {archive}" in said, said
    assert f"{len(keys)} uploaded file(s), {archive.stat().st_size} bytes" in said, said
    assert archive.stat().st_mode & 0o777 == 0o600
    restored_bucket = bucket + "-restored"
    renv = {**env, "OPENCALL_DATABASE_URL": restored_url, "OPENCALL_S3_BUCKET": restored_bucket}
    said = opencall(renv, "restore", str(archive))
    assert f"and {len(keys)} uploaded file(s)" in said, said
    assert counts(restored_url) == before
    for key in keys:
        a = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        b = s3.get_object(Bucket=restored_bucket, Key=key)["Body"].read()
        assert a == b
    said = opencall(renv, "audit", "verify")
    assert "audit log intact" in said and "MACs checked" in said, said

    # an upgrade on a copy holding data: one migration back, then `db upgrade`
    opencall(renv, "db", "downgrade", "previous", "--yes")
    r = subprocess.run([OPENCALL, "db", "check"], env=renv, capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout.count("\n") == 1, r.stdout
    said = opencall(renv, "db", "upgrade")
    assert "database upgraded from revision" in said and "(1 migrations applied)" in said, said
    assert counts(restored_url) == before
    said = opencall(renv, "audit", "verify")
    assert "audit log intact" in said, said


def walk(base: str, mail_dir: Path) -> None:
    """The site's first cycle, through the pages."""
    ops = Browser(base)
    r = ops.submit("/login", "/login", {"email": "ops@ms.example.org", "password": ADMIN_PASSWORD})
    assert "/dashboard" in str(r.url), plain(r.text)[:500]
    r = ops.submit(
        "/manage/providers/new",
        "/manage/providers/new",
        {"name": "Nairobi Omics Consortium", "slug": "noc", "country_iso3": "KEN"},
    )
    assert str(r.url).endswith("/manage/providers/noc?m=saved"), plain(r.text)[:800]
    r = ops.submit(
        "/manage/providers/noc",
        "/manage/providers/noc/facilities",
        {"name": "Orbitrap mass spectrometry core", "slug": "msc", "kind": "custom"},
    )
    facility = re.search(r'href="/manage/facilities/(\d+)"', r.text)
    assert facility, plain(r.text)[:800]
    fpage = f"/manage/facilities/{facility.group(1)}"
    r = ops.submit(
        fpage,
        f"{fpage}/resources",
        {
            "name": "Orbitrap Exploris instrument time",
            "unit": "h",
            "amount": "300",
            "whole_units": "on",
            "period_start": "2027-03-01",
            "period_end": "2027-08-31",
        },
    )
    assert "m=saved" in str(r.url), plain(r.text)[:800]
    now = dt.datetime.now(dt.UTC)
    r = ops.submit(
        "/manage/calls/new",
        "/manage/calls/new",
        {
            "title": "Mass spectrometry time 2027",
            "slug": "ms-2027",
            "code": "MS27",
            "cycle": "2027",
            "description": "Instrument hours on the Orbitrap Exploris.",
            "opens_at": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            "closes_at": (now + dt.timedelta(days=10)).strftime("%Y-%m-%d %H:%M"),
            "anonymity": "single",
            "reviewers_per_proposal": "1",
            "min_reviews": "1",
            "offer_all": "on",
        },
    )
    cockpit = "/manage/calls/ms-2027"
    assert str(r.url).endswith(f"{cockpit}?m=saved"), plain(r.text)[:1500]

    def move(target: str, **extra: str) -> None:
        r = ops.get(cockpit)
        assert f'name="target" value="{target}"' in r.text, (target, plain(r.text)[:1500])
        fields = {"target": target, "confirm": "yes", "reason": "trialop18", **extra}
        r = ops.submit(cockpit, f"{cockpit}/transition", fields)
        assert r.status_code == 200 and "m=saved" in str(r.url), plain(r.text)[:1500]

    def step(name: str) -> None:
        r = ops.submit(cockpit, f"{cockpit}/steps/{name}")
        assert r.status_code == 200, plain(r.text)[:1500]
        jobs = wait_for_jobs(ops, cockpit)
        assert "failed" not in jobs, jobs

    move("open")
    r = ops.submit(
        "/manage/providers/noc/people",
        "/manage/providers/noc/people",
        {"email": "ops@ms.example.org", "role": "reviewer", "scope": "provider"},
    )
    assert "m=saved" in str(r.url), plain(r.text)[:800]

    # a stranger registers, confirms the address from the mail file, applies with a PDF
    pi = Browser(base)
    assert "Mass spectrometry time 2027" in pi.get("/calls").text
    r = pi.submit(
        "/register",
        "/register",
        {
            "name": "Wanjiru Kamau",
            "email": "wanjiru@uni.example.ac.ke",
            "institution": "University of Nairobi",
            "country_iso3": "KEN",
            "password": APPLICANT_PASSWORD,
            "password2": APPLICANT_PASSWORD,
        },
    )
    assert "m=registered" in str(r.url), plain(r.text)[:800]
    link = None
    for _ in range(240):  # the worker sends it
        for eml in glob.glob(str(mail_dir / "*.eml")):
            text_ = Path(eml).read_text()
            if "wanjiru@uni.example.ac.ke" in text_ and "/verify/" in text_:
                link = re.search(rf"{re.escape(base)}(/verify/\S+)", text_)
        if link:
            break
        time.sleep(0.5)
    assert link, "no verification mail"
    assert "From: calls@ms.example.org" in text_
    r = pi.submit(link.group(1), link.group(1))
    assert "m=verified" in str(r.url), plain(r.text)[:800]
    r = pi.submit(
        "/login", "/login", {"email": "wanjiru@uni.example.ac.ke", "password": APPLICANT_PASSWORD}
    )
    assert "/dashboard" in str(r.url), plain(r.text)[:800]
    r = pi.submit(
        "/calls/ms-2027/apply",
        "/calls/ms-2027/apply",
        {"title": "Lipidomics of drought-stressed sorghum"},
    )
    m = re.search(r"/proposals/(\d+)\?m=created", str(r.url))
    assert m, plain(r.text)[:800]
    prop = f"/proposals/{m.group(1)}"
    r = pi.submit(
        prop,
        prop,
        {
            "abstract": "We profile membrane lipids of sorghum under drought.",
            "science_case": "Drought tolerance in sorghum. " * 20,
            "keywords": "lipidomics, sorghum, drought",
        },
    )
    assert "m=saved" in str(r.url), plain(r.text)[:800]
    r = pi.submit(prop, f"{prop}/requests", {"amount": "40"})
    assert "m=request_saved" in str(r.url), plain(r.text)[:800]
    pdf = pdf_of_size(20_000, 18)
    r = pi.submit(prop, f"{prop}/attachments", files={"pdf": ("case.pdf", pdf, "application/pdf")})
    assert r.status_code == 200, plain(r.text)[:800]
    r = pi.submit(prop, f"{prop}/submit")
    assert "m=submitted" in str(r.url), plain(r.text)[:800]

    # the office's cycle, each step a job of the worker
    move("closed", early="yes")
    for name in ("conflicts", "affinity", "assignment"):
        step(name)
    reviews = ops.get("/review").text
    a = re.search(r'href="(/review/assignments/\d+)"', reviews)
    assert a, plain(reviews)[:1500]
    r = ops.submit(a.group(1), f"{a.group(1)}/respond", {"action": "accept"})
    assert "m=saved" in str(r.url), plain(r.text)[:800]
    r = ops.submit(
        a.group(1),
        a.group(1),
        {
            "grade": "4",
            "confidence": "4",
            "comments_to_applicants": "A sound plan.",
            "action": "submit",
        },
    )
    assert "m=review_submitted" in str(r.url), plain(r.text)[:800]
    move("review")
    step("calibration")
    move("ranking")
    move("allocation")
    step("allocation")
    move("scheduling")
    step("scheduling")
    r = ops.submit(f"{cockpit}/decisions", f"{cockpit}/release", {"confirm": "yes"})
    assert "m=saved" in str(r.url), plain(r.text)[:800]
    wait_for_jobs(ops, cockpit)
    move("published")
    public = Browser(base)
    awarded = plain(public.get("/calls/ms-2027/awarded").text)
    assert "Lipidomics of drought-stressed sorghum" in awarded, awarded[:1500]
    # the PI's own outcome, and the decision e-mail
    dash = plain(pi.get("/dashboard").text)
    assert "Lipidomics of drought-stressed sorghum" in dash
    for _ in range(240):
        if any(
            "wanjiru@uni.example.ac.ke" in Path(e).read_text()
            and "/verify/" not in Path(e).read_text()
            for e in glob.glob(str(mail_dir / "*.eml"))
        ):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("no decision mail")
