"""DESIGN.md's one-way imports: no cycles between xpnn's modules, not even through imports
inside functions (ci/import_graph.py; it also imports every module alone, which is slow and
left to that script)."""
import importlib.util
import pathlib


def test_no_import_cycles():
    path = pathlib.Path(__file__).resolve().parent.parent / "ci" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", path)
    graph = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(graph)
    _, _, found = graph.cycles()
    assert found == [], "\n".join(" -> ".join(c) for c in found)
