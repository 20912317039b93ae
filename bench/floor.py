"""The framework's floor: a plain FastAPI app with one async JSON route and nothing else.

bench/run.py starts it with the service's own server command (``make serve``: uvicorn, uvloop,
httptools, the same workers and flags) and reports every hot figure as a share of it, so a figure
says what the service costs above what FastAPI itself needs on this machine that day. Its route
answers the same body as the service's ``/bench/bare``, which carries the service's middleware.
"""

from fastapi import FastAPI

app = FastAPI()


@app.get("/bench/bare")
async def bare():
    return {"status": "ok", "service": "practitioner-credit"}


@app.get("/readyz")
async def ready():
    return {"status": "ready"}
