"""Random variates for the compiled LCMCR sampler: a xoshiro256++ generator and exact variate algorithms.

Why not NumPy's ``Generator`` inside numba?  The sampler makes ~300 draws per iteration, and each of them
through NumPy's generator costs a call through a function pointer to the bit generator (7.5 ns for a
uniform, against 1 ns for an inlined xoshiro256++ here), and NumPy's beta (63 ns) and BTPE binomial
(118 ns) redo their set-up on every call, since the sampler's parameters change at every draw.  Measured
on the Kosovo table, these were about half of an iteration (docs/benchmarks/latent_class.md).  The
algorithms are the published ones, each tested against SciPy's exact distribution in
``tests/estimate/test_variates.py``:

* uniforms: xoshiro256++ (Blackman and Vigna, 2021), 52 bits per double, in the open interval (0, 1);
  the state (four ``uint64``) is seeded from a ``numpy.random.SeedSequence``;
* normal: the ziggurat with 128 layers in Doornik's (2005) form (layer from the low 7 bits of the same
  64-bit draw whose high 52 bits give the abscissa), Marsaglia's tail beyond ``r = 3.4426``;
* gamma: Marsaglia and Tsang (2000) for shape >= 1, ``G(a) = G(a + 1) U^(1/a)`` below 1 (on the log
  scale where the sampler needs it, so that tiny shapes do not underflow);
* beta of shapes >= 1: ``G_a / (G_a + G_b)``;
* binomial: inversion when ``n min(p, 1 - p) <= 20``, otherwise Hörmann's (1993) BTRS
  transformed rejection, which accepts ~86 % of draws from two uniforms with a set-up of one square root
  (NumPy's BTPE needs several logarithms per call), exact through a log-factorial test otherwise;
* Poisson: multiplication of uniforms below a mean of 10, Hörmann's (1993) PTRS above (as NumPy);
* negative binomial: ``Poisson(Gamma(n) (1 - p) / p)``.

Each function takes the generator state ``st`` (``uint64[4]``, updated in place) first, like NumPy's
``Generator`` methods take ``self``.

Examples
--------
>>> st = seed_state(1)
>>> 0.0 < uniform(st) < 1.0
True
>>> seed_state(np.random.SeedSequence(1)).tolist() == seed_state(1).tolist()
True
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["CONCENTRATED", "INVERSION_MAX_NP", "SMALL_N", "TAIL_EXPECTED", "beta", "binomial",
           "log_standard_gamma", "multinomial", "negative_binomial", "next_u64", "poisson", "seed_state",
           "standard_gamma", "standard_normal", "uniform"]

# Most routines are inlined into their callers (forceinline: LLVM's inliner, after numba has linked the
# callee): a call between separately compiled numba functions costs ~8 ns (arrays passed as seven
# arguments, a status code checked), as much as a normal draw itself (gamma 63 -> 15 ns, beta 117 -> 39 ns
# when inlined).  numba's own IR inlining (inline="always") gave the same speed but a cold compile of
# ~110 s instead of ~22 s.  The multinomial's grouped route (with its binomials) is not: inlined into
# the sampler's iteration twice, it made the iteration slower (one huge function; Kosovo 1.2 -> 1.7 s);
# its small route is.  error_model="numpy" throughout, as in the sampler: no zero-division check (and
# exception path) on every float division.

SMALL_N = 12
"""Up to this many people a multinomial gets one categorical draw per person, above that conditional
binomials for its large classes (same distribution; the switch point only changes speed)."""

TAIL_EXPECTED = 20.0
"""In a multinomial of more than :data:`SMALL_N` people, the classes expecting fewer people than this are
drawn as one group (one binomial, then one uniform per person).  Replayed on 200 of the Kosovo table's
posterior states, an inversion binomial costs ~60 ns whatever its small ``n p`` (its set-up, and a loop
exit that the processor cannot predict), a person placed by the branch-free count a few ns: the
multinomials of one iteration took 7.5 µs with the previous code (threshold 3, no branch-free count),
and 6.1, 5.5, 5.2, 4.9, 4.7 and 4.7 µs with thresholds 3, 6, 10, 14, 20 and 30
(docs/benchmarks/latent_class.md)."""

CONCENTRATED = 0.95
"""People placed one by one go through a scan that stops at their class when one class has at least this
share of the probability (the stop is then predictable), through a branch-free count otherwise."""

INVERSION_MAX_NP = 20.0
"""Binomials with ``n min(p, 1 - p)`` up to this are drawn by inversion, above by BTRS: inversion costs
grow with ``n p`` (22 ns at 3, 62 ns at 20, 81 ns at 30), BTRS's do not (140 ns at 3, 60 ns at 20, 53 ns
at 30; measured in one process, 500,000 draws each, load ~2.5).  NumPy switches at 30."""


def seed_state(seed: int | np.random.SeedSequence) -> npt.NDArray[np.uint64]:
    """A xoshiro256++ state (``uint64[4]``) from a seed or ``SeedSequence`` (which spreads the seed's bits
    over the whole state, so nearby seeds give unrelated streams)."""
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    st = np.asarray(seq.generate_state(4, np.uint64), dtype=np.uint64)
    if not st.any():  # the one state xoshiro cannot leave (probability 2^-256)
        st[0] = 1
    return st


# --------------------------------------------------------------------------------------------- uniform
@numba.njit(cache=True, error_model="numpy", forceinline=True)
def next_u64(st):
    """Next 64-bit output of xoshiro256++; ``st`` is updated in place."""
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    t = s0 + s3
    result = ((t << numba.uint64(23)) | (t >> numba.uint64(41))) + s0
    t = s1 << numba.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << numba.uint64(45)) | (s3 >> numba.uint64(19))
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return result


_2_52 = 1.0 / 4503599627370496.0  # 2^-52


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def _open_unit(bits):
    # (k + 1/2) 2^-52 for the top 52 bits k of a 64-bit draw: in the open interval (0, 1), never 0 (its
    # logarithm is taken) and never 1 (1 - u is divided by)
    return (float(bits >> numba.uint64(12)) + 0.5) * _2_52


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def uniform(st):
    """Uniform on the open interval (0, 1), from the top 52 bits of one draw."""
    return _open_unit(next_u64(st))


# --------------------------------------------------------------------------------------------- normal
_ZIG_R = 3.442619855899  # start of the tail, and the layers' common area (Marsaglia and Tsang, 2000)
_ZIG_V = 9.91256303526217e-3


def _ziggurat_tables() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    # x[i]: right edge of layer i (x[0] = V / f(R), the base layer's width with its tail; x[128] = 0),
    # each layer of area V: x[i] (f(x[i + 1]) - f(x[i])) = V.  ratio[i] = x[i + 1] / x[i].
    x = np.zeros(129)
    f = math.exp(-0.5 * _ZIG_R * _ZIG_R)
    x[0] = _ZIG_V / f
    x[1] = _ZIG_R
    for i in range(2, 128):
        x[i] = math.sqrt(-2.0 * math.log(_ZIG_V / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


_ZIG_X, _ZIG_RATIO = _ziggurat_tables()


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def standard_normal(st):
    """Standard normal by the ziggurat (128 layers)."""
    while True:
        bits = next_u64(st)
        i = int(bits & numba.uint64(127))
        u = 2.0 * _open_unit(bits) - 1.0
        if abs(u) < _ZIG_RATIO[i]:  # inside the layer's rectangle: ~98.8 % of draws
            return u * _ZIG_X[i]
        if i == 0:  # the tail beyond R (Marsaglia, 1964)
            while True:
                x = math.log(uniform(st)) / _ZIG_R
                y = math.log(uniform(st))
                if -2.0 * y >= x * x:
                    return _ZIG_R - x if u > 0.0 else x - _ZIG_R
        x = u * _ZIG_X[i]
        # the wedge: a height uniform between the layer's edges, under the density?
        f0 = math.exp(-0.5 * (_ZIG_X[i] * _ZIG_X[i] - x * x))
        f1 = math.exp(-0.5 * (_ZIG_X[i + 1] * _ZIG_X[i + 1] - x * x))
        if f1 + uniform(st) * (f0 - f1) < 1.0:
            return x


# --------------------------------------------------------------------------------------------- gamma, beta
@numba.njit(cache=True, error_model="numpy", forceinline=True)
def _gamma_mt(st, a):
    # Marsaglia and Tsang (2000), shape a >= 1, with their squeeze (no logarithm for ~98 % of draws)
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = standard_normal(st)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform(st)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return d * v
        if math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v


@numba.njit(cache=True, error_model="numpy")
def standard_gamma(st, a):
    """Gamma(a, 1), ``a > 0``."""
    if a >= 1.0:
        return _gamma_mt(st, a)
    return _gamma_mt(st, a + 1.0) * math.exp(math.log(uniform(st)) / a)


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def log_standard_gamma(st, a):
    """log of a Gamma(a, 1) draw, finite for tiny shapes (``G(a) = G(a + 1) U^(1/a)`` on the log scale)."""
    if a >= 1.0:
        return math.log(_gamma_mt(st, a))
    return math.log(_gamma_mt(st, a + 1.0)) + math.log(uniform(st)) / a


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def beta(st, a, b):
    """Beta(a, b) for ``a, b >= 1`` (the sampler's Beta(1 + count, 1 + count)): ``G_a / (G_a + G_b)``."""
    ga = _gamma_mt(st, a)
    gb = _gamma_mt(st, b)
    return ga / (ga + gb)


# --------------------------------------------------------------------------------------------- binomial
# 1/x for the binomial inversion (x never exceeds its bound, n p + 10 sqrt(n p q + 1) <= 86 for n p <= 30)
_INV = np.array([0.0] + [1.0 / x for x in range(1, 129)])


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def _binomial_inversion(st, n, p):
    # Binomial(n, p) for p <= 1/2 and n p <= INVERSION_MAX_NP by inversion, as NumPy does, but with the
    # probability ratio P(x) / P(x - 1) = (n - x + 1) / x * p / q as three products (1/x from a table)
    # rather than a division per step, and NumPy's far-tail bound (a guard against rounding, never reached
    # in practice) computed only when x gets there.  About 6 steps per call in the sampler.
    q = 1.0 - p
    r = p / q
    qn = math.exp(n * math.log(q))
    np_ = n * p
    bound = -1.0
    x = 0
    px = qn
    u = uniform(st)
    while u > px:
        x += 1
        if x > n or x > np_ + 10.0:
            if bound < 0.0:
                bound = min(n, np_ + 10.0 * math.sqrt(np_ * q + 1.0))
            if x > bound:
                x = 0
                px = qn
                u = uniform(st)
                continue
        u -= px
        px = px * ((n - x + 1) * r) * _INV[x]
    return x


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def _binomial_btrs(st, n, p):
    # Hörmann (1993), algorithm BTRS, for p <= 1/2 and n p >= 10 (here > 20): a transformed-rejection
    # hat whose centre accepts without evaluating the probability function; otherwise the exact test
    # log(V h(U)) <= log(f(k) / f(m)) with log-factorials, set up only when first needed.
    q = 1.0 - p
    spq = math.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    alpha = -1.0
    lpq = 0.0
    m = 0.0
    h = 0.0
    while True:
        u = uniform(st) - 0.5
        v = uniform(st)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if us >= 0.07 and v <= v_r:
            return int(k)
        if k < 0.0 or k > n:
            continue
        if alpha < 0.0:
            alpha = (2.83 + 5.1 / b) * spq
            lpq = math.log(p / q)
            m = math.floor((n + 1) * p)
            h = math.lgamma(m + 1.0) + math.lgamma(n - m + 1.0)
        v = v * alpha / (a / (us * us) + b)
        if math.log(v) <= h - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0) + (k - m) * lpq:
            return int(k)


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def binomial(st, n, p):
    """Binomial(n, p) for ``n >= 0``, ``0 <= p <= 1``."""
    if n == 0 or p <= 0.0:
        return 0
    if p <= 0.5:
        if p * n <= INVERSION_MAX_NP:
            return _binomial_inversion(st, n, p)
        return _binomial_btrs(st, n, p)
    q = 1.0 - p
    if q * n <= INVERSION_MAX_NP:
        return n - _binomial_inversion(st, n, q)
    return n - _binomial_btrs(st, n, q)


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def _categorical_cum(st, n, cum, scale, last, concentrated, out):
    # n people one by one among classes 0..last, class k with probability (cum[k] - cum[k - 1]) / scale
    # (cum: running sums, scale = cum[last]); classes to which nothing was added (excluded, or of
    # probability 0) are never chosen, and a u rounded up to scale lands in ``last``.
    # Spread probabilities: a person's class is the number of running sums <= u, counted without a branch
    # (a scan that stops at u would mispredict about once per person, ~5 ns).  One class with most of the
    # probability (``concentrated``): the scan that stops, whose stop the processor then predicts, is
    # cheaper than comparing with every running sum.
    if concentrated:
        for _ in range(n):
            u = uniform(st) * scale
            c = 0
            while c < last and u >= cum[c]:
                c += 1
            out[c] += 1
        return
    for _ in range(n):
        u = uniform(st) * scale
        c = 0
        for k in range(last):
            c += u >= cum[k]
        out[c] += 1


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def multinomial(st, n, probs, total, out, cum):
    """Multinomial(n, probs / total) into ``out``; ``total`` is the sum of ``probs``, which need not be
    normalised (that saves the sampler a division per pattern and class).  ``cum`` is scratch space of the
    same length as ``probs``.

    Up to :data:`SMALL_N` people: one uniform per person, scanning the classes.  More: the classes
    expecting fewer than :data:`TAIL_EXPECTED` people form a "tail" group whose total is one binomial
    draw and whose people are then placed one uniform each; the other ("head") classes get conditional
    binomials class by class (as ``numpy.random.Generator.multinomial``), except the most probable one,
    which takes what is left without a draw.  The same distribution whatever the grouping and order (a
    multinomial is a binomial split between two groups, then a multinomial within each, and the groups
    and order depend only on the probabilities and ``n``); they only save time: in the sampler a binomial
    costs ~60 ns (its set-up and a data-dependent number of steps), a person ~4 ns.
    """
    K = probs.shape[0]
    for k in range(K):
        out[k] = 0
    if n > SMALL_N:
        _multinomial_grouped(st, n, probs, total, out, cum)
        return
    # (inlined into the caller: the sampler's many small patterns then cost no call)
    for _ in range(n):
        u = uniform(st) * total
        acc = 0.0
        chosen = -1
        for k in range(K):
            if probs[k] > 0.0:
                chosen = k  # the last class of probability > 0 takes what rounding leaves over
                acc += probs[k]
                if u < acc:
                    break
        out[chosen] += 1


