"""AI triage: categories with scores, a GBV guard, priority and a summary, all computed locally.

`build_triager` loads the models once (seconds); `Triager.triage` then takes tens of
milliseconds. Processes that triage while serving people use `BackgroundTriager`, which
loads at start-up on a thread of its own and never lets a citizen wait more than a bound.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.catalog import Catalog, catalog
from ticketing.config import Models, load_settings
from ticketing.store.bootstrap import prepare
from ticketing.store.case_models import Grievance
from ticketing.store.db import open_store
from ticketing.store.models import Category
from ticketing.triage.classifier import Example, Label
from ticketing.triage.encoder import open_embedder
from ticketing.triage.summary import ModelSummariser
from ticketing.triage.triager import Triage, Triager, load_examples

__all__ = [
    "BackgroundTriager",
    "Example",
    "Label",
    "Triage",
    "Triager",
    "build_triager",
    "default_labels",
    "labels_from_catalog",
    "officer_examples",
]

logger = logging.getLogger(__name__)
# The shipped encoder and no generative summariser: what runs unless TRIAGE_MODEL_DIR or SUMMARY_MODEL_DIR is set.
SHIPPED = Models()


def labels_from_catalog(config: Catalog) -> tuple[Label, ...]:
    """The configured categories a grievance can be filed under (Catalog.fileable)."""
    return tuple(
        Label(
            c.code,
            c.name_en,
            c.name_ne,
            c.description or _parent_description(config, c.parent_id),
            config.priority(c.id),
        )
        for c in config.fileable()
    )


def default_labels() -> tuple[Label, ...]:
    """The labels of the category tree `python -m launcher setup` installs, read as the product
    reads them (from a throw-away embedded store), for evaluation where no store is configured."""
    with tempfile.TemporaryDirectory() as var_dir:
        store = open_store(load_settings({"GRM_VAR_DIR": var_dir}))
        try:
            prepare(store)
            with store.sessions() as session:
                return labels_from_catalog(catalog(session))
        finally:
            store.engine.dispose()


def _parent_description(config: Catalog, parent_id: int | None) -> str:
    return config.categories[parent_id].description if parent_id is not None else ""


def officer_examples(session: Session) -> list[Example]:
    """Cases whose category an officer chose: each one teaches triage a little more."""
    rows = session.execute(
        select(Grievance.details, Category.code)
        .join(Category, Category.id == Grievance.category_id)
        .where(Grievance.category_source == "officer")
    )
    return [Example(details, code) for details, code in rows]


def build_triager(labels: Iterable[Label], extra_examples: Iterable[Example] = (), models: Models = SHIPPED) -> Triager:
    """Load the models (the shipped one, or those `models` names) and learn the examples."""
    summariser = ModelSummariser(models.summary_dir) if models.summary_dir else None
    examples = [*load_examples(), *extra_examples]
    return Triager(open_embedder(models.triage_dir), tuple(labels), examples, summariser=summariser)


class BackgroundTriager:
    """A triager loaded on a thread of its own, rebuilt when the category tree changes.

    `triage` answers within `timeout` seconds or gives None: filing never waits on triage.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Loading has a thread of its own, so that a rebuild never delays the triage of a grievance.
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage-load")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage")
        self._labels: tuple[Label, ...] | None = None
        self._loading: Future[Triager] | None = None
        self._ready: Triager | None = None

    def start(
        self, labels: tuple[Label, ...], examples: Callable[[], Iterable[Example]] = tuple, models: Models = SHIPPED
    ) -> None:
        """Begin loading for this category tree, unless it is loaded or loading already.

        `examples` gives the extra labelled examples (officers' choices); it runs on the loading thread.
        """
        with self._lock:
            if labels == self._labels:
                return
            self._labels = labels
            self._loading = self._loader.submit(lambda: build_triager(labels, examples(), models))
            self._loading.add_done_callback(self._loaded)

    @property
    def ready(self) -> bool:
        """Whether a recap would be triaged without waiting for a load: loaded, or not loading
        (never started, or failed to load: filing then goes on without triage)."""
        with self._lock:
            return self._ready is not None or self._loading is None or self._loading.done()

    def _loaded(self, future: Future[Triager]) -> None:
        if future.exception() is not None:
            logger.error("triage could not load", exc_info=future.exception())
            with self._lock:
                self._labels = None  # the next start tries again
            return
        with self._lock:
            if future is self._loading:
                self._ready = future.result()
                logger.info("triage loaded: %d categories", len(self._ready.labels))

    def triage(self, text: str, timeout: float) -> Triage | None:
        """Triage with the loaded triager (waiting for the first load), or None after `timeout` seconds in all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            ready, loading = self._ready, self._loading
        try:
            triager = ready or (loading.result(timeout) if loading is not None else None)
            if triager is None:
                return None
            return self._pool.submit(triager.triage, text).result(max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            logger.warning("triage took longer than %.1f s; the grievance is marked for later triage", timeout)
            return None
        except Exception:
            logger.exception("triage failed; the grievance is marked for later triage")
            return None
