"""Library errors become messages in the page: what went wrong, and that the form is kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr

from editing.generation import GenerationError
from store import DatabaseUnavailable, PermissionDenied, StoreError


@contextmanager
def shown_in_page(action: str) -> Iterator[None]:
    """Turn what the store or the model refuses into a `gr.Error` naming `action`; other errors propagate."""
    try:
        yield
    except DatabaseUnavailable as error:
        raise gr.Error(
            f"Could not {action}: the database is busy or unreachable. Nothing was saved and your answers "
            f"are still on the page; try again in a moment. ({error})"
        ) from error
    except PermissionDenied as error:
        raise gr.Error(f"Could not {action}: {error}") from error
    except GenerationError as error:
        raise gr.Error(f"Could not {action}: the model failed to generate an output. {error}") from error
    except (StoreError, ValueError) as error:
        raise gr.Error(f"Could not {action}: {error}") from error
