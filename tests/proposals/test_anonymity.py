"""Anonymity scanner: zero findings on clean science prose, every planted identifier found."""

from __future__ import annotations

import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from opencall.proposals.anonymity import (
    Finding,
    TeamIdentity,
    extract_pdf_text,
    normalise,
    scan_pdf,
    scan_text,
)

TEAM = [
    TeamIdentity(
        "Wei-Hua Zhang",
        "National Astronomical Observatories, Chinese Academy of Sciences (NAOC), Beijing, China",
        "whzhang@nao.cas.cn",
        "CHN",
    ),
    TeamIdentity(
        "Amina Odhiambo", "University of Nairobi, Nairobi, Kenya", "a.odhiambo@uonbi.ac.ke"
    ),
    TeamIdentity("Anna Rice", "Institute of Deep-sea Science and Engineering, Sanya", ""),
    TeamIdentity("Jan van der Berg", "Wageningen University & Research", "jan.vanderberg@wur.nl"),
    TeamIdentity(
        "Nguyen Thi Lan",
        "Research Institute for Aquaculture No. 1, Bac Ninh, Viet Nam",
        "",
        "VNM",
        family_name="Nguyen",
    ),
    TeamIdentity(
        "José Núñez García", "Universidad de Chile, Santiago", "", family_name="Núñez García"
    ),
]

CLEAN = [
    # radio astronomy
    "Millisecond pulsars in binary systems provide the most precise tests of gravity in the "
    "strong-field regime (Kramer et al. 2006). We propose 40 h of tracking observations of "
    "PSR J1713+0747 and PSR J1909-3744 with the 19-beam receiver at 1.05-1.45 GHz, sampled at "
    "49.152 us, to extend the timing baseline of Manchester et al. (2005).",
    "Fast radio bursts were discovered in archival Parkes data by Lorimer et al. 2007 and "
    "confirmed as a population by Thornton et al. (2013). Repeating sources such as "
    "FRB 20121102A (Spitler et al. 2016) show burst rates that vary by orders of magnitude, "
    "e.g. the 1652 bursts in 59.5 h reported by Li et al. (2021).",
    "Drift-scan data will be searched for single pulses with a dispersion measure of up to "
    "3000 pc cm^-3, i.e. well beyond the Galactic contribution predicted by the NE2001 model "
    "(Cordes & Lazio 2002) and by YMW16 (Yao, Manchester & Wang 2017).",
    "The HI content of nearby dwarf galaxies constrains feedback models (Begum et al. 2008). "
    "Our targets, listed in Table 2, lie at declinations between -10 and +60 deg and can be "
    "tracked at zenith angles below 26.4 deg, where the aperture efficiency is about 0.63 "
    "(Jiang et al. 2020; see also arXiv:2002.01786).",
    "As shown in Fig. 3, the expected signal-to-noise ratio exceeds 10 for a 2 mJy source in "
    "15 min; as we show below, this allows a census of the brightest 200 objects in the "
    "ALFALFA catalogue (Haynes et al. 2018, https://doi.org/10.3847/1538-4357/aac956).",
    # lunar geochemistry
    "The Chang'e-5 basalts crystallised about 2.0 Ga ago (Li et al. 2021; Che et al. 2021), "
    "a billion years later than most Apollo and Luna mare basalts. We request 50 mg of "
    "CE5C0400 fines to measure Pb-Pb ages of individual phosphate grains by NanoSIMS.",
    "Water in lunar apatite records the volatile budget of the mantle source (McCubbin et al. "
    "2010; Boyce et al. 2014). Hydrogen isotopes will be measured on polished sections with a "
    "spatial resolution of 3 um; the analytical protocol follows Hu et al. (2021) and the "
    "standards of Greenwood et al. 2011.",
    "Space weathering produces nanophase iron (npFe0) in agglutinates (Pieters & Noble 2016). "
    "A subset of 5 mg will be studied by TEM to compare the Chang'e-6 far-side regolith with "
    "the near-side soils described by Keller & McKay (1997).",
    "Potassium, rare-earth elements and phosphorus (KREEP) are enriched in the Procellarum "
    "terrane (Jolliff et al. 2000). Our sample request targets fragments with 0.1-1 wt% K2O to "
    "test the thermal evolution models of Laneuville et al. 2013.",
    # hadal biology
    "Hadal snailfish are the deepest-living fishes known, recorded to 8336 m in the Izu-Ogasawara "
    "Trench (Jamieson et al. 2023). Trimethylamine N-oxide accumulates with depth and may set "
    "the physiological limit near 8200 m (Yancey et al. 2014; Gerringer et al. 2017).",
    "Amphipods were collected with baited traps on the submersible's sampling basket at three "
    "sites in the Mariana Trench between 6000 and 10900 m, following the protocols of "
    "Blankenship et al. (2006). Each dive requires about 8 h, of which 3 h on the seafloor.",
    "Microbial communities in trench sediments differ from those of the adjacent abyssal plain "
    "(Nunoura et al. 2015). We will sequence 16S rRNA genes from push cores taken every 2 cm, "
    "as in Glud et al. 2013, to test whether organic matter funnelling drives the difference.",
    "The proposed leg would visit the Challenger Deep and the Sirena Deep, which differ in "
    "surface productivity by a factor of two (Ichino et al. 2015), providing a natural "
    "experiment on food supply.",
    # rice agronomy
    "Hybrid rice yields 10-20 % more than inbred varieties under comparable management "
    "(Peng et al. 1999; Yuan 1994). Rice yields in the target district averaged 3.1 t ha-1 in "
    "2022, well below the 6-7 t ha-1 attained on demonstration plots.",
    "Nitrogen will be split into three applications of 60, 40 and 20 kg N ha-1 following the "
    "site-specific approach of Dobermann et al. (2002); a rice variety tolerant of submergence "
    "(Sub1) will be compared with the local check.",
    "Alternate wetting and drying reduces water use by about 25 % without yield loss "
    "(Bouman & Tuong 2001; Lampayan et al. 2015). Trials will be run in the wet and dry "
    "seasons of 2027 on 12 farms, e.g. at 4 sites per agro-ecological zone.",
    # aquaculture
    "Nile tilapia grows best between 28 and 31 C and stops feeding below 15 C (El-Sayed 2006). "
    "Pond temperatures at the candidate sites stay above 20 C for 9 to 11 months a year, "
    "according to the records summarised by Gupta & Acosta (2004).",
    "The GIFT strain shows 10-15 % higher growth per generation of selection (Ponzoni et al. "
    "2011). Fingerlings will be stocked at 3 fish m-2 and fed a 30 % protein diet; dissolved "
    "oxygen must stay above 4 mg L-1 (Boyd 1998).",
    "Juncao grasses such as Pennisetum giganteum produce 150-300 t of fresh biomass per hectare "
    "and year in the tropics; mushroom substrate formulas will follow Lin (2013) and the "
    "extension manual of the Fujian programme.",
    "Integrated rice-fish culture increases farm income while reducing pesticide use "
    "(Xie et al. 2011; Berg 2001). Plots of 0.1 ha with a refuge trench of 10 % of the area "
    "will be compared with rice monoculture over two seasons.",
]

