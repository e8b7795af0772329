#!/usr/bin/env python3
"""The internal import graph of green-rt: which file of green-rt/src uses
which other (through `use crate::...` or a `crate::...` path), and the
circles in it.

    scripts/layers.py          # edges and circles; exit 1 if any circle
    scripts/layers.py --dot    # the graph for graphviz

A module is a file (`hub.rs`, `sync/mutex.rs`) or a directory's `mod.rs`
(`thread`); an edge `a -> b` means a file of `a` names `crate::b...`.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "green-rt", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3]  # strip .rs
    parts = rel.split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    if parts == ["lib"]:
        return None
    return "::".join(parts)


def modules():
    out = {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".rs"):
                p = os.path.join(dirpath, f)
                m = module_of(p)
                if m:
                    out.setdefault(m, []).append(p)
    return out


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def longest_module(segs, names):
    """The longest prefix of the path `segs` that is a module, or None."""
    for n in range(len(segs), 0, -1):
        cand = "::".join(segs[:n])
        if cand in names:
            return cand
    return None


def targets(text, names, module, is_mod_rs):
    """Modules named by `crate::` and `super::` paths in `text`, a file of
    `module` (`is_mod_rs`: the file is a directory's mod.rs, whose `super`
    is the directory's parent)."""
    paths = []
    # `super::x` is a path from the parent of the module the file is.
    parent = module.split("::")[:-1]

    def base_of(supers):
        ups = supers.count("super::") - 1
        return parent[: len(parent) - ups] if ups else list(parent)

    def items(group):
        return [[x for x in item.strip().split("::") if x and x != "self"] for item in group.split(",")]

    for m in re.finditer(r"\b((?:super::)+)((?:[a-z_][a-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)", text):
        paths.append(base_of(m.group(1)) + m.group(2).split("::"))
    for m in re.finditer(r"\b((?:super::)+)\{([^}]*)\}", text):
        paths += [base_of(m.group(1)) + it for it in items(m.group(2))]
    # `use crate::a::b::{...}` and `crate::a::b::x` paths.
    for m in re.finditer(r"crate::((?:[a-z_][a-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)", text):
        if not text.startswith("::{", m.end()):  # a group: below
            paths.append(m.group(1).split("::"))
    # `use crate::{a, b::c}` and `use crate::a::{b, c::d}` groups
    for m in re.finditer(r"crate::((?:[a-z_][a-z0-9_]*::)*)\{([^}]*)\}", text):
        base = [x for x in m.group(1).split("::") if x]
        paths += [base + it for it in items(m.group(2))]
    return {c for c in (longest_module(p, names) for p in paths) if c}


def top(m):
    return m


def main():
    mods = modules()
    names = set(mods)
    edges = {}
    for m, paths in mods.items():
        deps = set()
        for p in paths:
            with open(p) as fh:
                deps |= targets(strip_comments(fh.read()), names, m, p.endswith("mod.rs"))
        # a module's own children and parents are not edges
        deps = {d for d in deps if d != m and not d.startswith(m + "::") and not m.startswith(d + "::")}
        edges[m] = deps
    if "--dot" in sys.argv:
        print("digraph green_rt {")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f'  "{a}" -> "{b}";')
        print("}")
        return 0
    # strongly connected components (Tarjan)
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            strong(v)
    for a in sorted(edges):
        if edges[a]:
            print(f"{a} -> {', '.join(sorted(edges[a]))}")
    if sccs:
        print()
        for c in sccs:
            print(f"circle of {len(c)}: {' <-> '.join(c)}")
        return 1
    print("\nno circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
