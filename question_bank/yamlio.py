"""One YAML loader for every file of the question bank: safe, and strict about repeated keys."""
from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (about ten times faster on the item bank), else
# the pure-Python one; both construct with SafeConstructor, so what is accepted is the same.
_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_SafeBase):
    """A safe loader that refuses duplicate mapping keys, which PyYAML would silently drop."""


def _construct_mapping_without_duplicates(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set[Hashable] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_without_duplicates)


def load_strict(content: str) -> Any:
    """Parse YAML text safely; raises ``yaml.YAMLError`` (with marks) on bad syntax or a repeated key."""
    return yaml.load(content, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
