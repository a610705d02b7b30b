"""Pareto levels of points that should have a high performance and a low impact.

Level 1 is the Pareto front: the points no other point dominates. Level 2 is the front once level 1 is
removed, and so on. A point *dominates* another when it is at least as good on both axes and strictly better
on one; equal points do not dominate each other and share a level.

The algorithm is the two-dimensional non-dominated sort in O(n log n): points are visited by performance, best
first (ties by impact, lowest first); the level of a point is one more than the highest level among the points
that dominate it. The points already visited with a strictly better performance dominate it when their impact
is not higher; per level, the lowest impact seen so far is kept in a list that never decreases from one level
to the next, so a binary search finds how many levels contain a dominating point. Points with the same
performance dominate each other only through a strictly lower impact, which is handled while walking each tie
group.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

__all__ = ["pareto_levels"]


def pareto_levels(points: Sequence[tuple[float, float]]) -> list[int]:
    """The Pareto level (1 = front) of each ``(performance, impact)`` point, in input order.

    Args:
        points: ``performance`` where higher is better (negate a lower-is-better metric first) and ``impact``
            where lower is better; finite numbers.
    """
    n = len(points)
    order = sorted(range(n), key=lambda k: (-points[k][0], points[k][1]))
    level_min_impact: list[float] = []  # 0-based level → lowest impact among the visited points of that level
    levels = [0] * n
    start = 0
    while start < n:
        performance = points[order[start]][0]
        end = start
        while end < n and points[order[end]][0] == performance:
            end += 1
        group = order[start:end]  # same performance, impact ascending
        highest_below = -1  # highest level among group points with a strictly lower impact
        run_impact: float | None = None
        run_level = -1
        for k in group:
            impact = points[k][1]
            if impact != run_impact:
                if run_impact is not None:
                    highest_below = max(highest_below, run_level)
                run_impact = impact
                run_level = max(bisect_right(level_min_impact, impact), highest_below + 1)
            levels[k] = run_level
        for k in group:
            level, impact = levels[k], points[k][1]
            if level == len(level_min_impact):
                level_min_impact.append(impact)
            elif impact < level_min_impact[level]:
                level_min_impact[level] = impact
        start = end
    return [level + 1 for level in levels]
