from opencall.reference import loader


def test_known_income_groups_and_regions() -> None:
    c = loader.countries()
    assert c["IND"].income_group == "lower-middle"
    assert c["DEU"].income_group == "high"
    assert c["DEU"].un_region == "Europe"
    assert c["ETH"].ldc is True
    assert c["BRA"].un_subregion == "Latin America and the Caribbean"
    assert len(c) == 250
    groups = {x.income_group for x in c.values()}
    assert {"low", "lower-middle", "upper-middle", "high"} <= groups


def test_indicators_and_attribution() -> None:
    meta = loader.indicator_meta()
    assert "SP.POP.SCIE.RD.P6" in meta and "IP.JRN.ARTC.SC" in meta
    year, value = loader.latest("DEU", "SP.POP.TOTL") or (0, 0.0)
    assert year >= 2020 and 70e6 < value < 95e6
    assert loader.latest("DEU", "SP.POP.SCIE.RD.P6") is not None
    assert "World Development Indicators" in loader.ATTRIBUTION
    researchers = [iso3 for iso3 in loader.countries() if loader.latest(iso3, "SP.POP.SCIE.RD.P6")]
    assert len(researchers) > 80
