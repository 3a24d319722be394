"""The set-up the facility journeys share (mend24): through the JSON API, as an operator
does on a fresh install, the first site administrator, a provider with its user office
and one facility (:func:`open_facility`), the facility's resources (:func:`resource`), a
call with its panel (:func:`open_call`), an applicant's draft (:func:`applicant`), a
request (:func:`ask`), a submission (:func:`submitted`) and a browser session
(:func:`signed_in`). Each journey once repeated them in its own words (the HPC centre,
the genebank, the polar station, the seed shipments, rapid access)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from opencall.people import services as people_services
from tests.web.conftest import Web, csrf

PASSWORD = "a long enough password"


class Client:
    """A JSON API client with one person's token; every write carries an idempotency key."""

    def __init__(self, web: Web, token: str) -> None:
        self.http = web.client()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.n = 0

    def _key(self) -> dict[str, str]:
        self.n += 1
        return {**self.headers, "Idempotency-Key": f"journey-{id(self)}-{self.n}"}

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(path, headers=self.headers, params=params)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text[:2000]}"
        return r.json()

    def send(self, method: str, path: str, body: Any = None, status: int | None = None) -> Any:
        r = self.http.request(method, path, headers=self._key(), json=body)
        if status is None:
            assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text[:2000]}"
        else:
            assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:2000]}"
        return r.json() if r.content else None

    def post(self, path: str, body: Any = None, status: int | None = None) -> Any:
        return self.send("POST", path, {} if body is None else body, status)


def account(web: Web, email_: str, name: str, **kw: Any) -> Client:
    """An account as registration makes it (verified e-mail), and its API token."""
    with web.factory() as s:
        u = people_services.register_user(
            s, email=email_, name=name, password=PASSWORD, verified=True, **kw
        )
        _tok, raw = people_services.create_api_token(s, u, "journey")
        s.commit()
    return Client(web, raw)


def open_facility(
    web: Web,
    provider: str,
    name: str,
    country_iso3: str,
    facility: dict[str, Any],
    office_name: str = "User Office",
) -> tuple[Client, Client, dict[str, Any]]:
    """A fresh install opened for one facility through the API: the first site
    administrator (``opencall admin create``: its service) with a token, the provider
    ``provider`` (``name``, in ``country_iso3``), its user office
    ``office@<provider>.example`` (provider_admin) and the facility (``facility``: the
    body of ``POST /api/v1/providers/<provider>/facilities``, a custom kind for a kind of
    facility no preset fits). Returns the administrator, the office and the facility."""
    with web.factory() as s:
        root, _link = people_services.create_site_admin(
            s, email=f"root@{provider}.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post("/api/v1/providers", {"name": name, "slug": provider, "country_iso3": country_iso3})
    address = f"office@{provider}.example"
    office = account(web, address, office_name, country_iso3=country_iso3)
    admin.post(f"/api/v1/providers/{provider}/roles", {"email": address, "role": "provider_admin"})
    fac = office.post(f"/api/v1/providers/{provider}/facilities", facility)
    return admin, office, fac


def open_call(
    web: Web,
    office: Client,
    call: dict[str, Any],
    policy: dict[str, Any],
    panel: list[tuple[str, str, str]],
    offers: list[dict[str, Any]] | None = None,
) -> list[Client]:
    """The office's single-anonymous call (``call``: its provider, facility, slug, code,
    cycle and title), opening yesterday and closing in 30 days, two reviews a proposal,
    under ``policy``, offering every resource of the facility (or ``offers``: bodies of
    ``POST /calls/<slug>/pools``), opened; and its panel (``panel``: e-mail, name,
    country), each given the provider's reviewer role."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    office.post("/api/v1/calls", {
        **call, "anonymity": "single", "allocation_policy": policy,
        "offer_all_pools": offers is None,
        "opens_at": (now - dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=30)).isoformat(),
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40}})  # fmt: skip
    for offer in offers or []:
        office.post(f"/api/v1/calls/{call['slug']}/pools", offer)
    office.post(f"/api/v1/calls/{call['slug']}/transition", {"target": "open"})
    reviewers = []
    for address, name, iso3 in panel:
        reviewers.append(account(web, address, name, country_iso3=iso3,
                                 institution=f"Institute of {name}"))  # fmt: skip
        office.post(f"/api/v1/providers/{call['provider']}/roles",
                    {"email": address, "role": "reviewer"})  # fmt: skip
    return reviewers


def ask_for(
    ac: Client, pid: int, pool_id: int, details: dict[str, Any], bundle: str | None = None,
    status: int | None = None,
) -> Any:  # fmt: skip
    """The draft ``pid`` asks for ``pool_id`` (``details``: the amount and the resource's
    form), at its current version, in ``bundle``; the answer (the proposal, or the
    refusal when ``status`` is given)."""
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    body = {"version": version, "kind": "custom", "pool_id": pool_id, "bundle": bundle,
            "details": details}  # fmt: skip
    return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)


def signed_in(web: Web, email_: str, lang: str = "en") -> Any:
    """A browser session of ``email_`` (signed in on /login), in ``lang``."""
    c = web.client(lang)
    r = c.post("/login", data={"csrf_token": csrf(c), "email": email_, "password": PASSWORD})
    assert r.status_code == 303
    return c


def resource(
    office: Client, fac: dict[str, Any], body: dict[str, Any], status: int | None = None
) -> Any:
    """``POST /api/v1/facilities/<fac>/resources`` as the office: the resource (or the
    refusal, when ``status`` is given)."""
    return office.post(f"/api/v1/facilities/{fac['id']}/resources", body, status=status)


def ask(
    ac: Client, pid: int, pool: int, amount: float, bundle: str | None = None,
    status: int | None = None, **details: Any,
) -> Any:  # fmt: skip
    """:func:`ask_for` ``amount`` of ``pool`` (and the resource's form's ``details``)."""
    return ask_for(ac, pid, pool, {"amount": amount, **details}, bundle, status)


def applicant(web: Web, address: str, iso3: str, slug: str, title: str) -> tuple[Client, int]:
    """An applicant of ``iso3`` (account ``address``, a name and institution of that
    country) with a fresh proposal ``title`` to the call ``slug``: the client and its id."""
    ac = account(web, address, f"Researcher {iso3}", country_iso3=iso3,
                 institution=f"Research Institute of {iso3}")  # fmt: skip
    pid = ac.post("/api/v1/proposals", {
        "call": slug, "title": title, "abstract": "Plan.", "science_case": "Case."})["id"]  # fmt: skip
    return ac, pid


def submitted(ac: Client, pid: int) -> str:
    """The proposal submitted (it must be): its code."""
    p = ac.post(f"/api/v1/proposals/{pid}/submit")
    assert p["status"] == "submitted", p
    return str(p["code"])