PLANTED: list[tuple[str, str, str]] = [
    ("The pipeline was written by W.-H. Zhang in 2019.", "name", "W.-H. Zhang"),
    ("Data reduction: Zhang, W., with help from colleagues.", "name", "Zhang, W."),
    ("Team: Wei-Hua Zhang (PI).", "name", "Wei-Hua Zhang"),
    ("Co-I AMINA ODHIAMBO will lead the fieldwork.", "name", "AMINA ODHIAMBO"),
    ("Samples were described by J. Nunez Garcia.", "name", "J. Nunez Garcia"),
    ("The cruise was planned by Jan van der Berg.", "name", "Jan van der Berg"),
    ("Trench fauna were reviewed by Rice et al. (2022).", "self_citation", "Rice et al. (2022)"),
    ("Hatchery methods (Nguyen et al. 2019) will be used.", "self_citation", "Nguyen et al. 2019"),
    ("See Odhiambo & Kariuki 2020 for the baseline.", "self_citation", "Odhiambo & Kariuki 2020"),
    ("The ages agree with Núñez García (2018).", "self_citation", "Núñez García (2018)"),
    ("Receivers were tested at NAOC in 2023.", "institution", "NAOC"),
    ("Analyses run at the University of Nairobi.", "institution", "University of Nairobi"),
    (
        "The Institute of Deep-Sea Science & Engineering operates the vessel.",
        "institution",
        "Institute of Deep-Sea Science & Engineering",
    ),  # fmt: skip
    ("Plots are managed by WUR staff.", "institution", "WUR"),
    ("Write to somebody@example.org for data.", "email", "somebody@example.org"),
    (
        "Code: https://github.com/whzhang/frb-search.",
        "url",
        "https://github.com/whzhang/frb-search",
    ),
    ("Details at www.uonbi.ac.ke/odhiambo-lab", "url", "www.uonbi.ac.ke/odhiambo-lab"),
    ("Our group at the observatory built the backend.", "phrase", "Our group at"),
    ("This extends our previous work (Smith et al. 2019).", "phrase", "our previous work"),
    ("As we showed in 2020, the rate is low.", "phrase", "As we showed in"),
    ("In our earlier paper the limit was 2 mJy.", "phrase", "In our earlier paper"),
    (
        "We have previously measured the ages (Hu et al. 2021).",
        "phrase",
        "We have previously measured the ages (Hu et al. 2021",
    ),  # fmt: skip
    ("Students in my group will reduce the data.", "phrase", "my group"),
    ("Our team at the station will host the course.", "phrase", "Our team at"),
]


