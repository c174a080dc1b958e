#!/usr/bin/env python3
"""Copy an OpenAPI JSON document without the examples that `specstub lint` says do not match
their schemas (GitHub's description has a few hundred), so that `specstub serve` loads it.

Usage: strip_bad_examples.py SPECSTUB_BINARY IN.json OUT.json

Only examples are removed (an `example` key, an entry of an `examples` map, a component example
nobody refers to any more); every path, operation, parameter and schema stays, so start-up still
loads, indexes and checks the whole document. Prints what it removed on stderr.
"""
import json
import re
import subprocess
import sys


def unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def parent_and_key(doc, pointer):
    parts = [unescape(p) for p in pointer.lstrip("/").split("/")]
    node = doc
    for p in parts[:-1]:
        if isinstance(node, list):
            node = node[int(p)]
        elif isinstance(node, dict) and p in node:
            node = node[p]
        else:
            return None, None
    return node, parts[-1]


def example_errors(specstub, path):
    out = subprocess.run([specstub, "lint", path], capture_output=True, text=True).stdout
    pointers, others = [], []
    for line in out.splitlines():
        m = re.match(r"^.*?: (/\S*): error: (.*)$", line)
        if not m:
            continue
        if m.group(2).startswith("example does not match its schema"):
            pointers.append(m.group(1))
        else:
            others.append(line)
    return sorted(set(pointers)), others


def strip(doc, pointer):
    """Removes the example at `pointer`; returns True if something was removed."""
    parts = pointer.lstrip("/").split("/")
    if parts[-1] == "value" and len(parts) >= 3 and parts[-3] == "examples":
        # .../examples/KEY/value: drop the KEY entry (inline or a $ref to a component example).
        holder, key = parent_and_key(doc, "/" + "/".join(parts[:-1]))
        if isinstance(holder, dict) and key in holder:
            del holder[key]
            return True
        return False
    holder, key = parent_and_key(doc, pointer)
    if isinstance(holder, dict) and key in holder:
        del holder[key]
        return True
    return False


def drop_empty_examples(node):
    if isinstance(node, dict):
        if node.get("examples") == {}:
            del node["examples"]
        for v in node.values():
            drop_empty_examples(v)
    elif isinstance(node, list):
        for v in node:
            drop_empty_examples(v)


def main():
    specstub, src, dst = sys.argv[1:4]
    with open(src) as f:
        doc = json.load(f)
    current = src
    removed = 0
    for _ in range(6):
        pointers, others = example_errors(specstub, current)
        # Component examples last: their users are removed first, then they are unused.
        usage = [p for p in pointers if not p.startswith("/components/examples/")]
        todo = usage or pointers
        if not todo:
            break
        for p in todo:
            removed += strip(doc, p)
        drop_empty_examples(doc)
        with open(dst, "w") as f:
            json.dump(doc, f)
        current = dst
    else:
        pointers, others = example_errors(specstub, current)
    if current == src:
        with open(dst, "w") as f:
            json.dump(doc, f)
    print(f"removed {removed} example(s) that do not match their schemas", file=sys.stderr)
    if others:
        print(f"{len(others)} other error(s) remain, e.g. {others[0]}", file=sys.stderr)


if __name__ == "__main__":
    main()
