"""Uploads without end (trialcrowd13). Replacing a proposal's PDF keeps the file it
replaced: files are stored once under their sha256 and nothing deletes one (a frozen
revision names its file). An applicant with a draft (or an API token) could upload a
different 10 MB PDF again and again, each written to storage twice (the original and the
reviewers' copy) and parsed in a child process: the site's disk filled at one account's
pace, and with it everybody's uploads before the deadline. Now one account stores at most
`OPENCALL_UPLOAD_THROTTLE_PER_HOUR` files an hour (the page and the API alike); beyond,
429 and nothing parsed or stored. The same file sent again (a retry whose answer was
lost) is answered as before and not counted; other accounts upload as usual."""

from __future__ import annotations

import re
from pathlib import Path

from tests.pdf_samples import plain_pdf
from tests.web.conftest import Web, World, api_bearer


def _files(root: Path) -> int:
    return sum(1 for p in root.rglob("*.pdf"))


def _version(text: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', text)
    assert m, "no version in the editor"
    return m.group(1)


def test_one_account_cannot_fill_the_disk_with_uploads(web: Web, world: World) -> None:
    web.settings.upload_throttle_per_hour = 2
    pid = world.ids["proposal"]
    c = web.login(world.emails["pi"])
    pdfs = [plain_pdf(f"Justification, take {i}.") for i in range(3)]
    form = {
        "csrf_token": re.search(
            r'name="csrf_token" value="([^"]+)"', c.get(f"/proposals/{pid}").text
        ).group(1)
    }  # type: ignore[union-attr]
    for i in range(2):
        page = c.get(f"/proposals/{pid}").text
        r = c.post(
            f"/proposals/{pid}/attachments",
            data={**form, "version": _version(page)},
            files={"pdf": (f"take{i}.pdf", pdfs[i], "application/pdf")},
        )
        assert r.status_code == 303, r.text[:300]
    stored = _files(web.settings.upload_dir)
    version = _version(c.get(f"/proposals/{pid}").text)
    r = c.post(
        f"/proposals/{pid}/attachments",
        data={**form, "version": version},
        files={"pdf": ("take2.pdf", pdfs[2], "application/pdf")},
    )
    assert r.status_code == 429, (r.status_code, r.text[:300])
    assert "uploaded many files" in r.text
    h = api_bearer(web, world.emails["pi"])
    r = c.post(
        f"/api/v1/proposals/{pid}/attachments",
        headers=h,
        data={"version": version},
        files={"file": ("take2.pdf", pdfs[2], "application/pdf")},
    )
    assert r.status_code == 429 and "uploaded many files" in r.json()["detail"], r.text[:300]
    assert int(r.headers["retry-after"]) > 0
    assert _files(web.settings.upload_dir) == stored
    assert _version(c.get(f"/proposals/{pid}").text) == version
    # the last file sent again (its answer lost) is the one stored: not refused
    r = c.post(
        f"/proposals/{pid}/attachments",
        data={**form, "version": str(int(version) - 1)},
        files={"pdf": ("take1.pdf", pdfs[1], "application/pdf")},
    )
    assert r.status_code == 303, (r.status_code, r.text[:300])
    # another applicant uploads to their own proposal
    other = world.ids["other_proposal"]
    o = web.login(world.emails["other"])
    page = o.get(f"/proposals/{other}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = o.post(
        f"/proposals/{other}/attachments",
        data={"csrf_token": token, "version": _version(page)},
        files={"pdf": ("mine.pdf", pdfs[2], "application/pdf")},
    )
    assert r.status_code == 303, r.text[:300]
