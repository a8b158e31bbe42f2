"""``python -m xpnn.playground`` (or ``xpnn-playground``): serve the playground locally."""
from __future__ import annotations

import argparse
import sys
import threading
import webbrowser

from .server import make_server


def main(argv=None):
    """Parse the command line, serve until Ctrl-C, and return an exit status."""
    ap = argparse.ArgumentParser(prog="xpnn-playground", description="Watch an xpnn network "
                                 "learn, live, in the browser (served on 127.0.0.1).")
    ap.add_argument("--port", type=int, default=8765,
                    help="TCP port (default 8765; 0 picks a free one)")
    ap.add_argument("--backend", default="numpy",
                    help="xpnn backend: numpy, torch, cupy or array_api_strict")
    ap.add_argument("--device", default=None, help="device on that backend, e.g. cuda:0")
    ap.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    ap.add_argument("--fps", type=float, default=30.0,
                    help="most frames per second streamed while training (default 30)")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads (default 1: the playground's matrices are small, and "
                         "a thread pool only adds wake-up latency; needs threadpoolctl, "
                         "which the 'playground' extra installs)")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    args = ap.parse_args(argv)
    if not 0 <= args.port <= 65535:
        ap.error(f"--port must be in [0, 65535], got {args.port}")
    if not 0 < args.fps <= 120:
        ap.error(f"--fps must be in (0, 120], got {args.fps}")
    if args.threads < 1:
        ap.error(f"--threads must be >= 1, got {args.threads}")
    limit_blas_threads(args.threads)
    try:
        server = make_server(args.port, args.backend, args.device, fps=args.fps,
                             verbose=args.verbose)
    except OSError as e:
        print(f"xpnn-playground: cannot listen on 127.0.0.1:{args.port} ({e}); "
              "try --port 0", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - an unknown backend or device, said plainly
        print(f"xpnn-playground: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    session = server.session
    print(f"xpnn playground on {server.url}  (backend {session.backend}, device "
          f"{session.device_name}; Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nxpnn playground: stopped", flush=True)
    finally:
        server.close()
    return 0


def limit_blas_threads(n):
    """Limit BLAS (OpenBLAS, MKL) to n threads for this process, if threadpoolctl is there.

    Returns whether it was applied. The playground multiplies matrices of a few thousand
    rows by 16 columns: with a thread pool, each product waits for threads to wake up, and
    on a busy machine one frame went from 1.4 ms to 40 ms.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(n, user_api="blas")
    return True


if __name__ == "__main__":
    sys.exit(main())
