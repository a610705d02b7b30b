"""Give problems found after loading an event (keyed like ``servers[0].gpu``) their line in the YAML file."""

from __future__ import annotations

import re

import yaml

from greenhack.errors import ConfigError, ConfigProblem

__all__ = ["key_lines", "locate_problems"]

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """The 1-based line of every mapping key and list item of a YAML document, by path."""
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                lines.setdefault(child, key.start_mark.line + 1)
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                lines.setdefault(child, item.start_mark.line + 1)
                walk(item, child)

    if root is not None:
        walk(root, ())
    return lines


def _path(key: str) -> tuple[str | int, ...]:
    return tuple(int(m.group(2)) if m.group(2) is not None else m.group(1) for m in _PART.finditer(key))


def locate_problems(error: ConfigError, text: str) -> ConfigError:
    """The same problems, each with the line of its key (or of the nearest enclosing key) in ``text``."""
    lines = key_lines(text)
    located: list[ConfigProblem] = []
    for problem in error.problems:
        line = problem.line
        path = _path(problem.path)
        for end in range(len(path), 0, -1):
            if line is not None:
                break
            line = lines.get(path[:end])
        located.append(ConfigProblem(problem.file, line, problem.path, problem.message))
    return ConfigError(located)