@numba.njit(cache=True, error_model="numpy")
def _multinomial_grouped(st, n, probs, total, out, cum):
    # more than SMALL_N people, out zeroed: the tail group and the head classes (see multinomial)
    K = probs.shape[0]
    # running sums over the tail classes only (a head class adds nothing); the largest head class, and
    # the end of the other heads
    cutoff = total * TAIL_EXPECTED / n
    tail_p = 0.0
    tail_last = 0
    tail_top = 0.0
    big = -1
    big_p = -1.0
    head_end = 0
    for k in range(K):
        pk = probs[k]
        if pk < cutoff:
            tail_p += pk
            if pk > 0.0:
                tail_last = k
            tail_top = max(tail_top, pk)
        else:
            if pk > big_p:
                big_p = pk
                big = k
            head_end = k + 1
        cum[k] = tail_p
    if big < 0:
        t = n
    elif tail_p > 0.0:
        t = binomial(st, n, min(tail_p / total, 1.0))
    else:
        t = 0
    if big >= 0:
        dn = n - t
        remaining_p = total - tail_p
        for k in range(head_end):
            if k == big or probs[k] < cutoff or dn == 0:
                continue
            # (remaining_p <= probs[k] only by rounding, with the largest class ~0 too: give them all here)
            p = probs[k] / remaining_p if remaining_p > 0.0 else 1.0
            if p > 1.0:
                p = 1.0
            elif not p >= 0.0:  # negative by rounding (or NaN, which would make the binomial loop for ever)
                p = 0.0
            c = binomial(st, dn, p)
            out[k] = c
            dn -= c
            remaining_p -= probs[k]
        out[big] += dn
    if t > 0:
        _categorical_cum(st, t, cum, tail_p, tail_last, tail_top >= CONCENTRATED * tail_p, out)


# --------------------------------------------------------------------------------------------- Poisson
@numba.njit(cache=True, error_model="numpy", forceinline=True)
def _poisson_ptrs(st, lam):
    # Hörmann (1993), algorithm PTRS, for lam >= 10 (NumPy's choice too)
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform(st) - 0.5
        v = uniform(st)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            return int(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1.0)):
            return int(k)


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def poisson(st, lam):
    """Poisson(lam), ``lam >= 0``."""
    if lam >= 10.0:
        return _poisson_ptrs(st, lam)
    # multiplication of uniforms until the product falls below e^-lam
    enlam = math.exp(-lam)
    x = 0
    prod = uniform(st)
    while prod > enlam:
        x += 1
        prod *= uniform(st)
    return x


@numba.njit(cache=True, error_model="numpy")
def negative_binomial(st, n, p):
    """Failures before the ``n``-th success, success probability ``0 < p <= 1``: a gamma-Poisson mixture."""
    if p >= 1.0:
        return 0
    return poisson(st, standard_gamma(st, float(n)) * ((1.0 - p) / p))
