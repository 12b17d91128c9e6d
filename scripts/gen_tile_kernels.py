"""Write ``src/custseg/cluster/_tiles.py``: the register-blocked nearest-centre kernels.

Usage::

    python scripts/gen_tile_kernels.py          # rewrite the module
    python scripts/gen_tile_kernels.py --check  # exit 1 if the module is not what this writes

Why generated: a kernel keeps one accumulator per centre of a group, and one weight per centre
and feature, in named local variables. That is what lets LLVM's loop vectoriser keep them in
SIMD registers over the rows of a tile (numba cannot unroll a loop over the centres itself, and
a per-centre array in memory costs a store and a load per row, which is what the generic kernel
``_lloyd._tile_nearest`` pays). Writing the three shapes by hand would be ~250 lines of
near-identical code; the test ``tests/cluster/test_tiles.py`` checks that the module is the
output of this script.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "src" / "custseg" / "cluster" / "_tiles.py"
SHAPES = ((4, 4), (4, 8), (8, 8))  # (centres per group G, features H)

HEADER = '''"""Register-blocked nearest-centre kernels for small feature counts (GENERATED: do not edit).

Written by ``scripts/gen_tile_kernels.py``; change that script and run it again.

``_tile_g{G}h{H}(xt, m, W, cst, best, second, lab)`` does what ``_lloyd._tile_nearest`` does
for a transposed float32 tile ``xt`` of ``H`` feature rows (features past ``d`` are zero rows),
with ``W`` of shape ``(kp, H)`` (``kp`` a multiple of ``G``; zero columns past ``d``) and
``cst`` of length ``kp`` (``+inf`` for the padding centres, which then never come first or
second). The ``G`` centres of a group and the ``H`` features are named locals, so the
accumulators and weights stay in SIMD registers over the rows; only ``best``, ``second`` and
``lab`` are written, and read back from the second group of centres on.

Each value is ``cst + x0*w0 + x1*w1 + ...`` added left to right with fused multiply-adds, the
order ``_tile_nearest`` uses, and a zero feature adds an exact zero: the values, hence the
labels and the float64 re-decisions, are the same bits as the generic kernel's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [{names}]
'''


def _at(s: int) -> str:
    return "j0" if s == 0 else f"j0 + {s}"


def _kernel(G: int, H: int) -> str:
    ind2, ind3, ind4 = " " * 8, " " * 12, " " * 16
    lines = [
        "",
        "",
        "",
        '@njit(cache=True, fastmath={"contract"})',
        f"def _tile_g{G}h{H}(xt, m, W, cst, best, second, lab):  # pragma: no cover - numba",
        f'    """{G} centres at a time, {H} features (see the module docstring)."""',
        "    kp = W.shape[0]",
    ]
    lines += [f"    x{u} = xt[{u}]" for u in range(H)]
    lines.append(f"    for j0 in range(0, kp, {G}):")
    lines += [f"{ind2}c{s} = cst[{_at(s)}]" for s in range(G)]
    for s in range(G):
        lines.append(f"{ind2}r = W[{_at(s)}]")
        lines.append(ind2 + ", ".join(f"w{s}{u}" for u in range(H)) + " = "
                     + ", ".join(f"r[{u}]" for u in range(H)))

    def body(first: bool) -> list[str]:
        out = [f"{ind3}for t in range(m):"]
        out += [f"{ind4}y{u} = x{u}[t]" for u in range(H)]
        for s in range(G):
            terms = [f"y{u} * w{s}{u}" for u in range(H)]
            if H <= 4:
                out.append(f"{ind4}a{s} = c{s} + " + " + ".join(terms))
            else:  # (left to right all the same: the parentheses only wrap the line)
                out.append(f"{ind4}a{s} = (c{s} + " + " + ".join(terms[:4]))
                out.append(f"{ind4}      + " + " + ".join(terms[4:]) + ")")
        if first:
            out.append(f"{ind4}b = a0")
            out.append(f"{ind4}s = np.float32(np.inf)")
            out.append(f"{ind4}lb = np.int32(0)")
            rest = range(1, G)
        else:
            out.append(f"{ind4}b = best[t]")
            out.append(f"{ind4}s = second[t]")
            out.append(f"{ind4}lb = lab[t]")
            rest = range(G)
        for s in rest:
            out.append(f"{ind4}s = min(s, max(a{s}, b))")
            out.append(f"{ind4}lb = np.int32({_at(s)}) if a{s} < b else lb")
            out.append(f"{ind4}b = min(a{s}, b)")
        out += [f"{ind4}best[t] = b", f"{ind4}second[t] = s", f"{ind4}lab[t] = lb"]
        return out

    lines.append(f"{ind2}if j0 == 0:")
    lines += body(True)
    lines.append(f"{ind2}else:")
    lines += body(False)
    return "\n".join(lines)


def render() -> str:
    names = ", ".join(f'"_tile_g{G}h{H}"' for G, H in SHAPES)
    return HEADER.replace("{names}", names) + "".join(_kernel(G, H) for G, H in SHAPES)[1:] + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare, do not write")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is not the output of {Path(__file__).name}: run it.",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
