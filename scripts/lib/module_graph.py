#!/usr/bin/env python3
"""Prints the crate's module graph and fails on a cycle.

A node is a top-level module of src/ (`auth`, `aws`, `broker`, …) or, inside
one, a direct submodule (`broker::revocation`); an edge A -> B means a file
of A names `crate::B…` (or `super::B…` from a sibling). A child naming its
own parent (`super::Thing`) is the parent's business, not an edge.
Usage: scripts/lib/module_graph.py [src]
"""
import pathlib
import re
import sys

src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")
TOP = {p.stem for p in src.glob("*.rs") if p.stem not in ("lib", "main")}


def node_of(path):
    parts = path.relative_to(src).with_suffix("").parts
    if parts[0] not in TOP:
        return None
    return "::".join(parts[:2]) if len(parts) > 1 else parts[0]


def target(segments):
    if not segments or segments[0] not in TOP:
        return None
    if len(segments) > 1 and (src / segments[0] / f"{segments[1]}.rs").exists():
        return f"{segments[0]}::{segments[1]}"
    return segments[0]


edges = set()
for path in src.rglob("*.rs"):
    node = node_of(path)
    if node is None:
        continue
    text = re.sub(r"//[^\n]*", "", path.read_text())
    text = text.split("#[cfg(test)]")[0]
    for m in re.finditer(r"\bcrate::((?:\w+::)*\w+)", text):
        t = target(m.group(1).split("::"))
        if t and t != node and not node.startswith(t + "::") and not t.startswith(node + "::"):
            edges.add((node, t))
    parent = node.split("::")[0]
    if "::" in node:  # a sibling through `super::`
        for m in re.finditer(r"\bsuper::(\w+)", text):
            t = f"{parent}::{m.group(1)}"
            if (src / parent / f"{m.group(1)}.rs").exists() and t != node:
                edges.add((node, t))

# Two levels are checked: the top-level modules (a submodule's edges are
# its module's), and the submodules inside each module.
graph = {}
for a, b in edges:
    top_a, top_b = a.split("::")[0], b.split("::")[0]
    if top_a != top_b:
        graph.setdefault(top_a, set()).add(top_b)
    else:
        graph.setdefault(a, set()).add(b)
def expand(n):
    return graph.get(n, set())

index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in expand(v):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(set(graph) | {n for targets in graph.values() for n in targets}):
    if v not in index:
        strong(v)
for a in sorted(graph):
    print(f"{a} -> {', '.join(sorted(graph[a]))}")
if sccs:
    for comp in sccs:
        print("cycle:", " <-> ".join(comp))
    sys.exit(1)
print("no cycle")
