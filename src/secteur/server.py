"""Running the API with uvicorn, and the in-process worker where core.md asks for it."""

from __future__ import annotations

import logging
import threading

import uvicorn

from secteur.api.app import create_app
from secteur.config import Settings
from secteur.services.app import Secteur


def serve(settings: Settings, *, host: str, port: int, with_worker: bool = False) -> None:
    """Serve until interrupted. On SQLite the worker always runs in-process (core.md)."""
    from secteur.worker import Worker

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    instance = Secteur(settings)
    stop = threading.Event()
    worker_thread = None
    if settings.is_sqlite or with_worker:
        worker_thread = threading.Thread(
            target=Worker(instance).run, args=(stop,), name="secteur-worker", daemon=True
        )
        worker_thread.start()
    try:
        uvicorn.run(
            create_app(instance),
            host=host,
            port=port,
            log_level=settings.log_level,
            access_log=False,
        )
    finally:
        stop.set()
        if worker_thread is not None:
            worker_thread.join(timeout=10)
        instance.dispose()
