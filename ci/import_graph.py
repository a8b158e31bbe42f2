"""Import graph of the xpnn package: every module imports alone, and no cycles.

Reads every ``import``/``from ... import`` statement (module level and inside functions) with
``ast``, builds the graph of xpnn modules, prints the cycles it finds, then imports each
module in a fresh interpreter on its own. Exit status 1 if there is a cycle or a module does
not import alone.

    python ci/import_graph.py
"""
import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PKG = ROOT / "xpnn"


def module_name(path):
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path, name):
    """xpnn modules imported by the file at ``path`` (module ``name``), anywhere in it."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("xpnn"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = base[:len(base) - node.level + 1]
                mod = ".".join(target + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("xpnn"):
                continue
            for a in node.names:  # "from . import x": x may be a submodule
                sub = f"{mod}.{a.name}"
                found.add(sub if (PKG.parent / (sub.replace(".", "/") + ".py")).exists() or
                          (PKG.parent / sub.replace(".", "/")).is_dir() else mod)
    return found


def cycles():
    """(module names -> files, the import graph, the list of cycles found)."""
    files = sorted(PKG.rglob("*.py"))
    names = {module_name(f): f for f in files}
    graph = {n: {m for m in imports_of(f, n) if m in names and m != n} for n, f in names.items()}
    # a package's __init__ importing its own submodules is not a cycle of interest, nor is a
    # submodule importing a sibling through the package: drop edges to ancestors' __init__
    for n, deps in graph.items():
        graph[n] = {d for d in deps if not n.startswith(d + ".") and not d.startswith(n + ".")}
    found, state, stack = [], {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in sorted(graph[n]):
            if state.get(d) == 1:
                found.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[n] = 2
    for n in sorted(graph):
        if n not in state:
            visit(n)
    return names, graph, found


def main():
    names, graph, found = cycles()
    for c in found:
        print("cycle:", " -> ".join(c))
    failed = []
    for n in sorted(names):
        r = subprocess.run([sys.executable, "-c", f"import {n}"], cwd=ROOT,
                           capture_output=True, text=True)
        if r.returncode:
            failed.append(n)
            print(f"import {n} alone failed:", r.stderr.strip().splitlines()[-1])
    print(f"{len(names)} modules, {sum(map(len, graph.values()))} imports between them, "
          f"{len(found)} cycle(s), {len(failed)} failed to import alone")
    return 1 if found or failed else 0


if __name__ == "__main__":
    sys.exit(main())