def kinds(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.kind, f.matched_text) for f in findings]


@pytest.mark.parametrize("paragraph", CLEAN, ids=[f"clean{i}" for i in range(len(CLEAN))])
def test_clean_prose_has_no_findings(paragraph: str) -> None:
    assert scan_text(paragraph, TEAM) == []


def test_clean_corpus_as_one_text() -> None:
    assert len(CLEAN) >= 20
    assert scan_text("\n\n".join(CLEAN), TEAM) == []


@pytest.mark.parametrize(("sentence", "kind", "match"), PLANTED, ids=[p[2] for p in PLANTED])
def test_planted_identifier_is_found(sentence: str, kind: str, match: str) -> None:
    found = scan_text(sentence, TEAM)
    assert (kind, match) in kinds(found), kinds(found)
    f = next(f for f in found if (f.kind, f.matched_text) == (kind, match))
    assert sentence[f.start : f.end] == match and f.suggestion


def test_planted_among_clean_paragraphs_offsets_are_exact() -> None:
    pieces = []
    for clean, (planted, _, _) in zip(CLEAN, PLANTED, strict=False):
        pieces += [clean, planted]
    text = " ".join(pieces)
    found = scan_text(text, TEAM)
    for _, kind, match in PLANTED[: len(CLEAN)]:
        assert (kind, match) in kinds(found)
    for f in found:
        assert text[f.start : f.end] == f.matched_text


def test_neutral_links_are_not_findings_but_personal_ones_are() -> None:
    text = (
        "See https://doi.org/10.1038/nature05251, https://arxiv.org/abs/0709.4301, "
        "https://ascl.net/1107.017, https://ui.adsabs.harvard.edu/abs/2007Sci...318..777L, "
        "doi:10.1126/science.1147532 and http://www.atnf.csiro.au/people/someone/."
    )
    assert kinds(scan_text(text, TEAM)) == [("url", "http://www.atnf.csiro.au/people/someone/")]
    custom = scan_text(
        "Data at https://zenodo.org/records/1.", TEAM, neutral_domains=["zenodo.org"]
    )
    assert custom == []


def test_team_email_and_extra_terms() -> None:
    text = "Contact WHZHANG@NAO.CAS.CN. The Tianlai project and the Qitai site."
    found = kinds(scan_text(text, TEAM, extra_terms=["Tianlai project", "qitai"]))
    assert ("email", "WHZHANG@NAO.CAS.CN") in found
    assert ("term", "Tianlai project") in found and ("term", "Qitai") in found


def test_accents_and_case_are_ignored_but_prose_words_are_not_names() -> None:
    team = [TeamIdentity("Zoë Ångström", "Uppsala Universitet")]
    found = kinds(scan_text("Work by ZOE ANGSTROM and Z. Angström at UPPSALA UNIVERSITET.", team))
    assert ("name", "ZOE ANGSTROM") in found and ("name", "Z. Angström") in found
    assert ("institution", "UPPSALA UNIVERSITET") in found
    rice = [TeamIdentity("Anna Rice")]
    assert scan_text("A rice crop and a Rice variety; Rice yields rose in 2020.", rice) == []


def test_normalise_maps_back_to_original_offsets() -> None:
    norm, index = normalise("Núñez\u00adGarcía ß")
    assert norm == "nunezgarcia ss"
    assert len(index) == len(norm) and index[5] == 6


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_scanner_never_crashes_and_offsets_are_valid(text: str) -> None:
    for f in scan_text(text, TEAM):
        assert 0 <= f.start <= f.end <= len(text)
        assert text[f.start : f.end] == f.matched_text


def make_pdf(paragraphs: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for p in paragraphs:
        pdf.multi_cell(0, 6, p)
        pdf.ln(3)
    return bytes(pdf.output())


def test_pdf_planted_identifiers_are_found() -> None:
    planted = [p for p, _, _ in PLANTED]
    data = make_pdf(CLEAN[:6] + planted[:12] + CLEAN[6:12] + planted[12:])
    found = scan_pdf(data, TEAM)
    text = extract_pdf_text(data)
    for _, kind, match in PLANTED:
        hits = [f for f in found if f.kind == kind]
        assert any(" ".join(f.matched_text.split()) == match for f in hits), (kind, match)
    assert all(f.page is not None and f.page >= 1 for f in found)
    assert max(f.page or 0 for f in found) >= 2  # the text spans pages
    for f in found:
        assert text[f.start : f.end] == f.matched_text


def test_pdf_of_clean_prose_has_no_findings() -> None:
    assert scan_pdf(make_pdf(CLEAN), TEAM) == []


def test_unreadable_pdf_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a readable PDF"):
        extract_pdf_text(b"this is not a pdf")
