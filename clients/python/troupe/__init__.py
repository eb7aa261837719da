"""Python client for the Troupe actor runtime (wire protocol v1). See docs/PYTHON.md."""

from .client import AsyncClient, Client, connect, connect_async
from .wire import I64, ActorRef, Atom, TroupeError

__all__ = ["connect", "connect_async", "Client", "AsyncClient", "Atom", "I64", "ActorRef",
           "TroupeError"]
