"""The site map's lookup indexes: built once, never stale on a copy."""

from __future__ import annotations

from missions.site import Edge, Node, SiteMap


def site() -> SiteMap:
    return SiteMap(
        nodes=[Node(id="a", x=0, y=0), Node(id="b", x=3, y=4), Node(id="c", x=6, y=8)],
        edges=[Edge(start="a", end="b"), Edge(id="bc", start="b", end="c", directed=True)],
    )


def test_lookups_match_the_lists() -> None:
    s = site()
    assert s.node("b").x == 3 and s.has_node("c") and not s.has_node("z")
    assert s.edge_id("a", "b") == s.edge_id("b", "a") == "a--b"
    assert s.edge_id("b", "c") == "bc"
    assert s.adjacency["a"] == [("b", 5.0)]
    assert s.shortest_path("a", "c") == ["a", "b", "c"]
    assert s.shortest_path("c", "a") is None  # b->c is directed


def test_a_copy_with_other_nodes_gets_fresh_indexes() -> None:
    s = site()
    assert s.shortest_path("a", "c") is not None  # builds the indexes
    island = s.model_copy(update={"nodes": [*s.nodes, Node(id="island", x=40, y=0)]})
    assert island.has_node("island")
    assert island.shortest_path("a", "island") is None
    assert not s.has_node("island")


def test_indexes_do_not_leak_into_dumps_or_equality() -> None:
    s = site()
    s.shortest_path("a", "c")
    assert set(s.model_dump()) == {"map_id", "nodes", "edges", "zones"}
    assert s == site()
