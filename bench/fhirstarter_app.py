"""A FHIR Patient create on fhirstarter, the comparison the hardening issue names for careplane's
patient registration: fhirstarter's own example shape, storing each Patient in a dict in memory.

Run it from a virtual environment of its own (fhirstarter pins its own FastAPI and pydantic):

    python3 -m venv /tmp/fhirstarter && /tmp/fhirstarter/bin/pip install fhirstarter uvicorn
    /tmp/fhirstarter/bin/python -m uvicorn bench.fhirstarter_app:app --port 8101 --no-access-log
    .venv/bin/python -m bench.fhirstarter_create --url http://127.0.0.1:8101

It is not part of careplane and is imported by nothing.
"""

from uuid import uuid4

from fhir.resources.patient import Patient  # type: ignore[import-not-found]
from fhirstarter import FHIRProvider, FHIRStarter, InteractionContext  # type: ignore[import-not-found]

STORE: dict[str, str] = {}

app = FHIRStarter()
provider = FHIRProvider()


@provider.create(Patient)
async def patient_create(context: InteractionContext, resource: Patient) -> str:
    id_ = str(uuid4())
    resource.id = id_
    STORE[id_] = resource.model_dump_json()
    return id_


app.add_providers(provider)
