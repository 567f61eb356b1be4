"""An export as the API gives it, for tests inside a test transaction: started with ``POST .../exports/``, run
here by ``jobs.run_export`` (what the export thread or worker runs; the job's dispatch waits for a commit that
such a test never makes), then read back through the job and its download link."""

import io
import zipfile

from backend.exports.jobs import run_export
from tests.conftest import World


def exported_archive(world: World, who: str = "manager", **body: object) -> zipfile.ZipFile:
    """The archive of an export of the world's project; ``body`` as POSTed (format, images, status, batch, search)."""
    client = world.client(who)
    started = client.post(f"/api/projects/{world.project.pk}/exports/", body, format="json")
    assert started.status_code == 202, started.content
    run_export(started.json()["id"])
    job = client.get(started["Location"]).json()
    assert job["status"] == "succeeded", job
    response = client.get(job["download"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
