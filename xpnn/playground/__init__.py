"""xpnn playground: watch a network learn, live, in the browser, trained by xpnn.

    python -m xpnn.playground [--port 8765] [--backend numpy] [--device DEV] [--no-browser]

The page (static/, no CDN, no build step) is a live view of a real xpnn model that a
background thread trains on the chosen backend; frames stream to it as server-sent events.
Use it from Python (tests, notebooks) with :func:`make_server`::

    server = make_server(port=0).start_background()
    print(server.url); ...; server.close()
"""
from .server import Broadcaster, PlaygroundServer, make_server
from .session import Session

__all__ = ["Broadcaster", "PlaygroundServer", "Session", "make_server"]
