"""Benchmark: reviewer-proposal affinity (opencall.optim.affinity).

1. Scale: TF-IDF affinity at 15,000 proposals x 10,000 reviewers, ~150 words each, top_k=50,
   blockwise (ours) against the plain peer: sklearn ``cosine_similarity`` on the full TF-IDF
   matrices (one dense P x R float32 matrix) followed by ``argpartition`` top-k.  Each runs in
   its own subprocess so that peak RSS is its own.
2. Quality: retrieval of same-area proposals (precision@10, MRR) on (a) the synthetic topic corpus
   and (b) proposal-like texts written from templates in six areas; embeddings too where the
   optional extra is installed.

    .venv/bin/python bench/bench_affinity.py                  # full size
    .venv/bin/python bench/bench_affinity.py --proposals 1500 --reviewers 1000   # quick
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

NDArrayInt = np.ndarray

AREAS: dict[str, str] = {
    "pulsars": "pulsar timing neutron star millisecond binary glitch dispersion measure "
    "rotation measure polarisation profile spin period magnetar timing array gravitational wave",
    "hi_gas": "neutral hydrogen 21cm line galaxy rotation curve dark matter halo gas disk "
    "tidal stream cosmic web intensity mapping redshift survey column density absorption",
    "frb": "fast radio burst repeating source host galaxy localisation burst energy "
    "scattering tail periodicity baseband dispersion sweep transient search triggers",
    "deepsea": "hydrothermal vent submersible dive trench hadal sediment core benthic fauna "
    "seamount methane seep bathymetry microbial mat chemosynthesis amphipod pressure",
    "oceanphys": "ocean current mixing internal wave turbulence mooring ctd profile "
    "thermocline upwelling eddy heat flux salinity glider boundary layer circulation",
    "lunar": "lunar regolith basalt sample isotope mineralogy impact glass volcanism helium "
    "solar wind petrology zircon dating mare crystallisation space weathering",
    "rice": "hybrid rice seed yield paddy irrigation fertiliser nitrogen tillering grain "
    "cultivar smallholder harvest transplanting blast resistance drought tolerance",
    "aquaculture": "tilapia fingerling pond feed conversion hatchery stocking density water "
    "quality oxygen fish growth broodstock cage farming disease vaccine",
    "juncao": "juncao grass mushroom cultivation substrate spawn shiitake oyster fungus "
    "erosion control forage livestock biomass compost smallholder income",
    "star_formation": "molecular cloud star formation protostar outflow maser methanol "
    "hydroxyl recombination line hii region dense core magnetic field infall",
    "planetary": "planet exoplanet magnetosphere jupiter auroral emission radio star flare "
    "brown dwarf habitability stellar activity cyclotron maser emission",
    "geochem": "trace element isotope ratio mass spectrometry mantle crust magma oxygen "
    "fractionation partition coefficient melt inclusion geochronology",
}
COMMON = (
    "project research data analysis results team plan study method approach propose aim "
    "understand measure observe new first test model theory sample large high resolution "
    "important question programme facility time request experience previous"
).split()


def topic_corpus(
    n: int, n_words: int, seed: int, topic_share: float = 0.2, rare_per_area: int = 400
) -> tuple[list[str], NDArrayInt]:
    """``n`` texts of ``n_words`` words, each from one area: ``topic_share`` of the words are the
    area's (its core list plus long-tail rare tokens), 10 % come from a second, random area and
    the rest are general research words and words of any area."""
    rng = np.random.default_rng(seed)
    names = sorted(AREAS)
    vocab = {a: AREAS[a].split() + [f"{a[:4]}term{i}" for i in range(rare_per_area)] for a in names}
    all_words = np.array([w for a in names for w in AREAS[a].split()] + COMMON * 8)
    labels = rng.integers(0, len(names), n)
    texts = []
    for lab in labels:
        words = vocab[names[lab]]
        other = vocab[names[int(rng.integers(0, len(names)))]]
        n_topic = max(1, int(topic_share * n_words))
        n_other = int(0.1 * n_words)
        core = rng.choice(len(AREAS[names[lab]].split()), n_topic // 2)
        tail = rng.choice(len(words), n_topic - n_topic // 2)
        picked = [words[i] for i in core] + [words[i] for i in tail]
        picked += [other[i] for i in rng.choice(len(other), n_other)]
        picked += list(rng.choice(all_words, n_words - n_topic - n_other))
        rng.shuffle(picked)
        texts.append(" ".join(picked))
    return texts, labels


TEMPLATES = {
    "pulsars": (
        ["We propose to time {n} millisecond pulsars", "Our timing campaign of {x}"],
        ["binary pulsar", "glitching pulsar", "pulsar timing array", "magnetar", "spin-down"],
    ),
    "hi_gas": (
        ["We will map neutral hydrogen in {x}", "This survey traces HI emission from {x}"],
        ["nearby galaxies", "galaxy groups", "tidal streams", "the cosmic web", "gas disks"],
    ),
    "deepsea": (
        ["Submersible dives will sample {x}", "We request berths to study {x}"],
        ["hydrothermal vents", "hadal trench fauna", "cold seeps", "seamount corals", "sediments"],
    ),
    "lunar": (
        ["We request {n} mg of lunar soil to measure {x}", "The sample loan will test {x}"],
        ["noble gas isotopes", "basalt crystallisation ages", "impact glass", "space weathering"],
    ),
    "rice": (
        ["Training in hybrid rice will raise {x}", "Demonstration plots will compare {x}"],
        ["paddy yields", "seed production", "drought tolerant cultivars", "fertiliser use"],
    ),
    "aquaculture": (
        ["The course on tilapia farming covers {x}", "Our hatchery project improves {x}"],
        ["fingerling survival", "feed conversion", "pond water quality", "cage farming"],
    ),
}
FILLER = [
    "The team has experience with similar programmes.",
    "Results will be published and data shared openly.",
    "Students from partner institutions will be trained.",
    "The plan is feasible within the requested allocation.",
]


def proposal_like_corpus(n: int, seed: int, profile: bool) -> tuple[list[str], NDArrayInt]:
    """Proposal-like texts (or reviewer profiles) from per-area templates: two sentences of the
    area, one of another area (a reviewer's secondary interest, a proposal's side goal) and
    generic filler sentences."""
    rng = np.random.default_rng(seed)
    names = sorted(TEMPLATES)
    labels = rng.integers(0, len(names), n)
    out = []

    def sentence(area: str) -> str:
        starts, topics = TEMPLATES[area]
        words = AREAS[area].split()
        tmpl = str(rng.choice(starts))
        return (
            tmpl.format(n=int(rng.integers(2, 60)), x=rng.choice(topics))
            + f" using {' '.join(rng.choice(words, 2))}."
        )

    for lab in labels:
        area = names[lab]
        other = names[int(rng.integers(0, len(names)))]
        _, topics = TEMPLATES[area]
        sents = [sentence(area), sentence(area), sentence(other)]
        if profile:
            sents[0] = f"My research focuses on {rng.choice(topics)}."
        sents += [str(x) for x in rng.choice(FILLER, 4)]
        rng.shuffle(sents)
        out.append(" ".join(sents))
    return out, labels


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(method: str, n_p: int, n_r: int, top_k: int, words: int) -> dict[str, float]:
    from opencall.optim.affinity import make_vectorizer, tfidf_affinity

    rev, _ = topic_corpus(n_r, words, seed=1)
    prop, _ = topic_corpus(n_p, words, seed=2)
    base = peak_rss_mb()
    t0 = time.perf_counter()
    if method == "ours":
        res = tfidf_affinity(rev, prop, top_k=top_k)
        assert res.check() == [], res.check()
        vocab = res.vocabulary_size
        nnz = int(res.matrix.nnz)
        vec_s, sim_s = res.timings["vectorize_s"], res.timings["similarity_s"]
    else:  # plain peer: full dense cosine matrix, then top-k per row
        from sklearn.metrics.pairwise import cosine_similarity

        vec = make_vectorizer()
        x = vec.fit_transform(rev + prop)
        t1 = time.perf_counter()
        full = cosine_similarity(x[n_r:], x[:n_r]).astype(np.float32)
        top = np.argpartition(-full, top_k - 1, axis=1)[:, :top_k]
        vocab = len(vec.vocabulary_)
        nnz = int(top.size)
        vec_s, sim_s = t1 - t0, time.perf_counter() - t1
    elapsed = time.perf_counter() - t0
    return {
        "seconds": elapsed,
        "vectorize_s": vec_s,
        "similarity_s": sim_s,
        "peak_rss_mb": peak_rss_mb(),
        "corpus_rss_mb": base,
        "vocabulary": float(vocab),
        "nnz": float(nnz),
    }


def run_worker(method: str, args: argparse.Namespace) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        method,
        "--proposals",
        str(args.proposals),
        "--reviewers",
        str(args.reviewers),
        "--top-k",
        str(args.top_k),
        "--words",
        str(args.words),
        "--blas-threads",
        str(args.blas_threads),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def quality(args: argparse.Namespace) -> list[tuple[str, str, dict[str, float]]]:
    from opencall.optim.affinity import (
        embedding_affinity,
        embeddings_available,
        retrieval_quality,
        tfidf_affinity,
    )

    rows = []
    corpora = {
        "topic words (12 areas)": (
            topic_corpus(600, args.words, seed=3),
            topic_corpus(1500, args.words, seed=4),
        ),
        "proposal-like (6 areas)": (
            proposal_like_corpus(300, seed=5, profile=True),
            proposal_like_corpus(1500, seed=6, profile=False),
        ),
    }
    methods = [("tfidf", tfidf_affinity)]
    if embeddings_available():
        methods.append(("embedding", embedding_affinity))
    for cname, ((rev, ra), (prop, pa)) in corpora.items():
        for mname, fn in methods:
            res = fn(rev, prop, top_k=50)
            q = retrieval_quality(res.matrix, ra, pa, k=10)
            q["seconds"] = res.timings["total_s"]
            rows.append((cname, mname, q))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--proposals", type=int, default=15000)
    ap.add_argument("--reviewers", type=int, default=10000)
    ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--words", type=int, default=150)
    ap.add_argument("--worker", choices=["ours", "peer"])
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--blas-threads", type=int, default=1, help="0 = leave BLAS alone")
    args = ap.parse_args()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)
    if args.worker:
        print(
            json.dumps(worker(args.worker, args.proposals, args.reviewers, args.top_k, args.words))
        )
        return
    if not args.skip_scale:
        print(
            f"## Scale: {args.proposals} proposals x {args.reviewers} reviewers, "
            f"{args.words} words each, top_k={args.top_k}\n"
        )
        print(
            "| method | total s | vectorise s | similarity + top-k s | peak RSS MB "
            "| RSS after corpus MB | vocabulary | kept |"
        )
        print("|---|---|---|---|---|---|---|---|")
        methods = ["ours"] + ([] if args.skip_peer else ["peer"])
        for m in methods:
            r = run_worker(m, args)
            label = "opencall blockwise top-k" if m == "ours" else "peer: dense cosine_similarity"
            print(
                f"| {label} | {r['seconds']:.1f} | {r['vectorize_s']:.1f} | "
                f"{r['similarity_s']:.1f} | {r['peak_rss_mb']:.0f} | "
                f"{r['corpus_rss_mb']:.0f} | {int(r['vocabulary'])} | {int(r['nnz'])} |",
                flush=True,
            )
    print("\n## Retrieval quality (k = 10, top_k = 50)\n")
    print(
        "| corpus | method | precision@10 | chance | MRR | top-1 | proposal best-reviewer same area | s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for cname, mname, q in quality(args):
        print(
            f"| {cname} | {mname} | {q['precision_at_k']:.3f} | {q['chance_precision']:.3f} | "
            f"{q['mrr']:.3f} | {q['top1']:.3f} | {q['proposal_top1_same_area']:.3f} | "
            f"{q['seconds']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
