import pytest
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.facilities import services as fs
from tests import factories as f


@pytest.mark.parametrize(
    ("kind", "attrs", "message"),
    [
        ("telescope", {"lat_deg": 95}, "Invalid facility attributes"),
        ("vessel", {"vessel": "V", "submersible": "S", "max_dive_depth_m": -1}, "max_dive_depth_m"),
        ("spaceship", {}, "kind"),
    ],
)
def test_bad_facility_is_refused(db: Session, kind, attrs, message) -> None:
    prov = fs.create_provider(db, name="P", slug="p-bad", country_iso3="CHN")
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        fs.create_facility(db, prov, name="X", slug="x", kind=kind, attributes=attrs)
    assert message in err.value.message or err.value.field == "kind"
    assert f.table_counts(db) == before


@pytest.mark.parametrize(
    ("pool_type", "amount", "attrs", "message"),
    [
        ("lst_hours", 10, {"lst_start_h": 5, "lst_end_h": 4}, "end after it starts"),
        ("lst_hours", 0, {"lst_start_h": 1, "lst_end_h": 2}, "positive amount"),
        ("lst_hours", 10, {"lst_start_h": 1, "lst_end_h": 2, "x": 1}, "Extra inputs"),
        ("berths", 10, {}, "offers pools of type"),
    ],
)
def test_bad_pool_is_refused(db: Session, pool_type, amount, attrs, message) -> None:
    fac = f.fast_facility(db)
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        fs.create_pool(db, fac, name="p", pool_type=pool_type, amount=amount, attributes=attrs)
    assert message in err.value.message
    assert f.table_counts(db) == before


def test_leg_route_must_be_valid(db: Session) -> None:
    prov = fs.create_provider(db, name="Sea", slug="sea", country_iso3="CHN")
    fac = fs.create_facility(
        db,
        prov,
        name="Ship",
        slug="ship",
        kind="vessel",
        attributes={"vessel": "V", "submersible": "S", "max_dive_depth_m": 11000},
    )
    leg = {
        "leg": "L1",
        "start_date": "2027-01-10",
        "end_date": "2027-01-01",
        "from_port": "A",
        "to_port": "B",
        "route": [[0, 0], [1, 1]],
    }
    with pytest.raises(DomainError, match="end on or after"):
        fs.create_pool(db, fac, name="b", pool_type="berths", amount=4, attributes=leg)
    leg.update(end_date="2027-01-20", route=[[0, 0], [100, 1]])
    with pytest.raises(DomainError, match="latitude"):
        fs.create_pool(db, fac, name="b", pool_type="berths", amount=4, attributes=leg)
    leg.update(route=[[0, 0], [10, 170]])
    assert (
        fs.create_pool(db, fac, name="b", pool_type="berths", amount=4, attributes=leg).unit
        == "berths"
    )


def test_a_password_too_long_to_sign_in_with_is_refused(db: Session) -> None:
    from opencall.people import services as people

    before = f.table_counts(db)
    with pytest.raises(DomainError, match="too long"):
        people.register_user(db, email="long@example.org", name="Long", password="x" * 201)
    assert f.table_counts(db) == before
