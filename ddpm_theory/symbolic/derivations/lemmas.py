"""Lemmas that other derivations apply: each is a registered derivation of its own.

``log-inequality``: log u ≤ u − 1 for u > 0, i.e. g(u) = u − 1 − log u ≥ 0, with
equality only at u = 1 (Cover & Thomas 2006, the fundamental inequality behind
Thm. 2.6.3).  It is proved by the tangent-line rule -- log is concave, its second
derivative −1/u² is negative on (0, ∞), so it lies below its tangent at u = 1 -- with
the second derivative's sign decided on the whole domain, not sampled.  Every
"KL ≥ 0" step of the registry applies it (the engine records the dependency).
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE
from ..certificates import LOG_INEQUALITY, TangentLine
from ..engine import Derivation, Part, Relation, Step
from ..notation import sym
from ..registry import register
from ._common import cite

u = sym("u", POSITIVE, "u")
_s = sp.Symbol("s_tan", positive=True)
CT = "Cover & Thomas 2006"


def build() -> Derivation:
    tangent = sp.log(sp.Integer(1), evaluate=False) + (u - 1)
    return Derivation(
        name=LOG_INEQUALITY,
        title="log u ≤ u − 1",
        statement=r"u - 1 - \log u \ge 0 \quad (u > 0),\ \text{with equality only at } u = 1",
        premises=(r"u > 0",),
        cites=(cite(CT, "Thm. 2.6.3"),),
        summary=("The inequality behind every KL ≥ 0 of the registry: a Gaussian KL is "
                 "(m_1 − m_2)²/(2 v_2) + ½ (r − 1 − log r) with r = v_1/v_2."),
        parts=(
            Part(
                title="log lies below its tangent at u = 1",
                lhs=r"\log u",
                start=sp.log(u),
                start_rule="log is concave on (0, ∞): (log u)'' = −1/u² < 0",
                cite=cite("standard", "tangent line of a concave function"),
                steps=(
                    Step(tangent, "the tangent line at $u = 1$: $log 1 + (log)'(1)·(u − 1)$, with "
                                  "$(log)'(1) = 1/1 = 1$; the gap is ≥ 0 because $(log)'' < 0$",
                         cite("standard", "tangent line of a concave function"),
                         relation=Relation.LE, gap=tangent - sp.log(u),
                         certificate=TangentLine(sp.Lambda(_s, sp.log(_s)), sp.Integer(1), u)),
                    Step(u - 1, "log 1 = 0", cite("standard", "log 1 = 0")),
                ),
            ),
            Part(
                title="Equality at u = 1",
                lhs=r"\left.(u - 1 - \log u)\right|_{u=1}",
                start=sp.Add(sp.Integer(1), sp.Integer(-1),
                             -sp.log(sp.Integer(1), evaluate=False), evaluate=False),
                start_rule=("g at u = 1; equality holds only there because log is strictly "
                            "concave ((log u)'' = −1/u² < 0 on the whole domain)"),
                cite=cite(CT, "Thm. 2.6.3"),
                steps=(Step(sp.Integer(0), "1 − 1 = 0 and log 1 = 0",
                            cite("standard", "log 1 = 0")),),
            ),
        ),
        definitions={},
    )


register(LOG_INEQUALITY)(build)
