"""The yardstick: a plain FastAPI endpoint returning fixed JSON, served the way careplane is.

The foundation issue states its throughput target against this ("about 4,000-5,000 requests/s
on one core"). Measuring it in the same run, on the same machine, says how fast the machine is.
"""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "hello", "status": "ok"}
