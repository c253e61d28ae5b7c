"""Circle formation: partition a cohort's participants into mixed-generation circles.

INTERFACE (model.py): the engine's input and output types and `form_circles`, which the workflow
(app/circles.py) calls. Pure: no I/O.
"""

from bridge_matching.domain.circles.model import (
    Circle,
    CirclePolicy,
    CircleResult,
    CircleScore,
    LeftOut,
    PinnedCircle,
    form_circles,
)

__all__ = ["Circle", "CirclePolicy", "CircleResult", "CircleScore", "LeftOut", "PinnedCircle", "form_circles"]
