"""nudge's browser app: label outputs, compare them, write probes, launch edits, read reports.

    from feedback_ui import build_app, serve
    app = build_app(store, home)      # a gr.Blocks, for tests and embedding
    serve(home, port=7860)            # open the workspace's store and launch with its logins

See docs/ui.md for the tabs and the endpoints a script can call with gradio_client.
"""

from feedback_ui.app import build_app
from feedback_ui.serve import serve

__all__ = ["build_app", "serve"]
