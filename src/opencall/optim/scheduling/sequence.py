"""The schedule as a sequence of blocks whose starts float between an earliest and a
latest start: O(1) insertion tests, insertion, removal and the final forward pass."""

from __future__ import annotations

import math

import numpy as np

from opencall.optim.arrays import FloatArray
from opencall.optim.scheduling.geometry import _gap_row
from opencall.optim.scheduling.prepare import _Prep
from opencall.optim.scheduling.problem import _EPS

#: the work of one step beyond its array cells, in cells: a numpy call's overhead (a few
#: microseconds, a cell a few nanoseconds), and a Python loop's turn over an item; so that
#: ``_Work`` stays about proportional to CPU time both in long sequences (cells dominate)
#: and in short ones (calls dominate: 120 blocks over 6 days spent 32 CPU s on 1.5e8 cells)
_CALL = 1000
_PY_ITEM = 60


class _Seq:
    """Blocks in time order with floating start times in [ES, LS]."""

    def __init__(self, prep: _Prep) -> None:
        self.prep = prep
        self.blk: list[int] = []
        self.dur: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.ideal: list[float] = []
        self.pinned: list[bool] = []
        self.chunked: list[bool] = []
        self.es: FloatArray = np.zeros(0)
        self.ls: FloatArray = np.zeros(0)
        self.g: FloatArray = np.zeros(0)  # g[k] = gap between item k-1 and k (g[0] = 0)
        self.placed: set[int] = set()
        self._cache_arrays()

    def copy(self) -> _Seq:
        self.prep.work.spend(_CALL + 4 * len(self.blk))
        s = _Seq(self.prep)
        s.blk = list(self.blk)
        s.dur = list(self.dur)
        s.lo = list(self.lo)
        s.hi = list(self.hi)
        s.ideal = list(self.ideal)
        s.pinned = list(self.pinned)
        s.chunked = list(self.chunked)
        s.es, s.ls, s.g = self.es.copy(), self.ls.copy(), self.g.copy()
        s.placed = set(self.placed)
        s._cache_arrays()
        return s

    def recompute(self) -> bool:
        n = len(self.blk)
        p = self.prep
        p.work.spend(_CALL + _PY_ITEM * n)  # two Python loops over the items
        if n == 0:
            self.es = np.zeros(0)
            self.ls = np.zeros(0)
            self.g = np.zeros(0)
            self._cache_arrays()
            return True
        b = np.asarray(self.blk)
        g = np.zeros(n)
        if n > 1:
            # np.clip's values without its wrapper (as geometry._gap_row)
            dot = np.minimum(np.maximum(np.sum(p.xyz[b[:-1]] * p.xyz[b[1:]], axis=1), -1.0), 1.0)
            g[1:] = p.problem.setup_s + np.degrees(np.arccos(dot)) / p.problem.slew_deg_per_s
        es = [0.0] * n
        ls = [0.0] * n
        prev_end = -math.inf
        for k in range(n):
            v = max(self.lo[k], prev_end + g[k])
            es[k] = v
            prev_end = v + self.dur[k]
        nxt = math.inf
        for k in range(n - 1, -1, -1):
            v = min(self.hi[k], nxt - self.dur[k])
            ls[k] = v
            nxt = v - g[k]
        self.es = np.asarray(es)
        self.ls = np.asarray(ls)
        self.g = g
        self._cache_arrays()
        return bool((self.es <= self.ls + _EPS).all())

    def _cache_arrays(self) -> None:
        """Arrays derived from the lists, refreshed by ``recompute`` after every change."""
        self.blk_arr = np.asarray(self.blk, dtype=np.int64)
        self.dur_arr = np.asarray(self.dur, dtype=np.float64)
        n = self.blk_arr.size
        ends = self.es + self.dur_arr
        # per insertion position 0..n: previous earliest end, next latest start, old gap
        self.prev_end_pad = np.concatenate([[-np.inf], ends])
        self.next_ls_pad = np.concatenate([self.ls, [np.inf]])
        self.g_pad = np.concatenate([[0.0], self.g[1:], [0.0]]) if n else np.zeros(1)
        self.rooms = self.next_ls_pad - self.prev_end_pad
        self.max_room = float(self.rooms.max())
        movable = ~(np.asarray(self.pinned, dtype=bool) | np.asarray(self.chunked, dtype=bool))
        self.movable = movable
        self._runs_ready = False

    def _runs(self) -> tuple[list[FloatArray], list[FloatArray]]:
        """Room freed and weight lost by removing each run of 1..3 consecutive items
        (computed on demand: only the replacement move needs them)."""
        if self._runs_ready:
            return self.run_room, self.run_w
        p = self.prep
        n = self.blk_arr.size
        movable = self.movable
        ends = self.es + self.dur_arr
        wt = p.weight[self.blk_arr] if n else np.zeros(0)
        csum_w = np.concatenate([[0.0], np.cumsum(np.where(movable, wt, 0.0))])
        csum_fix = np.concatenate([[0], np.cumsum(~movable)])
        # room freed by removing the run [r, r + m): next LS minus previous end
        prev_end = np.concatenate([[-np.inf], ends])
        next_ls = np.concatenate([self.ls, [np.inf]])
        self.run_room: list[FloatArray] = []
        self.run_w: list[FloatArray] = []
        for m in range(1, 4):
            r = np.arange(0, max(n - m + 1, 0))
            self.run_room.append(next_ls[r + m] - prev_end[r])
            # a run holding a pinned or chunked item can never be removed: weight inf
            w_run = csum_w[r + m] - csum_w[r]
            self.run_w.append(np.where(csum_fix[r + m] > csum_fix[r], np.inf, w_run))
        self._runs_ready = True
        return self.run_room, self.run_w

    def insert(self, pos: int, blk: int, dur: float, lo: float, hi: float, ideal: float) -> None:
        self.blk.insert(pos, blk)
        self.dur.insert(pos, dur)
        self.lo.insert(pos, lo)
        self.hi.insert(pos, hi)
        self.ideal.insert(pos, ideal)
        self.pinned.insert(
            pos, lo == hi and self.prep.problem.blocks[blk].fixed_start_unix is not None
        )
        self.chunked.insert(pos, dur < self.prep.dur[blk] - _EPS)
        self.placed.add(blk)

    def remove_range(self, r: int, m: int) -> list[int]:
        gone = self.blk[r : r + m]
        for lst in (self.blk, self.dur, self.lo, self.hi, self.ideal, self.pinned, self.chunked):
            del lst[r : r + m]
        for b in gone:
            self.placed.discard(b)
        return gone

    # -- insertion evaluation -------------------------------------------------------

    def best_insertion(
        self, b: int, alpha: float = 0.02, p0: int = 0, p1: int | None = None
    ) -> tuple[float, int, float, float, float] | None:
        """Cheapest feasible insertion of the whole block at a position in [p0, p1]
        (default: anywhere): (cost, pos, lo, hi, ideal)."""
        p = self.prep
        lo_w, hi_w, id_w = p.win_lo[b], p.win_hi[b], p.win_ideal[b]
        if lo_w.size == 0:
            return None
        n = len(self.blk)
        d = p.dur[b]
        if d > self.max_room + _EPS:
            return None
        if n == 0:
            k = 0
            return (0.0, 0, float(lo_w[k]), float(hi_w[k]), float(id_w[k]))
        p1 = n if p1 is None else min(p1, n)
        p0 = max(p0, 0)
        p.work.spend(_CALL + (p1 - p0 + 1) * lo_w.size)
        prev_end = self.prev_end_pad[p0 : p1 + 1]
        next_ls = self.next_ls_pad[p0 : p1 + 1]
        # the same test without the gaps to the neighbours first (gaps are >= 0 and the float
        # operations monotone, so no position passes below that fails this screen)
        if not (
            np.maximum(lo_w[None, :], prev_end[:, None])
            <= np.minimum(hi_w[None, :], (next_ls - d)[:, None]) + _EPS
        ).any():
            return None
        first_item = max(p0 - 1, 0)
        last_item = min(p1, n - 1)
        # gap of b to items p0-1 .. p1 (0 beyond either end of the sequence)
        g_items = np.zeros(p1 - p0 + 2)
        g_items[first_item - (p0 - 1) : last_item - (p0 - 1) + 1] = _gap_row(
            p.problem, p.xyz[self.blk_arr[first_item : last_item + 1]], p.xyz[b]
        )
        gprev = g_items[:-1]
        gnext = g_items[1:]
        earliest = np.maximum(lo_w[None, :], (prev_end + gprev)[:, None])
        latest = np.minimum(hi_w[None, :], (next_ls - gnext - d)[:, None])
        feas = earliest <= latest + _EPS
        if not feas.any():
            return None
        added = gprev + gnext - self.g_pad[p0 : p1 + 1]  # minus the old gap pos-1 -> pos
        target = np.minimum(np.maximum(id_w[None, :], earliest), latest)
        cost = added[:, None] + alpha * np.abs(target - id_w[None, :])
        cost = np.where(feas, cost, np.inf)
        flat = int(cost.argmin())
        row, w = divmod(flat, lo_w.size)
        return (float(cost[row, w]), p0 + row, float(lo_w[w]), float(hi_w[w]), float(id_w[w]))

    def try_insert(
        self, b: int, alpha: float = 0.02, p0: int = 0, p1: int | None = None
    ) -> int | None:
        """Insert b at its cheapest feasible position in [p0, p1]; the position or None."""
        ins = self.best_insertion(b, alpha, p0, p1)
        if ins is None:
            return None
        _, pos, lo, hi, ideal = ins
        self.insert(pos, b, float(self.prep.dur[b]), lo, hi, ideal)
        ok = self.recompute()
        if not ok:  # numerical safety: undo
            self.remove_range(pos, 1)
            self.recompute()
            return None
        return pos

    def try_insert_chunks(self, b: int) -> bool:
        """Place a splittable block in chunks >= min_chunk (all or nothing)."""
        p = self.prep
        blk = p.problem.blocks[b]
        cmin = blk.min_chunk_s
        remaining = float(p.dur[b])
        if not self._room_for_chunks(b, remaining) or not self._may_take_a_chunk(b, cmin):
            return False  # the first ``_widest_gap`` below would find no room: nothing changes
        backup = self.copy()
        placed_any = False
        for _ in range(64):
            if remaining <= _EPS:
                break
            best = self._widest_gap(b, cmin)
            if best is None:
                break
            avail, pos, a, c = best
            length = min(remaining, avail)
            if remaining - length < cmin - _EPS and remaining - length > _EPS:
                length = remaining - cmin  # leave a valid last chunk
                if length < cmin - _EPS:
                    break
            self.insert(pos, b, length, a, c - length, a)
            self.chunked[pos] = True
            if not self.recompute():
                break
            remaining -= length
            placed_any = True
        if remaining <= _EPS and placed_any:
            self.placed.add(b)
            return True
        self._restore(backup)
        return False

    def _room_for_chunks(self, b: int, total: float) -> bool:
        """False only when ``b``'s pieces cannot hold ``total`` seconds of chunks.

        Inserting only narrows every item's [ES, LS], so each item keeps its core
        [LS, ES + duration] (the time it holds wherever it starts); the cores are disjoint
        and the chunks cannot overlap them. The pieces' time outside the cores is therefore
        the most the chunks can get; a margin of one second covers the rounding of both
        sums (the chunks placed add up to ``total`` within ``_EPS``)."""
        if not self.prep.pieces[b]:
            return False
        a, c, free = self.prep.piece_array(b)
        self.prep.work.spend(_CALL + (len(self.blk) + 1) * a.size)
        if self.blk:
            overlap = np.minimum(c[:, None], self.prev_end_pad[None, 1:]) - np.maximum(
                a[:, None], self.next_ls_pad[None, :-1]
            )
            free -= float(np.maximum(overlap, 0.0).sum())
        return free >= total - 1.0

    def _may_take_a_chunk(self, b: int, cmin: float) -> bool:
        """False only when ``_widest_gap(b, cmin)`` is None: its rooms without the gaps to
        the neighbours (every gap is >= 0, and the float operations are monotone, so each is
        at least the room ``_widest_gap`` computes), without evaluating the gaps or copying
        the sequence. Over-subscribed windows try many splittable blocks in a full sequence."""
        pieces = self.prep.pieces[b]
        if not pieces:
            return False
        self.prep.work.spend((_CALL // 4 + len(self.blk) + 1) * len(pieces))
        es = np.asarray(self.es, dtype=np.float64)
        dur = np.asarray(self.dur, dtype=np.float64)
        after_prev = np.concatenate([[-np.inf], es + dur])
        before_next = np.concatenate([np.asarray(self.ls, dtype=np.float64), [np.inf]])
        return any(
            bool((np.minimum(c, before_next) - np.maximum(a, after_prev) >= cmin - _EPS).any())
            for a, c in pieces
        )

    def _widest_gap(self, b: int, cmin: float) -> tuple[float, int, float, float] | None:
        """The first room of at least ``cmin`` for a chunk of ``b``, over its pieces and
        the insertion positions in order, replaced only by a room wider by more than
        ``_EPS``: (room, position, start, end), or None.

        The rooms of all (piece, position) pairs are computed as arrays (the same float
        operations as one pair at a time), then scanned for the first and each later
        strictly wider room."""
        p = self.prep
        n = len(self.blk)
        pieces = p.pieces[b]
        if not pieces:
            return None
        p.work.spend(_CALL + (_CALL // 4 + n + 1) * len(pieces))
        gb = (
            _gap_row(p.problem, p.xyz[np.asarray(self.blk, dtype=np.int64)], p.xyz[b])
            if n
            else np.zeros(0)
        )
        es = np.asarray(self.es, dtype=np.float64)
        dur = np.asarray(self.dur, dtype=np.float64)
        # per position 0..n: the end of the item before plus its gap, the latest start of
        # the item after minus its gap (no bound beyond either end of the sequence)
        after_prev = np.concatenate([[-np.inf], es + dur + gb])
        before_next = np.concatenate([np.asarray(self.ls, dtype=np.float64) - gb, [np.inf]])
        rooms = np.concatenate(
            [np.minimum(c, before_next) - np.maximum(a, after_prev) for a, c in pieces]
        )
        fits = np.flatnonzero(rooms >= cmin - _EPS)
        if fits.size == 0:
            return None
        k = int(fits[0])
        while True:
            wider = rooms[k + 1 :] > rooms[k] + _EPS
            if not wider.any():
                break
            k = k + 1 + int(np.argmax(wider))
        piece, pos = divmod(k, n + 1)
        a, c = pieces[piece]
        # the winner's bounds as the one-pair computation gives them
        start = a
        if pos > 0:
            start = max(start, self.es[pos - 1] + self.dur[pos - 1] + gb[pos - 1])
        end = c
        if pos < n:
            end = min(end, self.ls[pos] - gb[pos])
        return (end - start, pos, start, end)

    def _restore(self, other: _Seq) -> None:
        self.blk, self.dur, self.lo, self.hi = other.blk, other.dur, other.lo, other.hi
        self.ideal, self.pinned, self.chunked = other.ideal, other.pinned, other.chunked
        self.es, self.ls, self.g, self.placed = other.es, other.ls, other.g, other.placed
        self._cache_arrays()

    def place(self, b: int) -> bool:
        if self.try_insert(b) is not None:
            return True
        if self.prep.problem.blocks[b].splittable:
            return self.try_insert_chunks(b)
        return False

    # -- replacement move -----------------------------------------------------------

    def try_replace(self, u: int, max_run: int = 3) -> list[int] | None:
        """Remove a run of <= max_run lighter, unpinned, unchunked items to fit u.

        Returns the removed block indices (u is inserted) or None.
        """
        run_room, run_w = self._runs()
        max_run = min(max_run, len(run_w))
        p = self.prep
        lo_w, hi_w, id_w = p.win_lo[u], p.win_hi[u], p.win_ideal[u]
        n = len(self.blk)
        if lo_w.size == 0 or n == 0:
            return None
        wu = p.weight[u]
        d = p.dur[u]
        p.work.spend(_CALL + n * max_run)
        # quick necessary test: some run is lighter than u and frees enough room
        if not any(
            bool(np.any((rr >= d) & (rw < wu - _EPS)))
            for rr, rw in zip(run_room[:max_run], run_w[:max_run], strict=False)
        ):
            return None
        bb = self.blk_arr
        p.work.spend(n * max_run * lo_w.size)
        gb = _gap_row(p.problem, p.xyz[bb], p.xyz[u])
        dur = self.dur_arr
        best: tuple[float, float, int, int, int] | None = None  # (removed w, cost, r, m, w)
        for m in range(1, max_run + 1):
            if m > n:
                break
            r = np.arange(0, n - m + 1)
            removed = run_w[m - 1]
            ok = removed < wu - _EPS
            if not ok.any():
                continue
            r = r[ok]
            removed = removed[ok]
            prev = r - 1
            nxt = r + m
            prev_end = np.where(
                prev >= 0, self.es[np.maximum(prev, 0)] + dur[np.maximum(prev, 0)], -np.inf
            )
            gprev = np.where(prev >= 0, gb[np.maximum(prev, 0)], 0.0)
            has_next = nxt < n
            nx = np.minimum(nxt, n - 1)
            next_ls = np.where(has_next, self.ls[nx], np.inf)
            gnext = np.where(has_next, gb[nx], 0.0)
            earliest = np.maximum(lo_w[None, :], (prev_end + gprev)[:, None])
            latest = np.minimum(hi_w[None, :], (next_ls - gnext - d)[:, None])
            feas = earliest <= latest + _EPS
            if not feas.any():
                continue
            rows, cols = np.nonzero(feas)
            k = int(np.lexsort((gprev[rows] + gnext[rows], removed[rows]))[0])
            cand = (
                float(removed[rows[k]]),
                float(gprev[rows[k]] + gnext[rows[k]]),
                int(r[rows[k]]),
                m,
                int(cols[k]),
            )
            if best is None or cand[:2] < best[:2]:
                best = cand
        if best is None:
            return None
        _, _, r0, m0, w0 = best
        gone = self.remove_range(r0, m0)
        self.insert(r0, u, float(d), float(lo_w[w0]), float(hi_w[w0]), float(id_w[w0]))
        if not self.recompute():  # should not happen; undo
            self.remove_range(r0, 1)
            for j, gb_ in enumerate(gone):
                self.insert(r0 + j, gb_, float(p.dur[gb_]), 0.0, 0.0, 0.0)
            raise RuntimeError("internal: replacement produced an infeasible sequence")
        return gone

    # -- final timing ---------------------------------------------------------------

    def final_starts(self) -> list[float]:
        """Forward pass: each block as near its ideal (transit-centred) start as allowed."""
        starts: list[float] = []
        prev_end = -math.inf
        for k in range(len(self.blk)):
            earliest = max(self.lo[k], prev_end + float(self.g[k]))
            s = min(max(self.ideal[k], earliest), float(self.ls[k]))
            s = max(s, earliest)
            starts.append(s)
            prev_end = s + self.dur[k]
        return starts

    def weighted_hours(self) -> float:
        return float(sum(self.prep.weight[b] for b in self.placed))

    def observed_s(self) -> float:
        return float(sum(self.dur))
