"""Scenario YAML, parsed fast and safely: libyaml when there is one, with yaml.safe_load's
messages and limits, and alias bombs refused before anything is built."""

from __future__ import annotations

MAX_NODES = 100_000                 # values of a scenario once YAML aliases are expanded

# Deeper than this, the pure-Python loader decides (it stops at about 500 levels; libyaml does not).
_C_DEPTH = 100


class TooBig(Exception):
    """A document whose aliases expand past MAX_NODES values (a "billion laughs")."""


def parse(yaml, text: str):
    """yaml.safe_load's result, parsed by libyaml when PyYAML has it: ~8x faster (2 ms of a 5-step
    scenario's run, 7 ms of a 9-step one). Both share the same Python constructor and resolver, so
    values are the same; on an error, or a document nested deeper than the pure-Python loader
    reaches, that loader parses again, so messages and limits stay exactly yaml.safe_load's.
    Before anything is built, the document's size with its aliases expanded is counted on the
    parsed nodes (each shared node once): an alias bomb is refused in milliseconds."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            data = _load(loader, text)
        except (yaml.YAMLError, RecursionError):
            pass
        else:
            if _depth_within(data, _C_DEPTH):
                return data
    return _load(yaml.SafeLoader, text)


def _load(loader_class, text: str):
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(root) -> int:
    """How many values the document has once its aliases are expanded, counted on the node
    graph (an alias is the same node object again), each node's count computed once."""
    sizes: dict[int, int] = {}
    pending = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        key = id(node)
        if key in sizes and not children_done:
            continue
        value = node.value
        children = [part for pair in value for part in pair] if isinstance(value, list) and value \
            and isinstance(value[0], tuple) else (value if isinstance(value, list) else [])
        if children_done:
            counts = [sizes.get(id(child), 0) for child in children]
            if 0 in counts:             # a child still in progress: an ancestor, aliased inside itself
                raise TooBig("a YAML alias refers to a value that contains it")
            sizes[key] = 1 + sum(counts)
            if sizes[key] > MAX_NODES:
                raise TooBig(f"more than {MAX_NODES} values once its YAML aliases are expanded "
                              "(an alias bomb?)")
            continue
        sizes[key] = 0                  # in progress
        pending.append((node, True))
        pending.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _depth_within(data, limit: int) -> bool:
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return False
            items = value.values() if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items if isinstance(item, (dict, list)))
    return True
