"""Text material for the demo world: people's names, institutions and
proposal texts that read like real proposals in several science areas.

Everything is drawn with a seeded ``random.Random`` so the world is
reproducible. Hand-written word lists (no library ships proposal prose).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# --- names by broad cultural region (keyed by UN sub-region) -----------------

_NAMES: dict[str, tuple[list[str], list[str]]] = {
    "Eastern Asia": (
        [
            "Wei",
            "Jing",
            "Min",
            "Hao",
            "Yuki",
            "Hiroshi",
            "Ji-woo",
            "Seo-yeon",
            "Lei",
            "Xin",
            "Takumi",
            "Mei",
            "Jun",
            "Hana",
            "Bolor",
            "Tsetseg",
        ],
        [
            "Zhang",
            "Wang",
            "Li",
            "Chen",
            "Liu",
            "Tanaka",
            "Suzuki",
            "Kim",
            "Park",
            "Lee",
            "Huang",
            "Zhao",
            "Sato",
            "Batbayar",
            "Wu",
            "Lin",
        ],
    ),
    "South-eastern Asia": (
        [
            "Nguyen",
            "Anh",
            "Siti",
            "Budi",
            "Maria",
            "Somchai",
            "Ploy",
            "Rizal",
            "Dewi",
            "Hoa",
            "Arief",
            "Malee",
        ],
        [
            "Tran",
            "Santos",
            "Wijaya",
            "Saetang",
            "Reyes",
            "Pham",
            "Rahman",
            "Lim",
            "Hidayat",
            "Bautista",
            "Vongsa",
            "Chanthavong",
        ],
    ),
    "Southern Asia": (
        [
            "Priya",
            "Arjun",
            "Ananya",
            "Rahul",
            "Fatima",
            "Imran",
            "Sanjida",
            "Nimal",
            "Ayesha",
            "Kiran",
            "Dinesh",
            "Maryam",
            "Reza",
            "Sara",
        ],
        [
            "Sharma",
            "Patel",
            "Iyer",
            "Khan",
            "Hossain",
            "Perera",
            "Siddiqui",
            "Gupta",
            "Rao",
            "Ahmadi",
            "Karimi",
            "Shrestha",
            "Chowdhury",
            "Nair",
        ],
    ),
    "Western Asia": (
        ["Ahmet", "Elif", "Omar", "Layla", "Yusuf", "Noor", "Armen", "Nino", "Khalid", "Rania"],
        [
            "Yilmaz",
            "Demir",
            "Haddad",
            "Al-Sayed",
            "Kaya",
            "Nasser",
            "Petrosyan",
            "Beridze",
            "Mansour",
            "Aziz",
        ],
    ),
    "Central Asia": (
        ["Aigerim", "Timur", "Dilnoza", "Rustam", "Madina", "Bakhyt"],
        ["Nurlanov", "Karimova", "Tashkentov", "Abdullaev", "Sadykova", "Omarov"],
    ),
    "Northern Africa": (
        ["Mohamed", "Amina", "Youssef", "Salma", "Karim", "Nadia", "Hassan", "Leila"],
        ["Benali", "El Amrani", "Mahmoud", "Ibrahim", "Bouzid", "Mansouri", "Hamdi", "Saleh"],
    ),
    "Sub-Saharan Africa": (
        [
            "Kwame",
            "Ama",
            "Chidi",
            "Ngozi",
            "Tendai",
            "Wanjiru",
            "Abebe",
            "Fatoumata",
            "Moussa",
            "Thandiwe",
            "Juma",
            "Aisha",
            "Kofi",
            "Zodwa",
            "Emeka",
            "Mariam",
            "Jean-Baptiste",
            "Aminata",
            "Tesfaye",
            "Grace",
        ],
        [
            "Mensah",
            "Okafor",
            "Moyo",
            "Kamau",
            "Bekele",
            "Traore",
            "Diallo",
            "Nkosi",
            "Mwangi",
            "Ndlovu",
            "Osei",
            "Abubakar",
            "Mutua",
            "Haile",
            "Kone",
            "Uwimana",
            "Banda",
            "Sow",
            "Achieng",
            "Tshabalala",
        ],
    ),
    "Latin America and the Caribbean": (
        [
            "Carlos",
            "Ana",
            "Luis",
            "Camila",
            "Jorge",
            "Valentina",
            "Diego",
            "Lucia",
            "Mateo",
            "Fernanda",
            "Joao",
            "Beatriz",
            "Andres",
            "Paula",
        ],
        [
            "Garcia",
            "Rodriguez",
            "Silva",
            "Fernandez",
            "Lopez",
            "Martinez",
            "Pereira",
            "Gomez",
            "Rojas",
            "Oliveira",
            "Vargas",
            "Castillo",
            "Mendoza",
            "Souza",
        ],
    ),
    "Europe": (
        [
            "Anna",
            "Lukas",
            "Sophie",
            "Marco",
            "Elena",
            "Pierre",
            "Ingrid",
            "Piotr",
            "Katarina",
            "Jan",
            "Giulia",
            "Thomas",
            "Olga",
            "Nikos",
            "Clara",
            "Mikael",
        ],
        [
            "Muller",
            "Rossi",
            "Dubois",
            "Kowalski",
            "Novak",
            "Jansen",
            "Andersson",
            "Petrov",
            "Papadopoulos",
            "Schmidt",
            "Bianchi",
            "Martin",
            "Horvat",
            "Nielsen",
            "Smith",
            "Murphy",
        ],
    ),
    "Northern America": (
        ["Emily", "Michael", "Sarah", "David", "Jessica", "Daniel", "Olivia", "James"],
        ["Johnson", "Williams", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Anderson"],
    ),
    "Oceania": (
        ["Aroha", "Liam", "Mele", "Isla", "Sione", "Chloe", "Tama", "Ruby"],
        ["Ngata", "Walker", "Tupou", "Thompson", "Fifita", "Clarke", "Parata", "Harris"],
    ),
}


def name_region(un_region: str, un_subregion: str) -> str:
    if un_subregion in _NAMES:
        return un_subregion
    if un_region == "Europe":
        return "Europe"
    if un_region == "Americas":
        return "Latin America and the Caribbean"
    if un_region == "Oceania":
        return "Oceania"
    if un_region == "Africa":
        return "Sub-Saharan Africa"
    return "Western Asia"


def person_name(rng: random.Random, un_region: str, un_subregion: str) -> str:
    firsts, lasts = _NAMES[name_region(un_region, un_subregion)]
    return f"{rng.choice(firsts)} {rng.choice(lasts)}"


_INST_PATTERNS = {
    "astro": [
        "{c} Astronomical Observatory",
        "Department of Physics, University of {c}",
        "{c} Institute of Astrophysics",
        "National Radio Astronomy Centre of {c}",
    ],
    "ocean": [
        "{c} Institute of Oceanography",
        "Marine Science Department, University of {c}",
        "National Institute of Ocean Research, {c}",
    ],
    "lunar": [
        "{c} Institute of Planetary Science",
        "Department of Earth Sciences, University of {c}",
        "{c} Space Research Agency",
    ],
    "agri": [
        "{c} Agricultural Research Institute",
        "Faculty of Agriculture, University of {c}",
        "National Aquaculture Centre of {c}",
        "{c} Institute of Rural Development",
    ],
}


def institution(rng: random.Random, country_name: str, field: str) -> str:
    short = country_name.split(" (")[0].split(",")[0]
    return rng.choice(_INST_PATTERNS[field]).format(c=short)


# --- proposal texts ------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    key: str
    label: str
    field: str  # astro | ocean | lunar | agri
    topics: list[str]
    objects: list[str]
    methods: list[str]
    questions: list[str]
    outcomes: list[str]
    keywords: list[str]
    expertise: list[str]


AREAS: dict[str, Area] = {
    "pulsars": Area(
        "pulsars",
        "Pulsars and neutron stars",
        "astro",
        [
            "millisecond pulsar timing",
            "binary pulsar evolution",
            "pulsar emission physics",
            "nulling and mode changing in pulsars",
            "globular-cluster pulsars",
        ],
        [
            "recycled millisecond pulsars",
            "double neutron star binaries",
            "young energetic pulsars",
            "pulsars in globular clusters",
            "intermittent pulsars",
        ],
        [
            "coherent timing with the 19-beam receiver",
            "single-pulse polarimetry",
            "dedispersion searches with acceleration templates",
            "phase-connected timing solutions",
        ],
        [
            "how the radio emission region evolves with height above the polar cap",
            "whether the observed spin-down irregularities arise from the superfluid interior",
            "how many of these binaries will merge within a Hubble time",
            "what sets the nulling fraction of old pulsars",
        ],
        [
            "sub-microsecond timing residuals",
            "precise Shapiro-delay masses",
            "a census of single-pulse phenomena",
            "improved constraints on the neutron-star equation of state",
        ],
        [
            "pulsar timing",
            "neutron stars",
            "polarimetry",
            "gravitational waves",
            "binary evolution",
        ],
        [
            "I work on radio pulsar timing and the physics of neutron stars, with long-term timing "
            "campaigns of millisecond pulsars and searches for binary companions.",
            "My research covers single-pulse studies of radio pulsars, polarisation and emission "
            "geometry, and timing noise in young pulsars.",
        ],
    ),
    "frb": Area(
        "frb",
        "Fast radio bursts and transients",
        "astro",
        [
            "repeating fast radio bursts",
            "burst morphology",
            "FRB host environments",
            "rotating radio transients",
        ],
        [
            "active repeating FRB sources",
            "rotating radio transients",
            "magnetar candidates",
            "localised FRB hosts",
        ],
        [
            "high-cadence monitoring with the 19-beam receiver",
            "burst search with a GPU pipeline",
            "Faraday rotation measure synthesis",
            "wideband spectral analysis with the UWB receiver",
        ],
        [
            "whether the rotation measure of the source varies on timescales of days",
            "how the burst energy distribution depends on activity level",
            "what fraction of bursts shows downward drifting sub-structure",
            "whether periodic activity windows persist over years",
        ],
        [
            "a complete energy function of a repeater",
            "a time series of rotation measures",
            "constraints on the local magneto-ionic environment",
            "a catalogue of burst morphologies",
        ],
        ["fast radio bursts", "transients", "magnetars", "rotation measure", "plasma lensing"],
        [
            "I study fast radio bursts and radio transients: burst searches, energy functions, "
            "polarimetry and the magneto-ionic environments of repeaters.",
            "My group builds real-time transient detection pipelines and studies rotating radio transients.",
        ],
    ),
    "hi": Area(
        "hi",
        "Neutral hydrogen in galaxies",
        "astro",
        [
            "HI in nearby galaxies",
            "gas accretion onto galaxies",
            "HI absorption",
            "the HI mass function",
            "tidal features in groups",
        ],
        [
            "gas-rich dwarf galaxies",
            "galaxy groups",
            "low-surface-brightness galaxies",
            "interacting pairs",
            "radio-loud active nuclei",
        ],
        [
            "on-the-fly mapping with the 19-beam receiver",
            "deep tracking of the 21 cm line",
            "stacking of spectra",
            "drift-scan mapping",
        ],
        [
            "how much diffuse gas surrounds these galaxies below current column-density limits",
            "whether low-surface-brightness galaxies are still accreting gas",
            "how tidal interactions redistribute neutral hydrogen in compact groups",
            "how the HI content depends on environment",
        ],
        [
            "column-density limits near 10^17 cm^-2",
            "HI maps of faint tidal features",
            "an environment-dependent HI mass function",
            "absorption-line statistics",
        ],
        ["neutral hydrogen", "21 cm", "galaxy evolution", "gas accretion", "dwarf galaxies"],
        [
            "I work on the 21 cm line of neutral hydrogen in galaxies, gas accretion and galaxy "
            "evolution in groups, with single-dish mapping and interferometry.",
            "My expertise is extragalactic HI surveys, the HI mass function and low-surface-brightness galaxies.",
        ],
    ),
    "ism": Area(
        "ism",
        "Interstellar medium and star formation",
        "astro",
        [
            "OH masers in star-forming regions",
            "Zeeman splitting and magnetic fields",
            "radio recombination lines",
            "cold atomic gas in the Galactic plane",
        ],
        [
            "massive star-forming regions",
            "molecular clouds in the Galactic plane",
            "HII regions",
            "supernova remnants",
        ],
        [
            "spectral-line mapping with the 19-beam receiver",
            "Zeeman measurements in full Stokes",
            "radio recombination line stacking",
            "absorption against continuum sources",
        ],
        [
            "how strong the magnetic field is in the envelopes of molecular clouds",
            "how cold atomic gas turns into molecular gas",
            "how the ionised gas is distributed around young clusters",
        ],
        [
            "magnetic-field strengths for a sample of clouds",
            "a map of HI narrow self-absorption",
            "electron temperatures of HII regions",
        ],
        ["interstellar medium", "star formation", "magnetic fields", "masers", "Galactic plane"],
        [
            "I work on the interstellar medium and star formation: molecular clouds, Zeeman "
            "magnetic-field measurements and radio recombination lines.",
            "My research is on Galactic HI and OH, cold gas and the transition to molecular clouds.",
        ],
    ),
    "hadal": Area(
        "hadal",
        "Hadal biology and ecology",
        "ocean",
        [
            "hadal amphipod communities",
            "trench microbial ecology",
            "deep-sea fish physiology",
            "organic-matter flux into trenches",
        ],
        ["trench-axis sediments", "hadal snailfish", "scavenging amphipods", "microbial mats"],
        [
            "baited lander deployments and push cores from the submersible",
            "in-situ respirometry",
            "metagenomic sequencing",
            "video transects",
        ],
        [
            "how food supply controls community structure along the trench axis",
            "how hadal fish cope with hydrostatic pressure",
            "whether trench microbes differ between trenches",
        ],
        ["a comparative census of hadal fauna", "pressure-adapted cultures", "carbon burial rates"],
        ["hadal zone", "deep-sea biology", "trenches", "microbial ecology", "amphipods"],
        [
            "I study deep-sea and hadal ecology: trench fauna, food supply and adaptation to pressure.",
            "My work combines submersible sampling, metagenomics and the microbial ecology of trenches.",
        ],
    ),
    "trench_geo": Area(
        "trench_geo",
        "Trench geology and geochemistry",
        "ocean",
        [
            "subduction-zone fluid seepage",
            "trench sediment geochemistry",
            "serpentinite mud volcanoes",
            "seafloor faulting",
        ],
        [
            "cold seeps on the inner trench wall",
            "serpentinite seamounts",
            "exposed fault scarps",
            "sediment ponds",
        ],
        [
            "rock sampling with the manipulator arm",
            "pore-water extraction",
            "high-resolution bathymetry",
            "heat-flow probes",
        ],
        [
            "how much water the subducting plate carries into the mantle",
            "what controls fluid chemistry at cold seeps",
            "how recent earthquakes reshaped the trench floor",
        ],
        ["fluid budgets of the subduction zone", "dated fault scarps", "geochemical profiles"],
        ["subduction", "geochemistry", "cold seeps", "marine geology", "earthquakes"],
        [
            "I am a marine geologist working on subduction zones, cold seeps and trench geochemistry.",
            "My expertise is seafloor geology, fluid flow and the tectonics of convergent margins.",
        ],
    ),
    "lunar_geo": Area(
        "lunar_geo",
        "Lunar geochemistry and chronology",
        "lunar",
        [
            "young mare basalts",
            "the lunar far side crust",
            "lunar magmatism",
            "the chronology of the Moon",
        ],
        ["basalt fragments", "regolith glass beads", "KREEP-rich clasts", "impact melt"],
        [
            "Pb-Pb dating with secondary ion mass spectrometry",
            "trace-element analysis by LA-ICP-MS",
            "noble-gas exposure ages",
            "isotope dilution",
        ],
        [
            "how long volcanism lasted on the Moon",
            "how the far-side mantle differs from the near side",
            "what the volatile content of the lunar mantle was",
        ],
        ["precise crystallisation ages", "mantle source compositions", "volatile abundances"],
        ["lunar samples", "geochronology", "basalts", "mantle", "isotopes"],
        [
            "I work on lunar and planetary geochemistry: isotope geochronology of basalts and the "
            "evolution of the lunar mantle.",
            "My expertise is trace-element and isotope analysis of extraterrestrial samples.",
        ],
    ),
    "space_weathering": Area(
        "space_weathering",
        "Space weathering and regolith physics",
        "lunar",
        ["space weathering of regolith", "solar-wind implanted water", "micrometeorite impacts"],
        ["regolith grains", "agglutinates", "nanophase iron"],
        ["transmission electron microscopy", "atom probe tomography", "infrared spectroscopy"],
        [
            "how solar-wind hydrogen forms water in regolith grains",
            "how fast space weathering darkens the surface",
        ],
        ["rim formation rates", "water abundances in grain rims", "reflectance models"],
        ["space weathering", "regolith", "solar wind", "water", "spectroscopy"],
        ["I study space weathering of airless bodies with electron microscopy and spectroscopy."],
    ),
    "rice": Area(
        "rice",
        "Hybrid rice",
        "agri",
        ["hybrid rice seed production", "rice yield gaps", "smallholder rice systems"],
        ["irrigated lowland rice", "rainfed rice farms", "seed-production plots"],
        ["on-farm demonstration trials", "farmer field schools", "training of extension officers"],
        [
            "how much hybrid varieties can raise yields on smallholder farms",
            "how local seed production can be organised",
        ],
        [
            "trained extension officers",
            "a demonstration site run by the cooperative",
            "a local seed-production plan",
        ],
        ["hybrid rice", "food security", "agronomy", "seed systems", "extension"],
        [
            "I am an agronomist working on rice systems, yield gaps and seed production for smallholders.",
            "My expertise is extension and farmer training in irrigated rice.",
        ],
    ),
    "aquaculture": Area(
        "aquaculture",
        "Tilapia aquaculture",
        "agri",
        ["tilapia pond culture", "fingerling production", "fish feed formulation"],
        ["community fish ponds", "hatcheries", "cage culture in reservoirs"],
        ["hands-on hatchery training", "pond management demonstrations", "feed trials"],
        [
            "how pond productivity can be raised with local feeds",
            "how a community hatchery can supply quality fingerlings",
        ],
        ["a functioning hatchery", "trained fish farmers", "improved pond yields"],
        ["aquaculture", "tilapia", "fisheries", "nutrition", "livelihoods"],
        ["I work on inland aquaculture, tilapia breeding and fish nutrition."],
    ),
    "juncao": Area(
        "juncao",
        "Juncao technology",
        "agri",
        [
            "mushroom cultivation on grass substrates",
            "erosion control with juncao grass",
            "forage production",
        ],
        ["smallholder mushroom farms", "degraded slopes", "women's cooperatives"],
        ["training in substrate preparation", "demonstration plots", "shade-house construction"],
        [
            "how juncao mushroom production can add income for smallholders",
            "whether juncao grass can stabilise degraded slopes",
        ],
        ["a working mushroom demonstration unit", "trained cooperative members", "restored slopes"],
        ["juncao", "mushrooms", "livelihoods", "land restoration", "forage"],
        ["I work on juncao technology, edible mushroom cultivation and land restoration."],
    ),
}

FIELD_AREAS = {
    "astro": ["pulsars", "frb", "hi", "ism"],
    "ocean": ["hadal", "trench_geo"],
    "lunar": ["lunar_geo", "space_weathering"],
    "agri": ["rice", "aquaculture", "juncao"],
}


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def proposal_text(rng: random.Random, area_key: str) -> tuple[str, str, str, str]:
    """(title, abstract, science case, keywords) for a proposal in an area."""
    a = AREAS[area_key]
    topic, obj, method = rng.choice(a.topics), rng.choice(a.objects), rng.choice(a.methods)
    q1, q2 = rng.sample(a.questions, k=min(2, len(a.questions)))
    out1 = rng.choice(a.outcomes)
    title = rng.choice(
        [
            f"{_cap(topic)}: {obj} with {method}",
            f"A study of {obj}: {topic}",
            f"Understanding {topic} through {method}",
            f"{_cap(obj)} and {topic}",
        ]
    )
    if a.field == "agri":
        abstract = (
            f"We request support to introduce {topic} in our area, where {obj} are common but "
            f"yields and incomes remain low. The project will use {method} to answer {q1}. "
            f"Participants will share what they learn with neighbouring communities, and we "
            f"expect {out1}. The site conditions and our partners' commitments are described below."
        )
        case = " ".join(
            [
                f"Context. {_cap(obj)} provide food and income for many households in the region, "
                f"but access to improved practices is limited.",
                f"Need. Local extension services have asked for training in {topic}; the main "
                f"question is {q1}.",
                f"Plan. We will combine {method} with follow-up visits during the first season, and "
                f"record yields, costs and labour before and after.",
                f"A second aim is to understand {q2}.",
                "Partners. The district agricultural office and a farmers' cooperative have agreed "
                "to host the demonstration and to release staff for training.",
                f"Expected results. We expect {out1}, and a short report to the programme after one year.",
            ]
        )
    else:
        abstract = (
            f"We propose to study {obj} to address {q1}. Using {method}, we will obtain "
            f"{out1}. These data will also test {q2}. The observations build on published "
            f"work in the field and are designed to be completed within one cycle."
        )
        case = " ".join(
            [
                f"Scientific background. {_cap(topic)} is one of the open problems in this field. "
                f"Previous studies of {obj} have been limited by sensitivity and sample size.",
                f"Immediate objective. The key question is {q1}. Answering it requires "
                f"{method}, which this facility is uniquely able to provide.",
                f"Technical justification. The requested amount follows from the sensitivity "
                f"needed for {out1}, including calibration overheads.",
                f"Secondary objective. The same data let us examine {q2}.",
                "Relation to other work. Results will be compared with published surveys and "
                "numerical models; the data will be released after the proprietary period.",
                f"Expected outcome. {_cap(out1)}, to be published in refereed journals.",
            ]
        )
    keywords = ", ".join(rng.sample(a.keywords, k=3))
    return title, abstract, case, keywords


def expertise_statement(rng: random.Random, area_key: str) -> str:
    a = AREAS[area_key]
    extra = rng.choice(a.topics)
    return f"{rng.choice(a.expertise)} Recent work: {extra}; {rng.choice(a.methods)}."
